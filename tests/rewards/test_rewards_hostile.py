"""Hostile inputs finish fast in-process and through the pool, and the process survives."""

import time

import pytest
from rewards_hostile import hostile_cases

from luffy_jax.rewards import boxed_reward, math_equal, math_reward, score_batch
from luffy_jax.rewards.guards import safe_for_sympy

_CASES = hostile_cases()


@pytest.mark.parametrize(("name", "response", "gold"), _CASES, ids=[c[0] for c in _CASES])
def test_hostile_in_process(name, response, gold):
    start = time.perf_counter()
    assert math_reward(response, gold) in (0.0, 1.0)
    assert boxed_reward(response, gold) in (0.0, 1.0)
    assert isinstance(math_equal(response[-2000:], gold[:2000]), bool)
    assert time.perf_counter() - start < 5.0, name


def test_hostile_through_pool():
    responses = [c[1] for c in _CASES]
    golds = [c[2] for c in _CASES]
    scores, stats = score_batch(responses, golds, timeout_s=5.0, workers=2)
    assert len(scores) == len(_CASES)
    assert stats["timeouts"] == 0 and stats["crashes"] == 0 and stats["errors"] == 0, stats
    assert stats["total_s"] < 60.0


@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("9^{9^{9^{9}}}", False),
        ("1000!!!", False),
        ("(5!)!", False),
        ("2^{99999}", False),
        ("9" * 500, False),
        ("{" * 100 + "}" * 100, False),
        ("2^{1009}", True),
        ("\\frac{\\sqrt{3}}{2}", True),
        ("10!", True),
    ],
)
def test_safe_for_sympy(text, safe):
    assert safe_for_sympy(text) == safe
