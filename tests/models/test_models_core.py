"""Chunked log-probs, the KV-cache path, sharding and the real configs."""

import functools
import pathlib
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from luffy_jax import models as M
from luffy_jax import sharding

CFG = M.ModelConfig(
    vocab_size=256,
    hidden_size=64,
    intermediate_size=96,
    num_layers=2,
    num_heads=4,
    num_kv_heads=2,
    head_dim=16,
    qkv_bias=True,
    rope_theta=40000.0,
)


@pytest.fixture(scope="module")
def params():
    return M.init_params(CFG, jax.random.key(0))


def _batch(seed=0, b=3, t=10):
    rng = np.random.default_rng(seed)
    toks = rng.integers(0, CFG.vocab_size, size=(b, t)).astype(np.int32)
    mask = np.ones((b, t), np.int32)
    mask[1 % b, :3] = 0
    mask[b - 1, -2:] = 0
    return jnp.asarray(toks), jnp.asarray(mask)


def naive_logprobs(params, toks, mask, temperature):
    logits = M.compute_logits(params, CFG, toks, attention_mask=mask)[:, :-1] / temperature
    logp_all = jax.nn.log_softmax(logits, -1)
    logp = jnp.take_along_axis(logp_all, toks[:, 1:, None], -1)[..., 0]
    ent = -(jnp.exp(logp_all) * logp_all).sum(-1)
    return logp, ent


@pytest.mark.parametrize("chunk,temperature", [(4, 1.0), (7, 0.6), (1024, 1.3)])
def test_chunked_logprobs_equal_naive(params, chunk, temperature):
    toks, mask = _batch()
    logp, ent = M.token_logprobs_and_entropy(
        params, CFG, toks, attention_mask=mask, temperature=temperature, chunk_size=chunk
    )
    ref_lp, ref_ent = naive_logprobs(params, toks, mask, temperature)
    assert logp.shape == (3, 9) and logp.dtype == jnp.float32
    np.testing.assert_allclose(logp, ref_lp, atol=2e-5)
    np.testing.assert_allclose(ent, ref_ent, atol=2e-5)


def test_a_window_of_positions_equals_the_slice_of_all(params):
    toks, mask = _batch()
    full_lp, full_ent = M.token_logprobs_and_entropy(params, CFG, toks, attention_mask=mask)
    lp, ent = M.token_logprobs_and_entropy(
        params, CFG, toks, attention_mask=mask, start=3, length=5, chunk_size=4
    )
    assert lp.shape == (3, 5)
    np.testing.assert_allclose(lp, full_lp[:, 3:8], atol=1e-6)
    np.testing.assert_allclose(ent, full_ent[:, 3:8], atol=1e-6)
    with pytest.raises(ValueError, match="outside"):
        M.token_logprobs_and_entropy(params, CFG, toks, start=5, length=5)


def test_chunked_gradients_equal_naive(params):
    toks, mask = _batch(1)
    w = jnp.asarray(np.random.default_rng(0).normal(size=(3, 9)), jnp.float32)

    def loss_chunked(p):
        lp, ent = M.token_logprobs_and_entropy(p, CFG, toks, attention_mask=mask, chunk_size=5)
        return (w * lp).sum() + 0.1 * ent.sum()

    def loss_naive(p):
        lp, ent = naive_logprobs(p, toks, mask, 1.0)
        return (w * lp).sum() + 0.1 * ent.sum()

    g1 = jax.grad(loss_chunked)(params)
    g2 = jax.grad(loss_naive)(params)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-4), g1, g2)


def test_remat_gives_the_same_values_and_gradients(params):
    toks, mask = _batch(2)
    cfg_r = CFG.replace(remat=True)
    f = lambda p, c: M.token_logprobs_and_entropy(p, c, toks, attention_mask=mask)[0].sum()  # noqa: E731
    np.testing.assert_allclose(f(params, CFG), f(params, cfg_r), rtol=1e-6)
    g1 = jax.grad(f)(params, CFG)
    g2 = jax.grad(f)(params, cfg_r)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-5), g1, g2)


