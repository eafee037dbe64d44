"""The synthetic task, its teacher, the tokenizer, and the seconds-long quickstart."""

import json
import random

import pytest
import transformers

from luffy_jax import rewards
from luffy_jax.synthetic import (
    TINY,
    build_char_tokenizer,
    make_split,
    plain_answer,
    save_char_tokenizer,
    short_trace,
    teacher_trace,
    write_jsonl,
)
from luffy_jax.synthetic.task import Problem, guessed_trace, is_worked_fully


def test_splits_are_deterministic_distinct_and_in_range():
    a, b = make_split(3, 50, (2, 3)), make_split(3, 50, (2, 3))
    assert [p.text for p in a] == [p.text for p in b]
    assert len({p.text for p in a}) == 50
    assert all(2 <= len(p.ops) <= 3 and all(0 <= v <= 9 for v in p.values) for p in a)
    ood = make_split(4, 30, (4, 6))
    assert all(4 <= len(p.ops) <= 6 for p in ood)
    assert [p.text for p in make_split(5, 50, (2, 3))] != [p.text for p in a]
    assert len(make_split(0, 500, (1, 1))) == 60  # only 60 one-operation chains stay in 0..9


def test_problem_text_and_answer():
    p = Problem(3, (("+", 4), ("-", 3), ("+", 2)))
    assert p.text == "3+4-3+2" and p.values == [7, 4, 6] and p.answer == 6
    assert teacher_trace(p) == "3+4=7\n7-3=4\n4+2=6\n</think>\n\\boxed{6}"


def test_short_traces_work_one_step_then_jump_to_the_answer():
    p = Problem(3, (("+", 4), ("-", 3), ("+", 2)))
    assert short_trace(p) == "3+4=7\n</think>\n\\boxed{6}"
    assert short_trace(p, worked=2) == "3+4=7\n7-3=4\n</think>\n\\boxed{6}"
    q = Problem(3, (("+", 4),))
    assert short_trace(q) == teacher_trace(q)
    assert is_worked_fully(teacher_trace(p), 3) and not is_worked_fully(short_trace(p), 3)
    assert is_worked_fully(short_trace(q), 1) and not is_worked_fully("</think>\n\\boxed{6}", 1)


def test_short_jsonl_mixes_in_full_traces_at_the_given_fraction(tmp_path):
    problems = make_split(0, 400, (3, 4))
    path = write_jsonl(tmp_path / "p.jsonl", problems, trace="short", full_fraction=0.1, seed=1)
    rows = [json.loads(x) for x in open(path)]
    full = sum(r["trace"] == teacher_trace(p) for r, p in zip(rows, problems))
    short = sum(r["trace"] == short_trace(p) for r, p in zip(rows, problems))
    assert full + short == 400 and 20 <= full <= 60
    assert rows[0]["num_ops"] == len(problems[0].ops)


def test_prepared_splits_are_disjoint(tmp_path):
    from luffy_jax.synthetic import prepare_files

    files = prepare_files(str(tmp_path / "d"), TINY)
    texts = {}
    for name in ("train", "pretrain", "validation", "eval_id", "eval_ood"):
        texts[name] = {json.loads(x)["problem"] for x in open(getattr(files, name))}
        assert texts[name], name
    names = list(texts)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not texts[a] & texts[b], (a, b)
    curve = {json.loads(x)["problem"] for x in open(files.eval_curve)}
    assert curve <= texts["validation"]


def test_guessed_traces_keep_the_layout_and_guess_the_values():
    p = Problem(3, (("+", 4), ("-", 3), ("+", 2)))
    rng = random.Random(0)
    traces = [guessed_trace(p, rng) for _ in range(200)]
    for t in traces:
        lines = t.split("\n")
        assert lines[0].startswith("3+4=") and lines[1][1:3] == "-3" and lines[2][1:3] == "+2"
        # each line starts from the previous line's (guessed) result; the box holds the last
        assert lines[1][0] == lines[0][-1] and lines[2][0] == lines[1][-1]
        assert lines[3:] == ["</think>", "\\boxed{" + lines[2][-1] + "}"]
    finals = {t.split("\n")[2][-1] for t in traces}
    assert finals == set("0123456789")  # guesses, not the answer
    right = sum(t == teacher_trace(p) for t in traces)
    assert right < 10  # about 1 in 1000


