"""Bounded decode, refilled slots, per-row length caps and the compile count of a run."""

import contextlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from tiny_models import tiny_model_config  # tests/ (on sys.path via its conftest)

from luffy_jax import models as M
from luffy_jax import sampling as S
from luffy_jax import sharding
from luffy_jax.sampling import schedule

CFG = tiny_model_config(vocab_size=64, max_position_embeddings=256)
PROMPTS = [[5, 9, 13, 2], [7, 1], [3, 3, 3, 8, 21, 4, 9], [11], [40, 41, 42, 43, 44, 45, 2, 3, 4]]
EOS = (3, 7, 19)


@pytest.fixture(scope="module")
def params():
    # Larger weights than init: peaked distributions, so rows hit EOS at varied lengths.
    return jax.tree.map(lambda p: 6.0 * p, M.init_params(CFG, jax.random.key(0)))


def _sc(**kw):
    # Few attended lengths and batch sizes, so that the tests share a handful of compiled programs.
    base = dict(max_new_tokens=24, eos_ids=EOS, prompt_bucket=8, decode_buckets=2, compact_sizes=2)
    return S.SamplingConfig(**{**base, **kw})


def _same(a, b, atol=1e-4):
    """Tokens and lengths identical; log-probs equal up to float32 rounding (1e-4 absolute: other
    batch shapes sum in another order, and these large weights give logits of tens)."""
    np.testing.assert_array_equal(np.asarray(a.tokens), np.asarray(b.tokens))
    np.testing.assert_array_equal(np.asarray(a.lengths), np.asarray(b.lengths))
    np.testing.assert_allclose(np.asarray(a.logprobs), np.asarray(b.logprobs), atol=atol)


@contextlib.contextmanager
def count_compilations():
    """Counts XLA backend compilations inside the block (``jax.monitoring`` events)."""
    counter = {"n": 0}

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            counter["n"] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counter
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_bounded_decode_equals_full_cache_decode(params, temperature):
    full = S.generate(
        params, CFG, PROMPTS, jax.random.key(0), _sc(temperature=temperature, decode_buckets=1), n=2
    )
    bounded = S.generate(
        params, CFG, PROMPTS, jax.random.key(0), _sc(temperature=temperature, decode_buckets=8), n=2
    )
    _same(full, bounded, atol=1e-5)
    lengths = np.asarray(full.lengths)
    assert lengths.min() < 24 and lengths.max() > 8  # rows end early and cross several blocks


def test_refill_gives_the_same_samples_as_waves_and_as_all_rows_at_once(params):
    key = jax.random.key(1)
    together = S.generate(params, CFG, PROMPTS, key, _sc(), n=2)
    assert len(set(np.asarray(together.lengths).tolist())) > 3  # a spread of lengths
    for kw in (
        dict(max_concurrent=4, refill=False),  # waves
        dict(max_concurrent=4),  # refill once 1 slot is free
        dict(max_concurrent=5, refill_min_free=3),
        dict(max_concurrent=1),
        dict(compact_sizes=1),  # every slot kept to the end
    ):
        _same(S.generate(params, CFG, PROMPTS, key, _sc(**kw), n=2), together)


def test_refill_sharded_equals_unsharded(params):
    key = jax.random.key(1)
    base = S.generate(params, CFG, PROMPTS, key, _sc(), n=2)
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=2, tensor=2))
    sharded = S.generate(params, CFG, PROMPTS, key, _sc(max_concurrent=4), n=2, mesh=mesh)
    _same(sharded, base)


