"""The parity switches other than the objective's (README "Parity with the official code"): prefix
strategies, long traces, the response mask, end-of-turn stop ids, the preset's settings; each
against values written from the spec (luffy_spec.md 1.3)."""

import json
from collections import Counter

import numpy as np
import pytest

from luffy_jax.data import encode_examples, stop_and_pad_ids
from luffy_jax.data.examples import Example
from luffy_jax.trainer import METHODS, ConfigError, build_rollout, run_shape, translate
from luffy_jax.trainer.prefixes import PrefixConfig, prefix_ratios, prefix_tokens


def _ratios(strategy, step=0, n=8, n_prefix=3, prompts=400, **kw):
    cfg = PrefixConfig(strategy=strategy, **kw)
    return prefix_ratios(cfg, prompts, n, n_prefix, step, np.random.default_rng(0))


def test_random_strategy_draws_uniform_ratios_for_the_first_copies_only():
    r = _ratios("random", min_ratio=0.2, max_ratio=0.6)
    assert (r[:, 3:] == 0).all()
    assert r[:, :3].min() >= 0.2 and r[:, :3].max() <= 0.6
    assert r[:, :3].mean() == pytest.approx(0.4, abs=0.01)
    assert (_ratios("random")[:, :3] == 1.0).all()  # LUFFY: the whole trace
    assert PrefixConfig().full_traces and not PrefixConfig(min_ratio=0.5).full_traces


@pytest.mark.parametrize(
    "strategy,step,upper",
    [
        # spec: 10 windows over prefix_steps=1000; window i: U(0, (10-i) M/10) (linear_max) or
        # U(0, (i+1) M/10) (reverse_linear), M = 0.8; past the end, the last window
        ("linear_max", 0, 0.8),
        ("linear_max", 250, 0.8 * 8 / 10),  # 250 is in window 2 (200..300)
        ("linear_max", 5000, 0.8 * 1 / 10),
        ("reverse_linear", 0, 0.8 * 1 / 10),
        ("reverse_linear", 999, 0.8),
        ("reverse_linear", 5000, 0.8),
    ],
)
def test_windowed_strategies_follow_the_step_windows(strategy, step, upper):
    r = _ratios(strategy, step=step)[:, :3]
    assert r.min() >= 0 and r.max() <= upper + 1e-12 and r.max() > 0.9 * upper


def test_fixed_and_shared_strategies():
    r = _ratios("fixed", min_ratio=0.0, max_ratio=1.0, n_prefix=3)
    np.testing.assert_allclose(r[0], [0.0, 0.5, 1.0, 0, 0, 0, 0, 0])
    shared = _ratios("random", share_across_samples=True, min_ratio=0.1, max_ratio=0.9)
    assert (shared[:, :3] == shared[:, :1]).all() and (shared[:, 3:] == 0).all()
    lin = _ratios("linear", step=250, share_across_samples=True)  # M (1 - 250/1000)
    np.testing.assert_allclose(lin[:, :3], 0.8 * 0.75)
    with pytest.raises(ValueError, match="at least 2"):
        _ratios("fixed", n_prefix=1)
    with pytest.raises(ValueError, match="share"):
        PrefixConfig(strategy="linear")


def test_prefix_lengths_are_floor_of_trace_plus_eos_times_ratio():
    trace = list(range(10, 19))  # 9 tokens + EOS = 10
    assert prefix_tokens(trace, 0, 1.0) == trace + [0]
    assert prefix_tokens(trace, 0, 0.55) == trace[:5]  # floor(10 * 0.55) = 5
    assert prefix_tokens(trace, 0, 0.09) == []
    assert prefix_tokens([], 0, 1.0) == []


def _data_batch(traces):
    return {
        "prompt_ids": [np.array([5, 6, 7])],
        "trace_ids": [traces],
        "gold": ["1"],
        "data_source": ["s"],
        "index": np.array([0]),
        "group_id": np.array([3]),
    }


def test_rollout_with_prefixes_continues_the_partial_rows(tiny_config):
    shape = run_shape(tiny_config, METHODS["luffy"])  # n=4, n_off=1, R=20
    trace = [11, 12, 13, 14]
    prefixes = [[11, 12], [], [], []]  # copy 0: ratio 0.4 of trace + EOS; copies 1-3 on-policy
    toks = np.array([[40, 41, 0] + [0] * 17] * 4, np.int32)  # 4 continuations, EOS (0) at 2
    lps = np.full((4, 20), -0.5, np.float32)
    rb = build_rollout(
        _data_batch([trace]), toks, lps, np.full(4, 3), shape, 0, 0, row_prefixes=prefixes
    )
    assert rb.responses[0] == [11, 12, 40, 41, 0]
    assert rb.off_policy_mask[0].tolist()[:6] == [1, 1, 0, 0, 0, 0] and rb.is_off[0]
    assert rb.response_mask[0].sum() == 5 and not rb.is_off[1:].any()
    assert rb.sampler_logprobs[0, :2].sum() == 0 and rb.sampler_logprobs[0, 2:5].sum() == -1.5


