"""Whole-sequence attention: the XLA reference, segments, and the flash kernels against it.

The Pallas kernels (splash for TPU, the Triton one for GPU) run in interpret mode on CPU, so their
values and gradients are checked here. cuDNN cannot run on CPU: what is checked is the layout
construction around it (rotation to right padding + sequence lengths), through
``jax.nn.dot_product_attention(implementation="xla")`` with the very same arguments.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tiny_models import tiny_model_config  # tests/ (on sys.path via its conftest)

from luffy_jax import models as M
from luffy_jax import sharding
from luffy_jax.models import attention as A

B, T, H, K, D = 2, 40, 4, 2, 16


def _qkv(seed=0, b=B, t=T, h=H, k=K, d=D):
    rng = np.random.default_rng(seed)
    q = jnp.asarray(rng.normal(size=(b, t, h, d)), jnp.float32)
    kk = jnp.asarray(rng.normal(size=(b, t, k, d)), jnp.float32)
    v = jnp.asarray(rng.normal(size=(b, t, k, d)), jnp.float32)
    return q, kk, v


def _padded_segments(b=B, t=T):
    """Row 0: left and right padding; row 1: no left padding, short right padding."""
    starts, ends = [5, 0, 3, 9][:b], [37, 33, 40, 20][:b]
    s = np.arange(t)[None]
    return jnp.asarray((s >= np.c_[starts]) & (s < np.c_[ends]), jnp.int32)


def _packed_segments(t=T):
    """Row 0: left/right padding; row 1: three packed sequences then padding."""
    seg = np.ones((2, t), np.int32)
    seg[0, :5] = 0
    seg[0, -3:] = 0
    seg[1, 12:25] = 2
    seg[1, 25:36] = 3
    seg[1, 36:] = 0
    return jnp.asarray(seg)


def _weights(shape, seed=1):
    return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def test_segment_causal_mask_semantics():
    seg = jnp.asarray([[0, 0, 1, 1, 2, 2, 0]])
    m = np.asarray(A.segment_causal_mask(seg))[0]
    assert m.shape == (7, 7)
    assert m[3, 2] and m[3, 3] and not m[3, 4]  # causal within segment 1
    assert not m[4, 3] and m[5, 4]  # segment 2 does not see segment 1
    assert not m[2, 1] and m[1, 0]  # real tokens never see padding; padding sees padding
    assert m[6, 0] and not m[6, 5]
    assert np.all(m.any(-1))  # no fully masked query row
    np.testing.assert_array_equal(
        A.segment_ids_from_mask(jnp.asarray([[0, 1, 1, 0]])), [[0, 1, 1, 0]]
    )


def test_reference_segments_never_cross():
    """A packed row gives each sequence exactly what it gets alone (XLA reference)."""
    q, k, v = _qkv(2, b=1, t=24)
    seg = jnp.asarray([[1] * 10 + [2] * 9 + [0] * 5], jnp.int32)
    packed = A.attention(q, k, v, seg)
    for s, e in ((0, 10), (10, 19)):
        alone = A.attention(q[:, s:e], k[:, s:e], v[:, s:e], jnp.ones((1, e - s), jnp.int32))
        np.testing.assert_allclose(packed[:, s:e], alone, atol=1e-6)
    # changing another segment's keys/values leaves a segment's output unchanged
    k2 = k.at[:, 10:].set(-k[:, 10:])
    v2 = v.at[:, 10:].add(3.0)
    np.testing.assert_allclose(A.attention(q, k2, v2, seg)[:, :10], packed[:, :10], atol=1e-6)


def test_reference_equals_explicit_masked_softmax():
    q, k, v = _qkv(3)
    seg = _packed_segments()
    out = A.attention(q, k, v, seg)
    qf, kf, vf = (np.asarray(x, np.float64) for x in (q, k, v))
    kf, vf = np.repeat(kf, H // K, 2), np.repeat(vf, H // K, 2)
    s = np.einsum("bthd,bshd->bhts", qf, kf) / np.sqrt(D)
    mask = np.asarray(A.segment_causal_mask(seg))[:, None]
    s = np.where(mask, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(out, np.einsum("bhts,bshd->bthd", p, vf), atol=1e-5)


@pytest.mark.parametrize("impl", ["splash", "pallas_gpu"])
def test_pallas_kernels_equal_reference_values_and_gradients(impl):
    """Interpret mode on CPU; packed segments, padding, GQA, T not a multiple of the block."""
    q, k, v = _qkv(4)
    seg = _packed_segments()
    w = _weights(q.shape)

    def loss(impl, q, k, v):
        return (A.attention(q, k, v, seg, impl=impl) * w).sum()

    def run(impl):
        out = A.attention(q, k, v, seg, impl=impl)
        return out, jax.grad(loss, argnums=(1, 2, 3))(impl, q, k, v)

    out, grads = jax.jit(run, static_argnums=0)(impl)
    ref, ref_grads = jax.jit(run, static_argnums=0)("xla")
    assert out.shape == ref.shape and out.dtype == ref.dtype
    np.testing.assert_allclose(out, ref, atol=2e-6)  # padding rows too
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, atol=2e-5, rtol=1e-5)


def test_cudnn_layout_construction_equals_reference_on_real_tokens():
    """The rotation + sequence-length call that the 'cudnn' path makes, run with XLA."""
    q, k, v = _qkv(5, b=4)
    seg = _padded_segments(b=4)
    real = np.asarray(seg, bool)[..., None, None]
    w = _weights(q.shape) * real

    def ours(q, k, v, s):
        return A._cudnn(q, k, v, s, implementation="xla")

    def run(fn):
        out = fn(q, k, v, seg)
        grads = jax.grad(lambda *a: (fn(*a, seg) * w).sum(), argnums=(0, 1, 2))(q, k, v)
        return out, grads

    out, g = jax.jit(run, static_argnums=0)(ours)
    ref, r = jax.jit(run, static_argnums=0)(A.attention)
    np.testing.assert_allclose(np.where(real, out, 0), np.where(real, ref, 0), atol=2e-6)
    assert np.all(np.where(real, 0, np.asarray(out)) == 0)  # padding outputs are zeros
    for a, b in zip(g, r):
        np.testing.assert_allclose(a, b, atol=2e-5, rtol=1e-5)


def test_cudnn_refuses_what_it_cannot_do():
    q, k, v = _qkv(6)
    seg = _padded_segments()
    with pytest.raises(NotImplementedError, match="packed"):
        A.attention(q, k, v, seg, impl="cudnn", packed=True)
    with pytest.raises(ValueError, match="bfloat16"):
        A.attention(q, k, v, seg, impl="cudnn")
    with pytest.raises(ValueError, match="attention_impl"):
        A.attention(q, k, v, seg, impl="flash")
    with pytest.raises(ValueError, match="attention_impl"):
        M.ModelConfig(
            vocab_size=8,
            hidden_size=8,
            intermediate_size=8,
            num_layers=1,
            num_heads=2,
            num_kv_heads=1,
            head_dim=4,
            attention_impl="flash",
        )


@pytest.mark.parametrize("mesh_shape", [(1, 2, 4), (2, 2, 2)])
def test_splash_under_shard_map_equals_reference(mesh_shape):
    """Rows over data x fsdp and heads over tensor (4-way tensor: the 2 KV heads are repeated)."""
    mesh = sharding.make_mesh(sharding.MeshConfig(*mesh_shape))
    q, k, v = _qkv(7, b=4)
    seg = jnp.concatenate([_packed_segments(), _padded_segments()], 0)
    q_sh = sharding.logical_to_sharding(A.Q_AXES, mesh, q)
    kv_sh = sharding.logical_to_sharding(A.KV_AXES, mesh, k)
    args = (
        jax.device_put(q, q_sh),
        jax.device_put(k, kv_sh),
        jax.device_put(v, kv_sh),
        jax.device_put(seg, sharding.batch_sharding(mesh, 2)),
    )

    @jax.jit
    def run(q, k, v, seg):
        with sharding.activation_sharding(q):
            return A.attention(q, k, v, seg, impl="splash")

    text = run.lower(*args).as_text()
    assert "sdy.manual_computation" in text  # the kernel ran per shard
    np.testing.assert_allclose(run(*args), A.attention(q, k, v, seg), atol=2e-6)


CFG = tiny_model_config()


@pytest.fixture(scope="module")
def params():
    return M.init_params(CFG, jax.random.key(0))


def _tokens(b=2, t=12, seed=0):
    rng = np.random.default_rng(seed)
    toks = jnp.asarray(rng.integers(0, CFG.vocab_size, size=(b, t)), jnp.int32)
    mask = np.ones((b, t), np.int32)
    mask[0, :3] = 0  # left-padded prompt
    mask[b - 1, -4:] = 0  # right-padded response
    return toks, jnp.asarray(mask)


@pytest.mark.parametrize("impl", ["splash", "pallas_gpu"])
def test_model_with_flash_attention_equals_xla(params, impl):
    """Log-probs and their gradients on the real (predicting) positions."""
    toks, mask = _tokens()
    cfg = CFG.replace(attention_impl=impl)
    w = _weights((2, 11)) * mask[:, :-1]

    def loss(p, c):
        lp, ent = M.token_logprobs_and_entropy(p, c, toks, attention_mask=mask, chunk_size=8)
        return (w * lp).sum() + 0.1 * (w * ent).sum(), lp

    (l1, lp1), g1 = jax.value_and_grad(loss, has_aux=True)(params, cfg)
    (l0, lp0), g0 = jax.value_and_grad(loss, has_aux=True)(params, CFG)
    real = np.asarray(mask[:, :-1], bool)
    np.testing.assert_allclose(np.asarray(lp1)[real], np.asarray(lp0)[real], atol=1e-5)
    np.testing.assert_allclose(l1, l0, rtol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4), g1, g0)


def test_packed_rows_equal_separate_rows(params):
    """Two sequences packed in one row (per-sequence positions, segment ids 1 and 2, padding 0)
    give the hidden states each gets alone, with the XLA reference and with splash."""
    a, b = _tokens(1, 7, seed=3)[0][0], _tokens(1, 5, seed=4)[0][0]
    packed = jnp.concatenate([a, b, jnp.zeros(4, jnp.int32)])[None]
    seg = jnp.asarray([[1] * 7 + [2] * 5 + [0] * 4], jnp.int32)
    pos = jnp.asarray([list(range(7)) + list(range(5)) + [0] * 4], jnp.int32)
    mask = seg != 0
    hidden = jax.jit(M.hidden_states, static_argnums=1)
    alone_a = hidden(params, CFG, a[None])
    alone_b = hidden(params, CFG, b[None])
    for cfg in (CFG, CFG.replace(attention_impl="splash")):
        h = hidden(params, cfg, packed, mask, segment_ids=seg, positions=pos)
        np.testing.assert_allclose(h[:, :7], alone_a, atol=1e-5)
        np.testing.assert_allclose(h[:, 7:12], alone_b, atol=1e-5)


def test_sharded_splash_model_equals_unsharded_xla(params):
    mesh = sharding.make_mesh(sharding.MeshConfig(1, 4, 2))
    toks, mask = _tokens(b=8, t=10, seed=5)
    put = lambda x: jax.device_put(x, sharding.batch_sharding(mesh, 2))  # noqa: E731
    cfg = CFG.replace(attention_impl="splash")
    lp, ent = M.token_logprobs_and_entropy(
        M.shard_params(params, cfg, mesh), cfg, put(toks), attention_mask=put(mask)
    )
    ref_lp, ref_ent = M.token_logprobs_and_entropy(params, CFG, toks, attention_mask=mask)
    real = np.asarray(mask[:, :-1], bool)
    np.testing.assert_allclose(np.asarray(lp)[real], np.asarray(ref_lp)[real], atol=1e-5)
    np.testing.assert_allclose(np.asarray(ent)[real], np.asarray(ref_ent)[real], atol=1e-5)


def test_prefill_with_flash_then_decode_equals_full_forward(params):
    """The prefill (cache_index 0) runs the configured kernel; decode steps use XLA."""
    cfg = CFG.replace(attention_impl="splash")
    toks, _ = _tokens(b=2, t=9, seed=6)
    full = M.compute_logits(params, CFG, toks)
    s = 12
    kv_mask = jnp.zeros((2, s), bool).at[:, :6].set(True)
    pos = jnp.broadcast_to(jnp.arange(6), (2, 6))

    @jax.jit
    def prefill(params, tokens, pos, kv_mask):
        cache = M.init_cache(cfg, 2, s)
        return M.decoder_forward(
            params, cfg, tokens, pos, kv_mask=kv_mask, cache=cache, cache_index=0
        )

    @jax.jit
    def step(params, tokens, pos, kv_mask, cache, index):
        return M.decoder_forward(
            params, cfg, tokens, pos, kv_mask=kv_mask, cache=cache, cache_index=index
        )

    hidden, cache = prefill(params, toks[:, :6], pos, kv_mask)
    np.testing.assert_allclose(M.project_logits(params, cfg, hidden), full[:, :6], atol=1e-4)
    for i in range(6, 9):
        kv_mask = kv_mask.at[:, i].set(True)
        h, cache = step(params, toks[:, i : i + 1], jnp.full((2, 1), i), kv_mask, cache, i)
        np.testing.assert_allclose(M.project_logits(params, cfg, h)[:, 0], full[:, i], atol=1e-4)
