"""Configuration checks before compute, presets, and the rollout batch's invariants (spec 7)."""

import numpy as np
import pytest

from luffy_jax.trainer import METHODS, ConfigError, build_rollout, run_shape, run_training


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("method", "ppo", "config.method"),
        ("rollout.n", 1, "config.rollout.n=1 must be larger"),
        ("rollout.n_off", 0, "needs at least one trace"),
        ("batch.micro_batch_rows", 6, "micro_batch_rows=6"),
        ("batch.mini_batch_prompts", 3, "mini_batch_prompts=3"),
        ("data.max_response_length", 200, "max_position_embeddings"),
        ("loss.off_policy_shaping", "bogus", "off_policy_shaping"),
        ("optim.schedule", "linear", "optim.schedule"),
    ],
)
def test_bad_configuration_fails_before_compute_naming_the_field(
    tiny_config, tmp_path, field, value, message
):
    section, _, name = field.rpartition(".")
    target = tiny_config
    for part in filter(None, section.split(".")):
        target = target[part]
    target[name] = value
    with pytest.raises(ConfigError, match=message):
        run_training(tiny_config, str(tmp_path))
    assert not (tmp_path / "checkpoints").exists()


def test_presets_load_and_mirror_the_official_script():
    from experiments import luffy_qwen25_math_7b as preset
    from experiments import smoke

    c = preset.get_config()
    assert (c.rollout.prompts_per_step, c.rollout.n, c.rollout.n_off) == (128, 8, 1)
    assert (c.data.max_prompt_length, c.data.max_response_length) == (1024, 8192)
    assert c.optim.lr == 1e-6 and c.loss.shaping_gamma == 0.1 and not c.loss.use_clip
    assert c.loss.aggregation == "constant" and c.loss.entropy_coef == 0.001
    assert (c.eval.every, c.checkpoint.every) == (10, 50)
    assert preset.get_config("on_policy").method == "on_policy_grpo"
    assert preset.get_config("rl_with_sft_loss").method == "rl_with_sft_loss"
    for v in ("math_1_5b", "instruct", "sft_then_rl", "sft"):
        preset.get_config(v)
    with pytest.raises(ValueError, match="unknown variant"):
        preset.get_config("nope")
    assert smoke.get_config("sft_then_rl").method == "sft_then_rl"


def test_rollout_batch_invariants(tiny_config):
    shape = run_shape(tiny_config, METHODS["luffy"])  # n=4, n_off=1, P=40, R=20
    batch = {
        "prompt_ids": [np.array([5, 6, 7]), np.array([8, 9])],
        "trace_ids": [[np.array([11, 12, 13])], [np.arange(30, 60)]],  # the second is too long
        "gold": ["1", "2"],
        "data_source": ["s", "s"],
        "index": np.array([0, 1]),
        "group_id": np.array([10, 11]),
    }
    n_on = 3
    toks = np.full((2 * n_on, 20), 0, np.int32)
    toks[:, :4] = 42
    toks[:, 4] = 0  # EOS (id 0) after 4 tokens
    lengths = np.full(2 * n_on, 5)
    lps = np.full((2 * n_on, 20), -1.0, np.float32)
    rb = build_rollout(batch, toks, lps, lengths, shape, eos_id=0, pad_id=0)
    assert rb.rows == 8
    np.testing.assert_array_equal(rb.group_ids, [10] * 4 + [11] * 4)
    np.testing.assert_array_equal(rb.is_off, [1, 0, 0, 0, 1, 0, 0, 0])
    # off-policy row: trace + EOS, prefix mask == response mask
    assert rb.responses[0] == [11, 12, 13, 0]
    np.testing.assert_array_equal(rb.off_policy_mask[0], rb.response_mask[0])
    assert rb.response_mask[0].sum() == 4
    # a trace at the width limit loses its EOS (official truncation)
    assert rb.response_mask[4].sum() == 20 and rb.responses[4][-1] == 49
    # on-policy rows: no prefix mask, response mask up to and including the first EOS
    assert rb.off_policy_mask[1:4].sum() == 0 and rb.response_mask[1].sum() == 5
    # prompts left-padded into P=40 columns, the response starts at column 40
    np.testing.assert_array_equal(rb.tokens[0, 37:40], [5, 6, 7])
    assert not rb.attention_mask[0, :37].any() and rb.attention_mask[0, 40:44].all()
    assert rb.sampler_logprobs[0].sum() == 0 and rb.sampler_logprobs[1, :5].sum() == -5
    with pytest.raises(ValueError, match="no off-policy trace"):
        build_rollout(
            dict(batch, trace_ids=[[], []]), toks, lps, lengths, shape, eos_id=0, pad_id=0
        )


