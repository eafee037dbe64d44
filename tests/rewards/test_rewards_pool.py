"""The worker pool: order, timeouts, crashes, errors, threads, reuse."""

import threading
import time

import pytest
from rewards_pool_helpers import SlowToLoadGrader, misbehaving_grader

from luffy_jax.rewards import RewardPool, score_batch
from luffy_jax.rewards import pool as pool_module


@pytest.fixture(scope="module")
def pool():
    with RewardPool(2, grade_fn=misbehaving_grader) as p:
        yield p


def test_order_preserved_and_pool_reused(pool):
    responses = [str(i % 7) for i in range(200)]
    golds = [str(i % 5) for i in range(200)]
    for _ in range(2):
        scores, stats = pool.score(responses, golds, timeout_s=5.0)
        assert scores == [1.0 if r == g else 0.0 for r, g in zip(responses, golds)]
        assert stats["n"] == 200 and stats["timeouts"] == 0 and stats["restarts"] == 0


def test_hung_item_times_out_and_others_still_score(pool):
    responses = ["1", "HANG", "2", "3", "HANG", "4"]
    golds = ["1", "1", "2", "0", "1", "4"]
    start = time.monotonic()
    scores, stats = pool.score(responses, golds, timeout_s=1.0)
    assert time.monotonic() - start < 15.0
    assert scores == [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    assert stats["timeouts"] == 2 and stats["restarts"] == 2
    scores, stats = pool.score(["5"], ["5"], timeout_s=5.0)  # replaced workers serve again
    assert scores == [1.0] and stats["timeouts"] == 0


def test_crash_and_error_are_counted_and_worker_replaced(pool):
    scores, stats = pool.score(["CRASH", "a", "RAISE", "b"], ["x", "a", "x", "b"], timeout_s=5.0)
    assert scores == [0.0, 1.0, 0.0, 1.0]
    assert stats["crashes"] == 1 and stats["errors"] == 1 and stats["restarts"] == 1
    assert "ValueError" in stats["error_messages"][0]
    scores, _ = pool.score(["c"] * 4, ["c"] * 4, timeout_s=5.0)
    assert scores == [1.0] * 4


def test_score_batch_from_a_thread():
    result = {}

    def run():
        result["out"] = score_batch(
            ["</think>\\boxed{\\frac12}", "no think \\boxed{1}", "</think> ANSWER: B"],
            ["0.5", "1", "B"],
            workers=2,
        )

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    scores, stats = result["out"]
    assert scores == [1.0, 0.0, 1.0]
    assert stats["workers"] == 2 and stats["timeouts"] == 0


def test_score_batch_kinds_and_in_process():
    responses = ["</think> The answer is 3.", "The answer is \\boxed{3}."]
    golds = ["3", "3"]
    assert score_batch(responses, golds, kind="math", workers=2)[0] == [1.0, 0.0]
    assert score_batch(responses, golds, kind="math_nothink", workers=2)[0] == [1.0, 1.0]
    assert score_batch(responses, golds, kind="boxed", workers=2)[0] == [0.0, 1.0]
    scores, stats = score_batch(responses, golds, kind="boxed", workers=0)
    assert scores == [0.0, 1.0] and stats["workers"] == 0


def test_score_batch_validates_inputs():
    with pytest.raises(ValueError, match="kind"):
        score_batch(["a"], ["a"], kind="nope", workers=0)
    with pytest.raises(ValueError, match="length"):
        score_batch(["a"], [], workers=0)
    with pytest.raises(TypeError, match=r"responses\[0\]"):
        score_batch([None], ["a"], workers=0)
    with pytest.raises(ValueError, match="timeout_s"):
        score_batch(["a"], ["a"], timeout_s=0, workers=0)


def test_closed_pool_refuses_work():
    p = RewardPool(1, grade_fn=misbehaving_grader)
    p.close()
    p.close()
    with pytest.raises(RuntimeError, match="closed"):
        p.score(["a"], ["a"])


def test_workers_that_never_get_ready_raise_instead_of_hanging(monkeypatch):
    monkeypatch.setattr(pool_module, "_START_TIMEOUT_S", 1.0)
    p = RewardPool(1, grade_fn=SlowToLoadGrader(60.0))
    start = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match="no reward worker became ready"):
            p.score(["1"], ["1"], timeout_s=5.0)
    finally:
        p.close()
    assert time.monotonic() - start < 15.0