def test_teacher_traces_are_scored_correct_by_the_reward():
    problems = make_split(0, 40, (1, 5))
    for p in problems:
        gold = str(p.answer)
        assert rewards.math_reward("<think>\n" + teacher_trace(p), gold) == 1.0
        assert rewards.math_reward(plain_answer(p), gold) == 1.0
        assert rewards.boxed_reward(teacher_trace(p), gold) == 1.0
        assert (
            rewards.math_reward(
                teacher_trace(p).replace(f"{{{gold}}}", f"{{{p.answer + 1}}}"), gold
            )
            == 0.0
        )


def test_char_tokenizer_round_trip_and_saved_copy(tmp_path):
    tok = build_char_tokenizer()
    text = "<think>\n((7+5)-3)+8\n7+5=12</think>\n\\boxed{17}<|endoftext|>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    assert ids[0] == tok.convert_tokens_to_ids("<think>") and ids[-1] == tok.eos_token_id == 0
    loaded = transformers.AutoTokenizer.from_pretrained(save_char_tokenizer(tmp_path / "tok"))
    assert loaded(text, add_special_tokens=False)["input_ids"] == ids
    prompt = loaded.apply_chat_template(
        [{"role": "user", "content": "1+1"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == "<|im_start|>user\n1+1<|im_end|>\n<|im_start|>assistant\n<think>\n"


def test_tiny_quickstart_end_to_end(tmp_path):
    from luffy_jax.quickstart import run_quickstart

    results = run_quickstart(str(tmp_path), tiny=True)
    rows = results["rows"]
    assert [r["label"] for r in rows] == [
        "base (short-solution habit)",
        f"after {TINY.rl_steps} LUFFY steps",
        f"after {TINY.rl_steps} on-policy GRPO steps",
    ]
    for r in rows:
        assert 0.0 <= r["id"] <= 1.0 and 0.0 <= r["ood"] <= 1.0 and 0.0 <= r["worked"] <= 1.0
        assert 0 < r["length"] <= 80
    assert rows[0]["entropy"] is None and all(r["entropy"] > 0 for r in rows[1:])
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    md = (tmp_path / "results.md").read_text()
    assert "in-distribution" in md and f"after {TINY.rl_steps} on-policy GRPO steps" in md
    assert json.loads((tmp_path / "results.json").read_text())["rows"] == rows
    for run, off in (("luffy", 1.0), ("on_policy_grpo", None)):
        records = [
            json.loads(x)
            for x in (tmp_path / "runs" / run / "metrics.jsonl").read_text().splitlines()
        ]
        assert [r["step"] for r in records] == list(range(1, TINY.rl_steps + 1))
        # teacher traces always score 1; on-policy GRPO has none
        assert all(r.get("batch/off_solved") == off for r in records), run
        assert "val/avg_score" in records[-1]


def test_write_jsonl_rejects_an_unknown_trace_kind(tmp_path):
    with pytest.raises(ValueError, match="unknown trace kind 'worked'"):
        write_jsonl(tmp_path / "x.jsonl", make_split(0, 3, (2, 3)), trace="worked")


def test_run_config_follows_the_scale_it_is_given(tmp_path):
    import dataclasses

    from luffy_jax.synthetic import FULL, Files, run_config
    from luffy_jax.synthetic.preset import get_config

    files = Files(str(tmp_path))
    for scale in (FULL, dataclasses.replace(FULL, rl_steps=7), TINY):
        pre = run_config(files, "pretrain", scale=scale)
        assert pre.rollout.prompts_per_step == scale.pretrain_batch
        assert pre.total_steps == scale.pretrain_steps and pre.method == "sft"
        rl = run_config(files, "luffy", scale=scale)
        assert rl.total_steps == scale.rl_steps and rl.rollout.n == scale.n
    no_shaping = run_config(files, "luffy_no_shaping")
    assert no_shaping.method == "luffy" and no_shaping.loss.off_policy_shaping == "none"
    with pytest.raises(ValueError, match="unknown method 'ppo'"):
        run_config(files, "ppo")
    preset = get_config(f"sft,{tmp_path},tiny")
    assert preset.method == "sft" and preset.total_steps == TINY.rl_steps
    assert preset.data.train_files == str(tmp_path / "train.jsonl")
    assert preset.eval.files == str(tmp_path / "eval_curve.jsonl")  # validation, not test
    assert get_config(f"luffy,{tmp_path}").total_steps == FULL.rl_steps
    with pytest.raises(ValueError, match="METHOD,DATA_ROOT"):
        get_config("luffy")