def _expect_config_error(config, tmp_path, match):
    with pytest.raises(ConfigError, match=match):
        run_training(config, str(tmp_path / "run"))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_evaluation_that_cannot_run_fails_before_compute(tiny_config, tmp_path):
    import json

    long_problem = "+".join(["1"] * 60) + "=?"  # far over max_prompt_length=40 characters
    (tmp_path / "long.jsonl").write_text(
        json.dumps({"problem": long_problem, "answer": "60"}) + "\n"
    )
    tiny_config.eval.files = str(tmp_path / "long.jsonl")
    tiny_config.eval.max_new_tokens = 8
    _expect_config_error(tiny_config, tmp_path, "none of the 1 evaluation prompts fits")
    tiny_config.eval.files = str(tmp_path / "missing.jsonl")
    _expect_config_error(tiny_config, tmp_path, r"config.eval.files.*missing.jsonl")
    tiny_config.eval.files = ""
    tiny_config.data.train_files = str(tmp_path / "missing.jsonl")
    _expect_config_error(tiny_config, tmp_path, "config.data.train_files")


def test_shape_overrides_may_not_contradict_a_checkpoint(tiny_config, tmp_path):
    import jax
    import ml_collections

    from luffy_jax.models import ModelConfig, init_params, save_hf_checkpoint

    cfg = ModelConfig.from_hf(tiny_config.model.config_json)
    save_hf_checkpoint(init_params(cfg, jax.random.key(0)), cfg, tmp_path / "hf")
    tiny_config.model.hf_path = str(tmp_path / "hf")
    tiny_config.model.overrides = ml_collections.ConfigDict({"num_layers": 1, "hidden_size": 32})
    _expect_config_error(tiny_config, tmp_path, r"num_layers=1 \(checkpoint: 2\)")
    tiny_config.model.overrides = ml_collections.ConfigDict({"num_layers": 2})  # agrees: runs
    tiny_config.total_steps = 1
    run_training(tiny_config, str(tmp_path / "ok"))


def test_low_precision_weights_are_an_explicit_opt_in(tiny_config, tmp_path):
    tiny_config.model.param_dtype = "bfloat16"
    _expect_config_error(tiny_config, tmp_path, "low_precision_params")
    tiny_config.model.low_precision_params = True
    from luffy_jax.trainer import validate

    assert validate(tiny_config).ctx.model_config.param_dtype == "bfloat16"


def test_float32_master_weights_move_at_lr_1e_6_where_bfloat16_ones_do_not():
    import jax
    import jax.numpy as jnp

    from luffy_jax.trainer import step as S
    from luffy_jax.trainer.config import OptimConfig

    tx, _ = S.make_optimizer(OptimConfig(lr=1e-6))
    w = jax.random.normal(jax.random.key(0), (4096,)) * 0.02
    changed = {}
    for dtype in (jnp.float32, jnp.bfloat16):
        params = {"w": jnp.array(w, dtype, copy=True), "norm": jnp.ones(512, dtype)}
        start = jax.tree.map(lambda x: x.copy(), params)
        state = tx.init(params)
        for i in range(20):
            g = jax.tree.map(
                lambda x, i=i: jnp.sign(jnp.sin(jnp.arange(x.size) + i)).astype(x.dtype), params
            )
            params, state, _ = S.apply_update(params, state, g, tx=tx)
        changed[jnp.dtype(dtype).name] = {k: float(jnp.mean(params[k] != start[k])) for k in params}
    assert changed["float32"]["w"] > 0.99 and changed["float32"]["norm"] > 0.99
    assert changed["bfloat16"]["w"] < 0.2 and changed["bfloat16"]["norm"] == 0.0
