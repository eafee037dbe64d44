"""math-verify as the optional training judge (``reward.judge=math_verify``): LUFFY's v3 rule
with the official judge, inside our bounded worker pool and from any thread. Skipped only when
math-verify is not installed (CI installs it from requirements-test.txt)."""

import threading

import pytest

from luffy_jax.rewards import RewardConfig, score_with
from luffy_jax.rewards import math_verify_judge as mv

pytestmark = pytest.mark.skipif(not mv.available(), reason="math-verify is not installed")

# (response after the prompt's "<think>\n", gold, official v3 reward). The last three are cases
# where math-verify and our judge disagree (BENCHMARKS.md): math-verify reads 4.5e33 as
# 4.5*e*33, compares numbers to 6 digits, and accepts an unboxed final number.
CASES = [
    ("x</think> So \\boxed{204}", "204", 1.0),
    ("So \\boxed{204}", "204", 0.0),  # no </think>: wrong whatever the answer
    ("a</think> \\boxed{\\frac12}", "0.5", 1.0),
    ("a</think> \\boxed{3}</think> \\boxed{4}", "3", 1.0),  # graded up to a second </think>
    ("a</think> \\boxed{7}", "8", 0.0),
    ("a</think> $4.5\\times10^{33}$", "4.5e33", 0.0),
    ("a</think> \\boxed{1/2^{99}}", "1/2^{98}", 1.0),
    ("a</think> the result is 8", "8", 1.0),
]


@pytest.mark.parametrize("response,gold,expected", CASES)
def test_math_verify_reward_follows_the_v3_rule(response, gold, expected):
    assert mv.math_verify_reward(response, gold) == expected


def test_the_judge_switch_runs_in_the_bounded_pool_and_off_the_main_thread():
    responses, golds, expected = zip(*CASES)
    scores, stats = score_with(RewardConfig("math_verify", 10.0, 1), responses, golds)
    assert scores.tolist() == list(expected) and stats["errors"] == stats["timeouts"] == 0
    out = {}

    def grade_in_thread():  # math-verify's own signal-based limits would fail here
        out["scores"], out["stats"] = score_with(
            RewardConfig("math_verify", 10.0, 0), responses, golds
        )

    thread = threading.Thread(target=grade_in_thread)
    thread.start()
    thread.join()
    assert out["scores"].tolist() == list(expected) and out["stats"]["errors"] == 0