def test_kv_cache_prefill_then_decode_equals_full_forward(params):
    toks, _ = _batch(3, b=2, t=9)
    full = M.compute_logits(params, CFG, toks)
    s = 12
    cache = M.init_cache(CFG, 2, s)
    kv_mask = jnp.zeros((2, s), bool).at[:, :5].set(True)
    pos = jnp.broadcast_to(jnp.arange(5), (2, 5))
    hidden, cache = M.decoder_forward(
        params, CFG, toks[:, :5], pos, kv_mask=kv_mask, cache=cache, cache_index=0
    )
    np.testing.assert_allclose(M.project_logits(params, CFG, hidden), full[:, :5], atol=1e-4)
    step = jax.jit(functools.partial(M.decoder_forward, params, CFG))
    for i in range(5, 9):
        kv_mask = kv_mask.at[:, i].set(True)
        h, cache = step(
            toks[:, i : i + 1], jnp.full((2, 1), i), kv_mask=kv_mask, cache=cache, cache_index=i
        )
        np.testing.assert_allclose(M.project_logits(params, CFG, h)[:, 0], full[:, i], atol=1e-4)


@pytest.mark.parametrize("mesh_shape", [(1, 4, 2), (2, 1, 4), (1, 8, 1)])
def test_sharded_equals_unsharded(params, mesh_shape):
    mesh = sharding.make_mesh(sharding.MeshConfig(*mesh_shape))
    sharded = M.shard_params(params, CFG, mesh)
    q = sharded["layers_0"]["self_attn"]["q_proj"]["kernel"]
    assert len(q.sharding.device_set) == 8
    toks, mask = _batch(4, b=8, t=6)
    toks_s = jax.device_put(toks, sharding.batch_sharding(mesh, 2))
    mask_s = jax.device_put(mask, sharding.batch_sharding(mesh, 2))
    lp1, e1 = M.token_logprobs_and_entropy(params, CFG, toks, attention_mask=mask, chunk_size=16)
    lp2, e2 = M.token_logprobs_and_entropy(
        sharded, CFG, toks_s, attention_mask=mask_s, chunk_size=16
    )
    np.testing.assert_allclose(lp1, lp2, atol=1e-5)
    np.testing.assert_allclose(e1, e2, atol=1e-5)
    np.testing.assert_allclose(
        M.compute_logits(params, CFG, toks), M.compute_logits(sharded, CFG, toks_s), atol=1e-5
    )


def _activation_constraints(text: str) -> set[str]:
    return set(re.findall(r"sdy.sharding_constraint %\S+ <@mesh, (\[[^>]*\])>", text))


def test_activation_shardings_are_in_force_in_every_entry_point(params):
    """The decoder's activation constraints reach the compiled programs of the log-prob pass,
    the gradient and a decode step, with nothing asked of the caller but sharded inputs; the
    unsharded programs carry none."""
    mesh = sharding.make_mesh(sharding.MeshConfig(1, 4, 2))
    sharded = M.shard_params(params, CFG, mesh)
    toks, mask = _batch(5, b=8, t=6)
    rows = sharding.batch_sharding(mesh, 2)
    toks_s, mask_s = jax.device_put(toks, rows), jax.device_put(mask, rows)

    def loss(p, toks, mask):
        return M.token_logprobs_and_entropy(p, CFG, toks, attention_mask=mask)[0].sum()

    def decode_step(p, cache, index):
        kv_mask = jnp.ones((8, 8), bool)
        tok = jnp.zeros((8, 1), jnp.int32)
        return M.decoder_forward(p, CFG, tok, tok, kv_mask=kv_mask, cache=cache, cache_index=index)

    cache = M.init_cache(CFG, 8, 8)
    cache_sh = sharding.logical_to_sharding(
        ("layers", "batch", "kv_heads", "kv_length", "head_dim"), mesh, cache.k
    )
    cache_s = M.KVCache(*(jax.device_put(c, cache_sh) for c in cache))
    programs = {
        "logprobs": M.token_logprobs_and_entropy.lower(sharded, CFG, toks_s, attention_mask=mask_s),
        "gradient": jax.jit(jax.grad(loss)).lower(sharded, toks_s, mask_s),
        "decode": jax.jit(decode_step).lower(sharded, cache_s, 3),
        "logits": M.compute_logits.lower(sharded, CFG, toks_s),
    }
    expected = {
        '[{"fsdp"}, {}, {"tensor"}, {}]',  # queries / attention output: rows x heads
        '[{"fsdp"}, {}, {"tensor"}]',  # MLP hidden: rows x width
        '[{"fsdp"}, {}, {}]',  # residual stream: rows
    }
    for name, lowered in programs.items():
        found = _activation_constraints(lowered.as_text())
        assert expected <= found, (name, found)
    unsharded = M.token_logprobs_and_entropy.lower(params, CFG, toks, attention_mask=mask)
    assert not _activation_constraints(unsharded.as_text())
    with jax.set_mesh(mesh):  # a mesh in context works the same without sharded inputs
        found = _activation_constraints(M.compute_logits.lower(sharded, CFG, toks).as_text())
    assert expected <= found