def test_long_traces_three_ways(tiny_run_files):
    """drop: counted and dropped; cut_with_eos: cut to R - 1 + EOS; official: cut to R, no EOS."""
    import transformers

    _, tok_dir = tiny_run_files
    tok = transformers.AutoTokenizer.from_pretrained(tok_dir)
    ex = Example("s", ({"role": "user", "content": "1+1=?"},), "2", ("9" * 30,), 0)
    r_len = 20
    out = {}
    for mode, max_len, truncate in (
        ("drop", r_len - 1, False),
        ("cut_with_eos", r_len - 1, True),
        ("official", r_len, True),
    ):
        stats = Counter()
        enc = encode_examples(
            [ex],
            tok,
            max_prompt_length=64,
            max_trace_length=max_len,
            truncate_traces=truncate,
            require_traces=True,
            stats=stats,
        )
        out[mode] = (enc, stats)
    assert out["drop"][0] == [] and out["drop"][1]["dropped/trace_too_long"] == 1
    eos = tok.eos_token_id
    for mode, has_eos in (("cut_with_eos", True), ("official", False)):
        (e,), _ = out[mode]
        shape = run_shape_for(r_len)
        rb = build_rollout(
            {**_data_batch([e.trace_ids[0]]), "prompt_ids": [np.array(e.prompt_ids)]},
            np.zeros((1, r_len), np.int32),
            np.zeros((1, r_len), np.float32),
            np.ones(1),
            shape,
            eos,
            eos,
        )
        assert rb.response_mask[0].sum() == r_len and (rb.responses[0][-1] == eos) == has_eos


def run_shape_for(r_len):
    import dataclasses

    from luffy_jax.trainer.config import RunShape

    return dataclasses.replace(RunShape(1, 2, 1, 1, 8, 64, r_len), max_response_length=r_len)


def test_official_response_mask_counts_the_pad_after_an_end_of_turn_id(tiny_config):
    shape = run_shape(tiny_config, METHODS["on_policy_grpo"])  # 4 sampled rows, R=20
    eos = pad = 0
    im_end = 7
    toks = np.zeros((4, 20), np.int32)
    toks[:, :3] = [[40, 41, im_end]] * 4
    toks[1, 2] = eos  # row 1 stopped on EOS
    lengths = np.full(4, 3)
    lps = np.zeros((4, 20), np.float32)
    batch = _data_batch([])
    ours = build_rollout(batch, toks, lps, lengths, shape, eos, pad)
    official = build_rollout(batch, toks, lps, lengths, shape, eos, pad, mask_end="official")
    assert ours.response_mask[0].sum() == 3 and official.response_mask[0].sum() == 4
    assert official.responses[0] == [40, 41, im_end, pad]
    assert ours.response_mask[1].sum() == official.response_mask[1].sum() == 3
    # PAD != EOS: the official mask runs to the end of the padded response
    other = build_rollout(batch, toks, lps, lengths, shape, eos, 99, mask_end="official")
    assert other.response_mask[0].sum() == 20


def test_end_of_turn_ids_from_generation_config_join_the_stop_ids(tmp_path, tiny_run_files):
    import transformers

    _, tok_dir = tiny_run_files
    tok = transformers.AutoTokenizer.from_pretrained(tok_dir)
    (tmp_path / "generation_config.json").write_text(
        json.dumps({"eos_token_id": [tok.eos_token_id, 77, 78], "pad_token_id": 3})
    )
    stops, _ = stop_and_pad_ids(tok, [str(tmp_path), str(tmp_path / "missing")])
    assert stops == (tok.eos_token_id, 77, 78)
    assert stop_and_pad_ids(tok)[0] == (tok.eos_token_id,)
    (tmp_path / "generation_config.json").write_text('{"eos_token_id": "x"}')
    with pytest.raises(ValueError, match="eos_token_id"):
        stop_and_pad_ids(tok, [str(tmp_path)])


