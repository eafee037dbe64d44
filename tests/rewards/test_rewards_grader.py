"""math_reward (LUFFY v3), boxed_reward, extraction, and the real gold forms and rollouts."""

import json
import time

import pyarrow.parquet as pq
import pytest
from rewards_cases import RESPONSES

from luffy_jax.rewards import boxed_reward, extract_answer, math_reward


@pytest.mark.parametrize(("response", "gold", "expected"), RESPONSES)
def test_math_reward(response, gold, expected):
    assert math_reward(response, gold) == expected


def test_require_think_false_grades_whole_text():
    assert math_reward("So \\boxed{3}", "3", require_think=False) == 1.0
    assert math_reward("So \\boxed{3}", "3") == 0.0
    assert math_reward("x </think> So \\boxed{3}", "3", require_think=False) == 1.0


def test_boxed_reward_is_strict():
    assert boxed_reward("The answer is 3.", "3") == 0.0
    assert boxed_reward("So $\\boxed{3}$.", "3") == 1.0
    assert boxed_reward("\\boxed{4} then </think> \\boxed{3}", "3") == 1.0
    assert boxed_reward("\\boxed{3} then </think> \\boxed{4}", "3") == 0.0
    assert boxed_reward("</think> \\fbox{\\frac{1}{2}}", "0.5") == 1.0
    assert boxed_reward("</think> \\boxed{2} or \\boxed{-2}", "2") == 0.0
    assert boxed_reward("</think> ANSWER: C", "C") == 0.0


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("blah \\boxed{1} more \\boxed{\\frac{a}{b}} end", "\\frac{a}{b}"),
        ("\\boxed{2} or \\boxed{-2}", "2, -2"),
        ("\\boxed{2}, \\boxed{2}", "2"),
        ("The final answer is: 42.", "42"),
        ("ANSWER: C", "C"),
        ("We get\n$$x = 7$$", "7"),
        ("Hence the area is $12\\pi$.", "12\\pi"),
        ("we have 3 cats and 4 dogs and we keep thinking about it", None),
        ("", None),
        ("**Final Answer**\n42", "42"),  # a short line under an answer heading
        ("**Final Answer**\nThe value is large", None),
        ("The probability is 0.75.", "0.75"),  # the last sentence states a value
        ("The speed is 60 kilometers per hour.", "60 kilometers per hour"),
        ("The remainder when $2^{10}$ is divided by 7 is 2.", "2"),  # the value after a span
        ("The remainder is 2 when divided by 7.", "2"),
        ("I think the answer might be 5 or 6.", None),  # a hedge states no one answer
        ("The train travels at 80 km/h.", "80 km/h"),  # one quantity with a physical unit
        ("We need 42 more steps to check, so let us continue.", None),  # a count, no answer
    ],
)
def test_extract_answer(text, answer):
    assert extract_answer(text) == answer


def test_rejects_non_string_inputs():
    with pytest.raises(TypeError, match="response"):
        math_reward(None, "1")
    with pytest.raises(TypeError, match="gold"):
        boxed_reward("1", 1)


def _golds(shared_data):
    golds = set()
    for name in ("valid", "valid.all", "valid.arc_c", "valid.gpqa"):
        table = pq.read_table(
            shared_data / "luffy_eval" / f"{name}.parquet", columns=["reward_model"]
        )
        golds.update(row["reward_model"]["ground_truth"] for row in table.to_pylist())
    return sorted(golds)


def test_every_real_gold_form_matches_itself_quickly(shared_data):
    golds = _golds(shared_data)
    assert len(golds) > 1000
    for gold in golds:
        inner = (
            gold[1:-1]
            if gold.startswith("$") and gold.endswith("$") and gold.count("$") == 2
            else gold
        )
        start = time.perf_counter()
        assert math_reward("</think>So the answer is $\\boxed{" + inner + "}$.", gold) == 1.0, gold
        assert boxed_reward("\\boxed{" + inner + "}", gold) == 1.0, gold
        assert time.perf_counter() - start < 2.0, gold


def test_real_golds_reject_a_different_answer(shared_data):
    # a gold is never equal to a clearly different number
    for gold in _golds(shared_data):
        assert math_reward("</think>\\boxed{123456789}", gold) == 0.0, gold


def test_agreement_with_harness_on_qwen_rollouts(shared_data):
    """Qwen2.5-Math-7B greedy outputs with the harness's verdicts; golds from MATH-500 (the
    rollout files store the harness's mangled golds, e.g. ``(+5)(b+2)``)."""
    real = {}
    with open(shared_data / "benchmarks" / "math500.jsonl") as f:
        for line in f:
            row = json.loads(line)
            real[row["problem"].strip()] = row["answer"]
    rows = []
    for bench in ("aime24", "amc23", "math500"):
        with open(shared_data / "rollouts" / f"qwen2.5-math-7b_greedy_{bench}.jsonl") as f:
            rows += [json.loads(line) for line in f]
    disagree = []
    for row in rows:
        gold = real.get(row["problem"].strip(), row["answer"])
        if math_reward("</think>" + row["response"], gold) != float(row["correct"]):
            disagree.append(row["id"])
    # the remaining disagreements are harness errors ((B) vs \text{(B)}, 15x-80 graded as 80, ...)
    assert len(disagree) <= 6, disagree