def test_activation_shardings_shrink_per_device_temporaries(params):
    """Compiled per-device temporaries of the log-prob pass fall as the fsdp axis grows."""
    cfg = CFG.replace(num_layers=1)
    p = M.init_params(cfg, jax.random.key(1))
    toks = jnp.zeros((8, 64), jnp.int32)
    temps = {}
    for fsdp in (1, 8):
        mesh = sharding.make_mesh(sharding.MeshConfig(1, fsdp, 1), jax.devices()[:fsdp])
        rows = sharding.batch_sharding(mesh, 2)
        compiled = M.token_logprobs_and_entropy.lower(
            M.shard_params(p, cfg, mesh),
            cfg,
            jax.device_put(toks, rows),
            attention_mask=jax.device_put(jnp.ones_like(toks), rows),
            chunk_size=64,
        ).compile()
        temps[fsdp] = compiled.memory_analysis().temp_size_in_bytes
    assert temps[8] < temps[1] / 3, temps


def test_param_logical_axes_cover_every_parameter(params):
    axes = M.param_logical_axes(CFG)
    assert jax.tree.structure(
        axes, is_leaf=lambda x: isinstance(x, jax.sharding.PartitionSpec)
    ) == jax.tree.structure(params)
    flat = jax.tree.leaves(axes, is_leaf=lambda x: isinstance(x, jax.sharding.PartitionSpec))
    leaves = jax.tree.leaves(params)
    for spec, leaf in zip(flat, leaves):
        assert len(spec) == leaf.ndim and all(isinstance(n, str) for n in spec)


@pytest.mark.parametrize("name", ["qwen2.5-1.5b.json", "qwen2.5-7b.json", "llama3.1-8b.json"])
def test_real_configs_load_with_their_shapes(shared_data, name):
    path = pathlib.Path(shared_data) / "model_configs" / name
    cfg = M.ModelConfig.from_hf(path)
    full = jax.eval_shape(lambda: M.init_params(cfg, jax.random.key(0)))
    n = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(full))
    assert n == cfg.num_params()
    expected = {"qwen2.5-1.5b.json": 1.54e9, "qwen2.5-7b.json": 7.6e9, "llama3.1-8b.json": 8.0e9}[
        name
    ]
    assert abs(n - expected) / expected < 0.02
    small = cfg.replace(num_layers=1, vocab_size=512)
    p = M.init_params(small, jax.random.key(0))
    assert p["layers_0"]["self_attn"]["q_proj"]["kernel"].shape == (
        cfg.hidden_size,
        cfg.num_heads,
        cfg.head_dim,
    )
    if name.startswith("llama"):
        assert cfg.rope_scaling_dict["rope_type"] == "llama3" and cfg.rope_theta == 500000.0
    else:
        assert cfg.qkv_bias and cfg.rope_theta == 1e6
    assert M.compute_logits(p, small, jnp.zeros((1, 3), jnp.int32)).shape == (1, 3, 512)


def test_config_validation_errors():
    with pytest.raises(ValueError, match="num_kv_heads"):
        CFG.replace(num_kv_heads=3)
    with pytest.raises(ValueError, match="model_type"):
        CFG.replace(model_type="gpt2")
    with pytest.raises(ValueError, match="rope_scaling type"):
        M.ModelConfig.from_hf(
            {**CFG.to_hf_dict(), "rope_scaling": {"rope_type": "yarn", "factor": 2.0}}
        )
    with pytest.raises(ValueError, match="missing config"):
        M.ModelConfig.from_hf({"model_type": "qwen2"})