def test_7b_preset_and_its_variants_select_the_official_settings():
    from experiments import luffy_qwen25_math_7b as preset

    for variant in ("luffy", "on_policy", "rl_with_sft_loss", "sft_then_rl", "no_shaping"):
        c = preset.get_config(variant)
        c.reward.judge = "ours"  # math-verify is optional here; the preset's value is checked below
        stage = translate(c).stages[0]
        assert stage.loss.entropy_reduction == "official", variant
        assert stage.shape.row_order == "official" and stage.shape.official_ranks == 8
        assert stage.shape.official_max_tokens == 32768
        assert c.data.long_traces == "official" and c.rollout.response_mask_end == "official"
        assert c.rollout.stop_on_generation_config_eos
    assert preset.get_config().reward.judge == "math_verify"
    assert (
        translate(_no_judge(preset.get_config("rl_with_sft_loss"))).stages[0].loss.sft_reduction
        == "official"
    )
    ablation = _no_judge(preset.get_config("prefix_ablation"))
    prefix = translate(ablation).rollout.prefix
    assert prefix.strategy == "linear_max" and not prefix.full_traces


def _no_judge(c):
    c.reward.judge = "ours"
    return c


def test_official_layout_settings_are_checked_before_compute(tiny_config, tmp_path):
    from luffy_jax.trainer import run_training

    tiny_config.batch.row_order = "official"
    tiny_config.batch.official_ranks = 3  # 4-row mini-batches do not split over 3 ranks
    with pytest.raises(ConfigError, match="official_ranks=3"):
        run_training(tiny_config, str(tmp_path))
    tiny_config.batch.official_ranks = 2
    tiny_config.batch.official_max_tokens = 30  # < P + R = 60
    with pytest.raises(ConfigError, match="official_max_tokens=30"):
        run_training(tiny_config, str(tmp_path))


def test_the_math_verify_judge_is_checked_before_compute(tiny_config):
    from luffy_jax.rewards import math_verify_judge

    tiny_config.reward.judge = "math_verify"
    if math_verify_judge.available():
        run = translate(tiny_config)
        assert run.rollout.reward.kind == "math_verify" and run.eval.reward.kind == "math_verify"
    else:
        with pytest.raises(ConfigError, match="pip install"):
            translate(tiny_config)
    tiny_config.reward.judge = "sympy"
    with pytest.raises(ConfigError, match="reward.judge"):
        translate(tiny_config)


def test_evaluation_keeps_or_skips_long_prompts_and_counts_them(tiny_run_files):
    import jax
    import transformers

    from luffy_jax.data import build_messages
    from luffy_jax.evaluation import evaluate_policy
    from luffy_jax.models import ModelConfig, init_params

    root, tok_dir = tiny_run_files
    tok = transformers.AutoTokenizer.from_pretrained(tok_dir)
    cfg = ModelConfig.from_hf(root / "config.json")
    params = init_params(cfg, jax.random.key(0))
    examples = [
        Example("a", tuple(build_messages("1+1=?", None)), "2", (), 0),
        Example("a", tuple(build_messages("1+" * 30 + "1=?", None)), "31", (), 1),
        Example("b", tuple(build_messages("2+2=?", None)), "4", (), 0),
    ]
    kw = dict(key=jax.random.key(0), max_new_tokens=4, max_prompt_length=40, reward_workers=0)
    kept = evaluate_policy(params, cfg, tok, examples, long_prompts="keep", **kw)
    skipped = evaluate_policy(params, cfg, tok, examples, long_prompts="skip", **kw)
    assert kept["n"] == 3 and kept["skipped"] == 0 and kept["long_prompts"] == {"a": 1, "b": 0}
    assert skipped["n"] == 2 and skipped["skipped"] == 1 and skipped["long_prompts"]["a"] == 1
    assert kept["long_prompts_policy"] == "keep"


@pytest.mark.parametrize("switch", ["prefixes", "official_layout"])
def test_a_step_runs_with_partial_prefixes_or_the_official_layout(tiny_config, tmp_path, switch):
    from luffy_jax.trainer import run_training

    tiny_config.total_steps = 1
    if switch == "prefixes":
        tiny_config.rollout.min_prefix_ratio, tiny_config.rollout.max_prefix_ratio = 0.3, 0.7
    else:
        tiny_config.batch.row_order = "official"
        tiny_config.batch.official_ranks = 2
        tiny_config.batch.official_max_tokens = 64
        tiny_config.loss.entropy_reduction = "official"
        tiny_config.rollout.response_mask_end = "official"
    last = run_training(tiny_config, str(tmp_path))
    if switch == "prefixes":
        assert 0.3 / 4 <= last["batch/avg_prefix_ratio"] <= 0.7 / 4  # 1 prefix copy of 4
    else:
        assert last["batch/official_micro_batches"] >= 1
        assert last["actor/entropy_term"] > 0
    assert np.isfinite(last["loss"])
