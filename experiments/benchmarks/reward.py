"""Reward benchmark: accuracy, false positives and latency of the judge, by kind of answer.

Two sets, each graded one case at a time in this process (LUFFY's v3 rule: the text after
``</think>``), with latency percentiles per call:

* the labelled cases of ``tests/rewards/judge_cases.py`` (hand-written by kind: positives in the
  forms models write and near-miss negatives), reported by kind: accuracy, false positives
  (wrong answers rewarded), false negatives, p50/p90/p99/max latency -- and for the ``hard``
  subset (long symbolic answers written for the latency tail);
* the Qwen2.5-Math-7B greedy rollouts in ``../shared/data/rollouts`` (570 real responses,
  ~3.7k characters each) with the real MATH-500 golds: agreement with the evaluation harness's
  own verdicts (not ground truth: the harness has known errors), and latency.

The same is measured for math-verify (what LUFFY's reward uses: ``verify(parse("$" + gold +
"$"), parse(solution))``) when it is importable -- it is not a requirement; install it into a
separate environment for the comparison. Then the worker pool (``score_batch``) grades both sets
with its 5 s hard limit and reports throughput and timeouts, and one worker grades the labelled
cases one per call (end-to-end latency with the hard limit). Prints one JSON object.

    python experiments/benchmarks/reward.py [--shared_data PATH] [--workers N] [--repeats R]

The machine's load average is recorded at the start and the end: latency on a shared,
loaded machine is higher than on an idle one.
"""

from __future__ import annotations

import argparse
import collections
import gc
import importlib.util
import json
import os
import pathlib
import platform
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # run from anywhere without installing the package

from luffy_jax.rewards import (
    RewardPool,
    equivalence,
    latex_parse,
    math_reward,
    score_batch,
    structure,
    symbolic,
    units,
)

CASES_FILE = REPO / "tests" / "rewards" / "judge_cases.py"


