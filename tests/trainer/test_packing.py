"""Packing (trainer/packing.py, trainer/packed_step.py): every row packed once, bounded shapes;
packed log-probs, entropies, terms, gradients and updates equal the padded path's, every method,
sharded over the 8 virtual CPU devices; attention never crosses a segment; compiles bounded."""

import dataclasses

import jax
import numpy as np
import pytest
from tiny_models import tiny_model_config  # tests/ (on sys.path via its conftest)

from luffy_jax import sharding
from luffy_jax.models import init_params, shard_params
from luffy_jax.objectives import zero_terms
from luffy_jax.trainer import packed_step as PS
from luffy_jax.trainer import packing, translate
from luffy_jax.trainer import step as S
from luffy_jax.trainer.update import logprob_pass, packed_micro_batches, update_policy

P, R = 6, 10


def _arrays(rng, rows, vocab):
    """Rows with left-padded prompts (2..6 tokens) and right-padded responses (0..10 tokens)."""
    tokens = rng.integers(1, vocab, (rows, P + R)).astype(np.int32)
    p_len = rng.integers(2, P + 1, rows)
    r_len = rng.integers(0, R + 1, rows)
    r_len[0] = R  # a full-width row
    attn = np.zeros((rows, P + R), bool)
    attn[:, :P] = np.arange(P)[None] >= (P - p_len)[:, None]
    response_mask = (np.arange(R)[None] < r_len[:, None]).astype(np.float32)
    attn[:, P:] = response_mask > 0
    tokens[~attn] = 0
    off = np.zeros((rows, R), np.float32)
    off[::4] = response_mask[::4]
    return {
        "tokens": tokens,
        "attention_mask": attn,
        "old_logp": -rng.uniform(0.5, 3.0, (rows, R)).astype(np.float32),
        "advantages": rng.normal(size=rows).astype(np.float32),
        "response_mask": response_mask,
        "off_policy_mask": off,
        "entropy_weight": rng.uniform(0.01, 0.1, rows).astype(np.float32),
        "sft_weight": rng.uniform(0.01, 0.1, rows).astype(np.float32),
    }


@pytest.fixture(scope="module")
def model():
    cfg = tiny_model_config(
        vocab_size=64, intermediate_size=64, qkv_bias=False, max_position_embeddings=64
    )
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=2, tensor=2), jax.devices()[:8])
    return cfg, mesh, shard_params(init_params(cfg, jax.random.key(0)), cfg, mesh)


def _shape(rows, packed, budget=0):
    from luffy_jax.trainer.config import RunShape

    return RunShape(
        prompts_per_step=rows // 4,
        n=4,
        n_off=1,
        mini_batch_prompts=rows // 8,
        micro_batch_rows=4,
        max_prompt_length=P,
        max_response_length=R,
        packing=packed,
        max_tokens_per_micro_batch=budget,
    )


def test_plan_packs_every_row_once_within_bounded_shapes():
    rng = np.random.default_rng(0)
    shapes = set()
    for trial in range(40):
        n = int(rng.integers(1, 40))
        lengths = rng.integers(0, 17, n) if trial % 2 else rng.integers(12, 17, n)
        plan = packing.plan(lengths, 16, 64, shards=2)
        seen = []
        for m, shard_bins in enumerate(plan.micro_batches):
            assert len(shard_bins) == 2
            for bins in shard_bins:
                assert len(bins) <= plan.seqs[m]
                assert sum(len(b) for b in bins) <= plan.slots[m]
                for b in bins:
                    assert sum(lengths[i] for i in b) <= 16
                    seen += b
            assert 2 * plan.seqs[m] * 16 <= 64
            shapes.add((plan.seqs[m], plan.slots[m]))
        assert sorted(seen) == list(range(n))
    assert len(shapes) <= packing.shape_set_bound(64, 16, 2, 40)
    with pytest.raises(ValueError, match="lengths"):
        packing.plan(np.array([17]), 16, 64, shards=1)


