"""End to end on CPU (8 virtual devices): every method, resume, SIGTERM, evaluation."""

import json
import os
import signal

import jax
import numpy as np
import pytest

from luffy_jax.evaluation import evaluate_policy
from luffy_jax.trainer import METHODS, ConfigError, load_trained_policy, read_metrics, run_training

VOLATILE = ("timing_s/", "perf/")


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_end_to_end(tiny_config, tmp_path, method):
    tiny_config.method = method
    last = run_training(tiny_config, str(tmp_path), max_steps=2)
    records = read_metrics(str(tmp_path))
    assert [r["step"] for r in records] == [1, 2]
    for r in records:
        assert np.isfinite(r["loss"]) and "reward_mean" in r and "actor/grad_norm" in r
    if method == "sft_then_rl":
        assert [r["method"] for r in records] == ["sft", "on_policy_grpo"]
    if method in ("luffy", "rl_with_sft_loss"):
        assert last["batch/avg_prefix_ratio"] == pytest.approx(0.25)  # 1 trace in 4 rows
        assert last["batch/off_solved"] == 1.0  # the traces are right
        assert 0 < last["actor/off_policy_prob"] < 1
    if method in ("on_policy_grpo",):
        assert "batch/off_solved" not in last
    assert os.path.isdir(tmp_path / "checkpoints" / "2")
    config, params, tok = load_trained_policy(str(tmp_path))
    assert config.num_layers == 2 and "layers_0" in params


def test_stop_and_resume_gives_identical_metrics(tiny_config, tmp_path):
    tiny_config.total_steps = 3
    tiny_config.eval.files = tiny_config.data.train_files
    tiny_config.eval.every = 2
    tiny_config.eval.max_examples = 4
    tiny_config.eval.max_new_tokens = 8
    run_training(tiny_config, str(tmp_path / "straight"), max_steps=3)
    run_training(tiny_config, str(tmp_path / "split"), max_steps=1)
    run_training(tiny_config, str(tmp_path / "split"), max_steps=3)
    a, b = read_metrics(str(tmp_path / "straight")), read_metrics(str(tmp_path / "split"))
    assert [r["step"] for r in b] == [1, 2, 3]
    for ra, rb in zip(a, b):
        keys = {k for k in ra if not k.startswith(VOLATILE)}
        assert keys == {k for k in rb if not k.startswith(VOLATILE)}
        for k in keys:
            assert ra[k] == rb[k], (ra["step"], k, ra[k], rb[k])
    assert "val/avg_score" in a[1]


def test_sigterm_saves_a_loadable_checkpoint(tiny_config, tmp_path):
    tiny_config.total_steps = 5
    tiny_config.checkpoint.every = 100

    def on_step(step, metrics):
        if step == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    run_training(tiny_config, str(tmp_path), on_step=on_step)
    assert [r["step"] for r in read_metrics(str(tmp_path))] == [1]
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["1"]
    config, params, _ = load_trained_policy(str(tmp_path))
    assert params["layers_0"]["mlp"]["up_proj"]["kernel"].shape == (32, 64)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or callable(
        signal.getsignal(signal.SIGTERM)
    )


def test_evaluation_averages_replicas_and_sources(tiny_config, tiny_run_files, tmp_path):
    import transformers

    from luffy_jax.data import Example, build_messages
    from luffy_jax.models import ModelConfig, init_params

    root, tok_dir = tiny_run_files
    tok = transformers.AutoTokenizer.from_pretrained(tok_dir)
    cfg = ModelConfig.from_hf(root / "config.json")
    params = init_params(cfg, jax.random.key(0))
    # A random policy rarely answers right: check the bookkeeping against the per-row results.
    examples = [
        Example("a", tuple(build_messages("1+1=?", None)), "2", (), i % 2) for i in range(4)
    ]
    examples += [Example("b", tuple(build_messages("2+2=?", None)), "4", (), 0)]
    res = evaluate_policy(
        params,
        cfg,
        tok,
        examples,
        key=jax.random.key(0),
        max_new_tokens=6,
        max_prompt_length=32,
        grader="boxed",
        reward_workers=1,
    )
    assert res["n"] == 5 and set(res["scores"]) == {"a", "b"}
    rows_a = [s["correct"] for s in res["samples"] if s["data_source"] == "a"]
    assert res["scores"]["a"] == pytest.approx(np.mean(rows_a))
    assert res["average"] == pytest.approx((res["scores"]["a"] + res["scores"]["b"]) / 2)
    assert all(s["response"].startswith("<think>\n") for s in res["samples"])


def test_avg_at_k_by_replicas():
    from luffy_jax.evaluation import summarize

    samples = [
        ("aime", 1.0),
        ("aime", 0.0),
        ("aime", 1.0),
        ("aime", 1.0),
        ("math", 0.0),
        ("math", 1.0),
    ]
    out = summarize([s for s, _ in samples], [c for _, c in samples])
    assert out["scores"] == {"aime": 0.75, "math": 0.5}
    assert out["average"] == pytest.approx(0.625) and out["accuracy"] == pytest.approx(4 / 6)
    json.dumps(out)


def test_export_hf_loads_in_transformers_with_the_same_logits(tiny_config, tmp_path):
    import torch
    import transformers

    from luffy_jax.export_hf import export
    from luffy_jax.models import compute_logits

    tiny_config.method = "sft"
    tiny_config.total_steps = 1
    run_training(tiny_config, str(tmp_path / "run"))
    out = export(str(tmp_path / "run"), str(tmp_path / "hf"))
    model = transformers.AutoModelForCausalLM.from_pretrained(out, torch_dtype=torch.float32).eval()
    tok = transformers.AutoTokenizer.from_pretrained(out)
    ids = tok("3+4=7", add_special_tokens=False)["input_ids"]
    config, params, _ = load_trained_policy(str(tmp_path / "run"))
    ours = np.asarray(compute_logits(params, config, np.asarray([ids], np.int32)))
    with torch.no_grad():
        ref = model(torch.tensor([ids])).logits.numpy()
    np.testing.assert_allclose(ours, ref, atol=1e-4)


def test_a_tfds_training_set_gives_the_same_run_as_its_jsonl(tiny_config, tiny_run_files, tmp_path):
    from luffy_jax.data import tfds_builders

    root, _ = tiny_run_files
    tfds_dir = tmp_path / "tfds"
    tfds_builders.build_dataset(
        "tiny_train",
        data_dir=str(tfds_dir),
        files=[str(root / "train.jsonl")],
        require_traces=True,
        system_prompt=None,
    )
    tiny_config.method = "sft"
    tiny_config.total_steps = 1
    from_jsonl = run_training(tiny_config, str(tmp_path / "jsonl"))
    tiny_config.data.train_files = f"tfds:tiny_train@{tfds_dir}"
    from_tfds = run_training(tiny_config, str(tmp_path / "tfds_run"))
    assert from_tfds["loss"] == from_jsonl["loss"]
    assert from_tfds["perf/tokens"] == from_jsonl["perf/tokens"]
    for bad, match in (
        (f"tfds:tiny_train{tfds_dir}", "tfds:NAME@DATA_DIR"),
        (f"tfds:missing@{tfds_dir}", "no dataset 'missing'"),
    ):
        tiny_config.data.train_files = bad
        with pytest.raises(ConfigError, match=match):
            run_training(tiny_config, str(tmp_path / "bad"))
