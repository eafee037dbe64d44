"""Reward benchmark: latency per case in-process and responses/second through the worker pool.

Uses the Qwen2.5-Math-7B greedy rollouts in ../shared/data/rollouts (570 realistic responses,
about 3.6k characters each) with the real MATH-500 golds. Prints one JSON object.

    python experiments/benchmarks/reward.py [--shared_data PATH] [--workers N] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import time

from luffy_jax.rewards import equivalence, math_reward, score_batch


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
    equivalence._math_equal.cache_clear()
    equivalence._to_sympy.cache_clear()
    equivalence.parse_node.cache_clear()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    default_shared = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared_data", type=pathlib.Path, default=default_shared)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    responses, golds, verdicts = load_rollouts(args.shared_data)
    math_reward("</think>\\boxed{\\frac{\\sqrt{2}}{2}+x}", "x")  # import sympy and the parser

    latencies, scores = [], []
    for _ in range(args.repeats):
        clear_caches()
        for response, gold in zip(responses, golds):
            start = time.perf_counter()
            scores.append(math_reward(response, gold))
            latencies.append(time.perf_counter() - start)
    in_process_s = sum(latencies)
    agree = sum(float(v) == s for v, s in zip(verdicts * args.repeats, scores))

    start = time.perf_counter()
    score_batch(responses[:8], golds[:8], workers=args.workers)  # pool start-up, not timed below
    startup_s = time.perf_counter() - start
    pool_rates = []
    for _ in range(args.repeats):
        # distinct gold strings per pass so the workers' caches do not serve repeats
        suffix = " " * (len(pool_rates) + 1)
        start = time.perf_counter()
        _, stats = score_batch(responses, [g + suffix for g in golds], workers=args.workers)
        pool_rates.append(len(responses) / (time.perf_counter() - start))

    print(
        json.dumps(
            {
                "benchmark": "reward",
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "cases": len(responses),
                "mean_response_chars": round(statistics.mean(len(r) for r in responses)),
                "in_process": {
                    "responses_per_s": round(len(latencies) / in_process_s, 1),
                    "p50_ms": round(1e3 * percentile(latencies, 0.50), 3),
                    "p90_ms": round(1e3 * percentile(latencies, 0.90), 3),
                    "p99_ms": round(1e3 * percentile(latencies, 0.99), 3),
                    "max_ms": round(1e3 * max(latencies), 3),
                    "agreement_with_harness": round(agree / len(scores), 4),
                },
                "pool": {
                    "workers": args.workers,
                    "startup_s": round(startup_s, 2),
                    "responses_per_s": [round(r, 1) for r in pool_rates],
                    "last_stats": {k: v for k, v in stats.items() if k != "error_messages"},
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