def test_pack_lays_rows_as_segments_with_their_own_positions():
    rng = np.random.default_rng(1)
    arrays = _arrays(rng, 5, 64)
    plan = packing.plan(packing.real_lengths(arrays["attention_mask"]), P + R, 64, shards=1)
    mb, slot_rows = packing.pack(arrays, plan, 0, P)
    assert sorted(sum(slot_rows, [])) == list(range(5))
    for k, i in enumerate(slot_rows[0]):
        real = arrays["tokens"][i][arrays["attention_mask"][i]]
        where = np.flatnonzero(mb["gather_valid"][k])
        # the gathered hidden positions predict the row's response tokens, in order
        flat_tok = mb["tokens"].reshape(-1)
        np.testing.assert_array_equal(
            flat_tok[mb["gather_index"][k][where] + 1], real[-where.size :] if where.size else []
        )
        np.testing.assert_array_equal(mb["advantages"][k], arrays["advantages"][i])
        np.testing.assert_array_equal(mb["old_logp"][k], arrays["old_logp"][i])
    for row_seg, row_pos in zip(mb["segment_ids"], mb["positions"]):
        for s in set(row_seg) - {0}:
            np.testing.assert_array_equal(row_pos[row_seg == s], np.arange((row_seg == s).sum()))
    assert not mb["advantages"][len(slot_rows[0]) :].any()  # empty slots are zero rows


def test_packed_logprob_pass_equals_padded(model):
    cfg, mesh, params = model
    arrays = _arrays(np.random.default_rng(2), 16, cfg.vocab_size)
    args = (params, cfg, arrays["tokens"], arrays["attention_mask"])
    lp0, ent0 = logprob_pass(*args, _shape(16, False), 0.7, mesh)
    lp1, ent1 = logprob_pass(*args, _shape(16, True, budget=8 * (P + R)), 0.7, mesh)
    m = arrays["response_mask"] > 0
    np.testing.assert_allclose(lp1[m], lp0[m], atol=2e-5, rtol=1e-5)
    np.testing.assert_allclose(ent1[m], ent0[m], atol=2e-5, rtol=1e-5)
    assert not lp1[~m].any() and not ent1[~m].any()


def test_attention_never_crosses_a_segment(model):
    """Changing every token of one packed row changes no other row's log-probs."""
    cfg, mesh, params = model
    arrays = _arrays(np.random.default_rng(3), 8, cfg.vocab_size)
    shape = _shape(8, True, budget=8 * (P + R))
    (mb, slot_rows), *_ = packed_micro_batches(arrays, shape, mesh)
    lp = PS.packed_response_logprobs(params, cfg, mb, 1.0, shards=4)[0]
    other = dict(arrays)
    other["tokens"] = arrays["tokens"].copy()
    victim = slot_rows[0][0]
    other["tokens"][victim] = (other["tokens"][victim] + 7) % cfg.vocab_size
    (mb2, slot_rows2), *_ = packed_micro_batches(other, shape, mesh)
    assert slot_rows2 == slot_rows
    lp2 = PS.packed_response_logprobs(params, cfg, mb2, 1.0, shards=4)[0]
    same = np.ones(lp.shape[0], bool)
    same[0] = False  # slot 0 of shard 0 holds the victim
    np.testing.assert_array_equal(np.asarray(lp)[same], np.asarray(lp2)[same])
    assert not np.allclose(np.asarray(lp)[0], np.asarray(lp2)[0])


def test_packed_terms_and_gradients_equal_padded(model, tiny_config):
    cfg, mesh, params = model
    arrays = _arrays(np.random.default_rng(4), 8, cfg.vocab_size)
    tiny_config.method = "luffy"
    tiny_config.data.max_prompt_length, tiny_config.data.max_response_length = P, R
    stage = translate(tiny_config).stages[0]
    loss = dataclasses.replace(stage.loss, entropy_reduction="official", sft_reduction="official")
    kw = dict(config=cfg, loss_config=loss, objective="rl_with_sft_loss")
    counts = S.count_terms(
        {k: arrays[k] for k in ("response_mask", "off_policy_mask")},
        loss_config=loss,
        objective="rl_with_sft_loss",
    )
    g0, t0 = S.accumulate_micro_batch(
        params,
        S.zero_grads(params),
        zero_terms(),
        arrays,
        counts,
        1.0,
        prompt_len=P,
        response_len=R,
        **kw,
    )
    g1, t1 = S.zero_grads(params), zero_terms()
    shape = _shape(8, True, budget=4 * (P + R))
    n_mb = 0
    for mb, _ in packed_micro_batches(arrays, shape, mesh):
        g1, t1 = PS.accumulate_packed_micro_batch(params, g1, t1, mb, counts, 1.0, shards=4, **kw)
        n_mb += 1
    assert n_mb >= 2
    for k in t0:
        np.testing.assert_allclose(float(t1[k]), float(t0[k]), rtol=1e-5, atol=1e-6, err_msg=k)
    for a, b in zip(jax.tree.leaves(g0), jax.tree.leaves(g1)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-6, rtol=1e-4)
    assert any(np.abs(np.asarray(a)).max() > 0 for a in jax.tree.leaves(g0))