def load_cases() -> list:
    """The labelled cases (loaded by path: they are test data, not part of the package)."""
    spec = importlib.util.spec_from_file_location("judge_cases", CASES_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["judge_cases"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return list(module.CASES)


def load_rollouts(shared: pathlib.Path) -> tuple[list[str], list[str], list[bool]]:
    real = {}
    with open(shared / "benchmarks" / "math500.jsonl") as f:
        for line in f:
            row = json.loads(line)
            real[row["problem"].strip()] = row["answer"]
    responses, golds, verdicts = [], [], []
    for bench in ("aime24", "amc23", "math500"):
        with open(shared / "rollouts" / f"qwen2.5-math-7b_greedy_{bench}.jsonl") as f:
            for line in f:
                row = json.loads(line)
                responses.append("</think>" + row["response"])
                golds.append(real.get(row["problem"].strip(), row["answer"]))
                verdicts.append(bool(row["correct"]))
    return responses, golds, verdicts


def clear_caches() -> None:
    """Forget every parse and verdict, so a pass measures first-time work."""
    equivalence._math_equal.cache_clear()
    structure.parse_node.cache_clear()
    symbolic.to_sympy.cache_clear()
    symbolic.signature.cache_clear()
    latex_parse._parse_cached.cache_clear()
    units.split_quantity.cache_clear()
    units.parse_unit.cache_clear()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency_ms(latencies: list[float]) -> dict:
    return {
        "p50": round(1e3 * percentile(latencies, 0.50), 2),
        "p90": round(1e3 * percentile(latencies, 0.90), 2),
        "p99": round(1e3 * percentile(latencies, 0.99), 2),
        "max": round(1e3 * max(latencies), 2),
        "over_100ms": sum(x > 0.1 for x in latencies),
        "over_1s": sum(x > 1.0 for x in latencies),
    }


def ours(response: str, gold: str) -> bool:
    return math_reward(response, gold) == 1.0


def math_verify_judge():
    """LUFFY's v3 reward with math-verify, or None when math-verify is not installed."""
    try:
        from math_verify import parse, verify
    except ImportError:
        return None

    def judge(response: str, gold: str) -> bool:
        if "</think>" not in response:
            return False
        solution = response.split("</think>")[1]
        try:
            return bool(verify(parse("$" + gold + "$"), parse(solution)))
        except Exception:  # noqa: BLE001 -- math-verify's own failures count as wrong
            return False

    return judge


def timed(judge, responses: list[str], golds: list[str]) -> tuple[list[bool], list[float]]:
    verdicts, latencies = [], []
    for response, gold in zip(responses, golds):
        start = time.perf_counter()
        verdicts.append(judge(response, gold))
        latencies.append(time.perf_counter() - start)
    return verdicts, latencies


def case_report(cases, verdicts: list[bool], latencies: list[float]) -> dict:
    by_kind = collections.defaultdict(list)
    for case, verdict, latency in zip(cases, verdicts, latencies):
        by_kind[case.kind].append((case, verdict, latency))

    def summary(rows) -> dict:
        right = sum(verdict == case.correct for case, verdict, _ in rows)
        return {
            "n": len(rows),
            "accuracy": round(right / len(rows), 4),
            "false_positives": sum(verdict and not case.correct for case, verdict, _ in rows),
            "false_negatives": sum(case.correct and not verdict for case, verdict, _ in rows),
            "latency_ms": latency_ms([latency for *_, latency in rows]),
        }

    rows = [row for kind_rows in by_kind.values() for row in kind_rows]
    wrong = [
        {"kind": c.kind, "gold": c.gold, "response": c.response[-160:], "label": c.correct}
        for c, v, _ in rows
        if v != c.correct
    ]
    return {
        "all": summary(rows),
        "hard": summary([row for row in rows if row[0].hard]),
        "worst_kind_accuracy": min(summary(r)["accuracy"] for r in by_kind.values()),
        "by_kind": {kind: summary(kind_rows) for kind, kind_rows in by_kind.items()},
        "misjudged": wrong[:40],
    }


def rollout_report(verdicts: list[bool], harness: list[bool], latencies: list[float]) -> dict:
    return {
        "n": len(verdicts),
        "agreement_with_harness": round(
            sum(v == h for v, h in zip(verdicts, harness)) / len(verdicts), 4
        ),
        "accepted_harness_rejected": sum(v and not h for v, h in zip(verdicts, harness)),
        "rejected_harness_accepted": sum(h and not v for v, h in zip(verdicts, harness)),
        "responses_per_s": round(len(latencies) / sum(latencies), 1),
        "latency_ms": latency_ms(latencies),
    }


def main() -> None:
    default_shared = REPO.parent / "shared" / "data"
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared_data", type=pathlib.Path, default=default_shared)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=1, help="passes over each set")
    parser.add_argument("--skip_math_verify", action="store_true")
    args = parser.parse_args()

    load_start = os.getloadavg()
    cases = load_cases()
    case_responses = ["</think>" + c.response for c in cases]
    case_golds = [c.gold for c in cases]
    responses, golds, harness = load_rollouts(args.shared_data)

    start = time.perf_counter()
    equivalence.warm_up()  # what every pool worker does before it reports ready ...
    warm_up_s = time.perf_counter() - start
    gc.collect()
    gc.freeze()  # ... and this (pool._worker_main), so no full collection lands on a case

    result: dict = {
        "benchmark": "reward",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1_5_15_at_start": [round(x, 2) for x in load_start],
        },
        "labelled_cases": len(cases),
        "rollouts": len(responses),
        "mean_rollout_chars": round(statistics.mean(len(r) for r in responses)),
        "warm_up_s": round(warm_up_s, 2),
    }
    judges = {"luffy_jax": ours}
    mv = None if args.skip_math_verify else math_verify_judge()
    if mv is not None:
        judges["math_verify"] = mv
    else:
        result["math_verify"] = "not installed (or --skip_math_verify)"
    for name, judge in judges.items():
        case_verdicts, case_latencies, roll_verdicts, roll_latencies = [], [], [], []
        for _ in range(args.repeats):
            clear_caches()
            v, lat = timed(judge, case_responses, case_golds)
            case_verdicts += v
            case_latencies += lat
            clear_caches()
            v, lat = timed(judge, responses, golds)
            roll_verdicts += v
            roll_latencies += lat
        result[name] = {
            "labelled": case_report(cases * args.repeats, case_verdicts, case_latencies),
            "rollouts": rollout_report(roll_verdicts, harness * args.repeats, roll_latencies),
        }

    start = time.perf_counter()
    score_batch(responses[:8], golds[:8], workers=args.workers)  # pool start-up, not timed below
    pool = {"workers": args.workers, "startup_s": round(time.perf_counter() - start, 2)}
    for name, (rs, gs) in {
        "labelled": (case_responses, case_golds),
        "rollouts": (responses, golds),
    }.items():
        start = time.perf_counter()
        _, stats = score_batch(rs, [g + " " for g in gs], workers=args.workers, timeout_s=5.0)
        pool[name] = {
            "responses_per_s": round(len(rs) / (time.perf_counter() - start), 1),
            **{k: stats[k] for k in ("timeouts", "crashes", "errors", "restarts")},
        }
    # one case per call through a worker with the 5 s hard limit: the latency an ordinary
    # answer sees end to end (pipe round trip included); no case should need the limit
    with RewardPool(1) as single:
        single.score(case_responses[:2], case_golds[:2])  # start-up and warm-up
        latencies, timeouts = [], 0
        for response, gold in zip(case_responses, case_golds):
            start = time.perf_counter()
            _, stats = single.score([response], [gold + "  "], timeout_s=5.0)
            latencies.append(time.perf_counter() - start)
            timeouts += stats["timeouts"]
    pool["labelled_one_case_per_call"] = {"latency_ms": latency_ms(latencies), "timeouts": timeouts}
    result["pool"] = pool
    result["machine"]["load_average_1_5_15_at_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
