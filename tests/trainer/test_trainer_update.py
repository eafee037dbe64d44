"""The trainer's one accumulation path: a mini-batch split into micro-batches gives the update of
the unsplit mini-batch; method records; the optimizer's step counter."""

import jax
import numpy as np
import optax
import pytest

from luffy_jax import sharding
from luffy_jax.models import ModelConfig, init_params, shard_params
from luffy_jax.objectives import OBJECTIVES
from luffy_jax.trainer import METHODS, run_shape, translate
from luffy_jax.trainer import step as S
from luffy_jax.trainer.update import update_policy


def _rollout_arrays(rng, rows, p_len, r_len, vocab):
    tokens = rng.integers(0, vocab, (rows, p_len + r_len)).astype(np.int32)
    attn = np.ones((rows, p_len + r_len), bool)
    attn[:, :2] = False  # left padding
    lengths = rng.integers(3, r_len + 1, rows)
    response_mask = (np.arange(r_len)[None] < lengths[:, None]).astype(np.float32)
    attn[:, p_len:] = response_mask > 0
    off = np.zeros((rows, r_len), np.float32)
    off[::4] = response_mask[::4]  # one trace row per group of 4
    return {
        "tokens": tokens,
        "attention_mask": attn,
        "old_logp": -rng.uniform(0.5, 3.0, (rows, r_len)).astype(np.float32),
        "advantages": rng.normal(size=rows).astype(np.float32),
        "response_mask": response_mask,
        "off_policy_mask": off,
    }


@pytest.mark.parametrize("method", ["luffy", "rl_with_sft_loss", "sft"])
def test_micro_batches_give_the_update_of_the_whole_mini_batch(tiny_config, method):
    """16 rows in 2 mini-batches of 8: micro-batches of 8, 4 and 2 rows (one to four gradient
    calls per optimizer step) give the same parameters, step terms and gradient norms."""
    cfg = ModelConfig.from_hf(tiny_config.model.config_json, dtype="float32")
    mesh = sharding.make_mesh(sharding.MeshConfig(data=1, fsdp=2, tensor=1), jax.devices()[:2])
    params0 = shard_params(init_params(cfg, jax.random.key(0)), cfg, mesh)
    arrays = _rollout_arrays(np.random.default_rng(0), 16, 6, 10, cfg.vocab_size)
    tiny_config.method = method
    tiny_config.rollout.prompts_per_step = 4
    tiny_config.batch.mini_batch_prompts = 2
    tiny_config.data.max_prompt_length, tiny_config.data.max_response_length = 6, 10
    if method == "sft":  # one row per prompt: 16 prompts, 8 per mini-batch
        tiny_config.rollout.prompts_per_step, tiny_config.batch.mini_batch_prompts = 16, 8
    results = []
    for rows in (8, 4, 2):
        tiny_config.batch.micro_batch_rows = rows
        stage = translate(tiny_config).stages[0]
        assert stage.shape.rows_per_mini_batch == 8
        tx, _ = S.make_optimizer(stage.optim)
        params = jax.tree.map(lambda x: x.copy(), params0)
        out = update_policy(params, tx.init(params), tx, arrays, stage, cfg, 1.0, mesh)
        results.append(out)
    (p_ref, _, t_ref, n_ref), *others = results
    for p, _, t, n in others:
        for a, b in zip(jax.tree.leaves(p_ref), jax.tree.leaves(p)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=2e-6, rtol=1e-5)
        for k in t_ref:
            np.testing.assert_allclose(float(t_ref[k]), float(t[k]), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(n_ref, n, rtol=1e-5)
    # and the update moved the parameters
    moved = [
        not np.allclose(a, b) for a, b in zip(jax.tree.leaves(params0), jax.tree.leaves(p_ref))
    ]
    assert any(moved)


def test_every_method_record_is_runnable_data(tiny_config):
    for name, m in METHODS.items():
        if m.stages:
            assert all(s in METHODS and not METHODS[s].stages for s in m.stages)
            continue
        assert m.objective in OBJECTIVES, name
        tiny_config.method = name
        shape = run_shape(tiny_config, m)
        assert shape.n_off == (tiny_config.rollout.n_off if m.trace_rows is None else m.trace_rows)
        assert shape.n_on == (shape.n - shape.n_off) and (shape.n_on > 0) == m.samples
    assert METHODS["sft_then_rl"].needs_traces and not METHODS["on_policy_grpo"].needs_traces
    tiny_config.method = "sft_then_rl"
    tiny_config.sft.steps, tiny_config.total_steps = 2, 5
    run = translate(tiny_config)
    assert [run.stage_at(s).method.name for s in range(1, 6)] == ["sft"] * 2 + [
        "on_policy_grpo"
    ] * 3
    assert run.stage_at(1).optim.lr == tiny_config.sft.lr
    assert run.stage_at(3).optim.lr == tiny_config.optim.lr and run.stage_at(3).loss.use_clip


def test_schedule_count_reads_the_schedule_state():
    optim = translate_optim()
    tx, schedule = S.make_optimizer(optim)
    params = {"w": np.ones(3, np.float32)}
    state = tx.init(params)
    assert S.schedule_count(state) == 0
    for _ in range(3):
        _, state = tx.update({"w": np.ones(3, np.float32)}, state, params)
    assert S.schedule_count(state) == 3
    with pytest.raises(ValueError, match="one schedule state"):
        S.schedule_count(optax.adam(1e-3).init(params))


def translate_optim():
    from luffy_jax.trainer.config import OptimConfig

    return OptimConfig(lr=1e-3, schedule="cosine", warmup_steps=2, decay_steps=10)