@pytest.mark.parametrize(
    "method", ["luffy", "on_policy_grpo", "sft", "rl_with_sft_loss", "luffy_no_shaping"]
)
def test_packed_update_equals_padded(model, tiny_config, method):
    cfg, mesh, params0 = model
    arrays = _arrays(np.random.default_rng(5), 16, cfg.vocab_size)
    tiny_config.method = method
    tiny_config.rollout.prompts_per_step, tiny_config.batch.mini_batch_prompts = 4, 2
    if method == "sft":
        tiny_config.rollout.prompts_per_step, tiny_config.batch.mini_batch_prompts = 16, 8
    if method == "on_policy_grpo":
        arrays["off_policy_mask"][:] = 0
    tiny_config.data.max_prompt_length, tiny_config.data.max_response_length = P, R
    tiny_config.batch.micro_batch_rows = 4
    results = []
    for packed in (False, True):
        tiny_config.batch.packing = packed
        tiny_config.batch.max_tokens_per_micro_batch = 4 * (P + R) if packed else 0
        stage = translate(tiny_config).stages[0]
        assert stage.shape.packing == packed
        tx, _ = S.make_optimizer(stage.optim)
        params = jax.tree.map(lambda x: x.copy(), params0)
        results.append(update_policy(params, tx.init(params), tx, arrays, stage, cfg, 1.0, mesh))
    (p0, _, t0, n0), (p1, _, t1, n1) = results
    for k in t0:
        np.testing.assert_allclose(float(t1[k]), float(t0[k]), rtol=1e-5, atol=1e-6, err_msg=k)
    np.testing.assert_allclose(n1, n0, rtol=1e-4)
    # AdamW's first step moves each element by about lr * g / (|g| + eps): an element whose
    # gradient is near eps turns summation-order noise into ~1e-6 (gradients are compared tightly
    # in test_packed_terms_and_gradients_equal_padded)
    for a, b in zip(jax.tree.leaves(p0), jax.tree.leaves(p1)):
        np.testing.assert_allclose(np.asarray(b), np.asarray(a), atol=1e-5, rtol=1e-5)
    assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(params0), jax.tree.leaves(p1)))


def test_compiled_programs_stay_bounded(model):
    """Many length distributions: the packed log-prob pass compiles at most the bounded shape set."""
    cfg, mesh, params = model
    rng = np.random.default_rng(6)
    budget = 8 * (P + R)
    before = PS.packed_response_logprobs._cache_size()
    for _ in range(6):
        arrays = _arrays(rng, 16, cfg.vocab_size)
        cut = rng.integers(0, R + 1)
        arrays["attention_mask"][:, P + cut :] = False
        logprob_pass(
            params,
            cfg,
            arrays["tokens"],
            arrays["attention_mask"],
            _shape(16, True, budget),
            1.0,
            mesh,
        )
    compiled = PS.packed_response_logprobs._cache_size() - before
    assert 1 <= compiled <= packing.shape_set_bound(budget, P + R, 4, 16)


def test_token_budget_defaults_to_the_padded_micro_batch_and_is_validated(tiny_config):
    from luffy_jax.trainer import validate
    from luffy_jax.trainer.config import ConfigError

    assert packing.micro_batch_tokens(_shape(16, True)) == 4 * (P + R)
    assert packing.micro_batch_tokens(_shape(16, True, budget=100)) == 100
    tiny_config.batch.packing = True
    tiny_config.batch.max_tokens_per_micro_batch = 10  # less than one 60-token sequence
    with pytest.raises(ConfigError, match="max_tokens_per_micro_batch=10"):
        validate(tiny_config)
    tiny_config.batch.max_tokens_per_micro_batch = 0
    assert validate(tiny_config).ctx.run.stages[0].shape.packing