def test_row_keys_follow_the_rollout_row_and_step(params):
    """Token i of row r is drawn with fold_in(fold_in(key, r), i) from the row's own logits, the
    scheme of the wave sampler: the same samples whatever slot or time a row ran in."""
    key = jax.random.key(1)
    out = S.generate(params, CFG, PROMPTS, key, _sc(max_concurrent=4), n=2)
    tokens, lengths = np.asarray(out.tokens), np.asarray(out.lengths)
    width = max(len(p) for p in PROMPTS) + tokens.shape[1]
    seqs = np.zeros((len(tokens), width), np.int32)
    mask = np.zeros((len(tokens), width), bool)
    for r, row in enumerate(tokens):  # right-padded: prompt, then the generated row
        p = PROMPTS[r // 2]
        seqs[r, : len(p)], seqs[r, len(p) : len(p) + len(row)] = p, row
        mask[r, : len(p) + lengths[r]] = True
    logits = M.compute_logits(params, CFG, jnp.asarray(seqs), attention_mask=jnp.asarray(mask))
    steps = tokens.shape[1]
    for r in range(len(tokens)):  # same shapes for every row: one compile per op
        start, length = len(PROMPTS[r // 2]) - 1, int(lengths[r])
        keys = jax.vmap(lambda i, r=r: jax.random.fold_in(jax.random.fold_in(key, r), i))(
            jnp.arange(steps)
        )
        row_logits = jax.lax.dynamic_slice_in_dim(logits[r], start, steps)
        expected, _ = S.choose_tokens(row_logits, keys, temperature=1.0)
        np.testing.assert_array_equal(np.asarray(expected)[:length], tokens[r, :length])


def test_row_max_new_tokens_caps_each_row(params):
    caps = np.asarray([1, 24, 5, 12, 7, 3, 9, 2, 17, 24])
    key = jax.random.key(1)
    free = S.generate(params, CFG, PROMPTS, key, _sc(), n=2)
    out = S.generate(params, CFG, PROMPTS, key, _sc(max_concurrent=4), n=2, row_max_new_tokens=caps)
    ends = np.minimum(caps, np.asarray(free.lengths))  # a row ends at its cap or its EOS
    np.testing.assert_array_equal(np.asarray(out.lengths), ends)
    assert np.any(caps < np.asarray(free.lengths))
    for r, end in enumerate(ends):  # a cap cuts the row; it does not change what came before
        np.testing.assert_array_equal(
            np.asarray(out.tokens[r, :end]), np.asarray(free.tokens[r, :end])
        )
        assert np.all(np.asarray(out.tokens[r, end:]) == 0)
        assert np.all(np.asarray(out.logprobs[r, end:]) == 0.0)
    with pytest.raises(ValueError, match="row_max_new_tokens has 3 entries"):
        S.generate(
            params, CFG, PROMPTS, jax.random.key(0), _sc(), n=2, row_max_new_tokens=[1, 2, 3]
        )
    with pytest.raises(ValueError, match=r"row_max_new_tokens\[1\] = 25"):
        S.generate(
            params, CFG, PROMPTS[:1], jax.random.key(0), _sc(), n=2, row_max_new_tokens=[1, 25]
        )


def test_runs_compile_a_bounded_number_of_programs(params):
    """Rollouts with many refills, compactions and attended lengths compile at most one program per
    (attended length, batch size) for decoding, one per prefill size, one per smaller batch size and
    the initial state, however many rollouts run; a repeated rollout compiles nothing."""
    rng = np.random.default_rng(0)
    sc = _sc(ignore_eos=True, max_concurrent=4, decode_buckets=4, compact_sizes=3)  # P=8, S=32
    prompts = [rng.integers(1, 64, rng.integers(1, 8)).tolist() for _ in range(12)]

    def rollout(seed):
        caps = np.random.default_rng(seed).integers(1, 25, 12 * 2).tolist()
        return S.generate(
            params, CFG, prompts, jax.random.key(seed), sc, n=2, row_max_new_tokens=caps
        )

    attend = len(schedule.attend_lengths(32, 4)) - 1  # lengths 16, 24, 32 (8 < P + 1)
    sizes = len(schedule.slot_sizes(4, 1, sc.compact_sizes))  # 4, 2, 1
    prefill = 3  # 1, 2, 4 prompts
    bound = attend * sizes + prefill + (sizes - 1) + 1
    with count_compilations() as many:
        for seed in range(4):
            rollout(seed)
    assert many["n"] <= bound, (many, bound)
    with count_compilations() as again:
        rollout(0)
    assert again["n"] == 0, again


def test_schedule_helpers():
    assert schedule.attend_lengths(40, 4) == (16, 32, 40)  # block ceil(40 / 4) = 10 -> 16
    assert schedule.attend_lengths(40, 1) == (40,)
    assert schedule.attend_length((16, 32, 40), 17) == 32
    with pytest.raises(ValueError, match="needed 41"):
        schedule.attend_length((16, 32, 40), 41)
    assert [schedule.prefill_size(u, 2, 12) for u in (1, 2, 3, 5, 9)] == [2, 2, 4, 8, 12]
    assert schedule.slot_sizes(32, 1, 4) == (32, 16, 8, 4)
    assert schedule.slot_sizes(24, 4, 8) == (24, 12, 4)
    assert schedule.slot_sizes(8, 1, 1) == (8,)
    assert schedule.compact_size((32, 16, 8, 4), 32, 5) == 8
    assert schedule.compact_size((32, 16, 8, 4), 8, 5) == 8
    assert schedule.compact_size((32, 16, 8, 4), 32, 17) == 32
    assert schedule.slot_count(rows=10, max_rows=7, divisor=4) == 4
    assert schedule.slot_count(rows=2, max_rows=64, divisor=4) == 4
    plan = schedule.plan_refill(np.array([5, 2, 7]), next_row=4, total_rows=6, n=3)
    np.testing.assert_array_equal(plan.slots, [5, 2])
    np.testing.assert_array_equal(plan.rows, [4, 5])
    np.testing.assert_array_equal(plan.prompts, [1])
    np.testing.assert_array_equal(plan.source, [0, 0])
    plan = schedule.plan_refill(np.array([0, 1, 2, 3, 4]), next_row=2, total_rows=12, n=3)
    np.testing.assert_array_equal(plan.rows, [2, 3, 4, 5])  # cut at the boundary of prompt 1
    np.testing.assert_array_equal(plan.slots, [0, 1, 2, 3])
    np.testing.assert_array_equal(plan.prompts, [0, 1])
    np.testing.assert_array_equal(plan.source, [0, 1, 1, 1])
    plan = schedule.plan_refill(np.array([6, 9]), next_row=1, total_rows=12, n=3)
    np.testing.assert_array_equal(plan.rows, [1, 2])  # fewer free slots than n: partial prompt
    assert schedule.refill_threshold(32, True, None) == 2
    assert schedule.refill_threshold(32, True, None, n=8) == 8
    assert schedule.refill_threshold(4, True, None, n=8) == 4
    assert schedule.refill_threshold(32, True, 50) == 32
    assert schedule.refill_threshold(32, False, 3) == 32
    with pytest.raises(ValueError, match="decode_buckets"):
        S.SamplingConfig(max_new_tokens=4, decode_buckets=0)
    with pytest.raises(ValueError, match="compact_sizes"):
        S.SamplingConfig(max_new_tokens=4, compact_sizes=0)
    with pytest.raises(ValueError, match="refill_min_free"):
        S.SamplingConfig(max_new_tokens=4, refill_min_free=0)
