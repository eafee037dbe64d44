"""Agreement of three graders: our judge (``reward.judge=ours``), math-verify (the official judge,
``reward.judge=math_verify``) and the strict boxed grader (final evaluation), on the shared greedy
rollouts of Qwen2.5-Math-7B (``../shared/data/rollouts``: no ``</think>``, so the judges grade the
whole response: our ``math_nothink`` rule and math-verify's v4 rule) and on hand-written cases in
the v3 format (``...</think> answer``). Prints JSON: counts, pairwise agreement, every
disagreement.

    python experiments/benchmarks/judge_agreement.py [--rollouts=../shared/data/rollouts]
        [--out=verdicts.json]

Every grader runs in the bounded worker pool (20 s per item; a timeout scores 0 and is reported on
stderr). Run it once per math-verify version (the official pin 0.6.0 needs latex2sympy2_extended 1.0.9,
so it lives in its own environment) and compare the ``verdicts`` files.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# (id, response after the prompt's "<think>\n", gold). Written for this benchmark: the issue's
# examples and the answer forms of LUFFY's benchmarks (spec 4.3).
CASES = [
    ("sci_notation", "a</think> The energy is $4.5\\times10^{33}$ erg.", "4.5e33"),
    ("sci_notation_boxed", "a</think> \\boxed{4.5 \\times 10^{33}}", "4.5e33"),
    ("power_off_by_one", "a</think> \\boxed{\\frac{1}{2^{99}}}", "\\frac{1}{2^{98}}"),
    ("unboxed_final_number", "a</think> So the result is 8", "8"),
    ("unboxed_sentence", "a</think> We get 3 apples and 5 pears, so 5.", "5"),
    ("aime_zero_padded", "a</think> \\boxed{25}", "025"),
    ("amc_float_gold", "a</think> \\boxed{142}", "142.0"),
    ("fraction_vs_decimal", "a</think> \\boxed{\\frac{1}{2}}", "0.5"),
    ("approximation", "a</think> \\boxed{1.414}", "\\sqrt{2}"),
    ("sqrt_exact", "a</think> \\boxed{\\sqrt{2}}", "\\sqrt{2}"),
    ("tuple", "a</think> \\boxed{(3, \\frac{\\pi}{2})}", "\\left( 3, \\frac{\\pi}{2} \\right)"),
    (
        "tuple_swapped",
        "a</think> \\boxed{(\\frac{\\pi}{2}, 3)}",
        "\\left( 3, \\frac{\\pi}{2} \\right)",
    ),
    ("interval", "a</think> \\boxed{[2, 5)}", "[2,5)"),
    ("interval_wrong_bracket", "a</think> \\boxed{[2, 5]}", "[2,5)"),
    ("degrees", "a</think> \\boxed{90^\\circ}", "90^\\circ"),
    ("degrees_plain", "a</think> \\boxed{90}", "90^\\circ"),
    ("text_answer", "a</think> \\boxed{\\text{Evelyn}}", "\\text{Evelyn}"),
    ("equation_rhs", "a</think> \\boxed{x = 7}", "7"),
    ("set_order", "a</think> \\boxed{3, 1, 2}", "1, 2, 3"),
    ("pm", "a</think> \\boxed{\\pm 2}", "2, -2"),
    ("hedge_two_boxes", "a</think> \\boxed{2} or \\boxed{3}", "3"),
    ("self_correction", "a</think> \\boxed{2}. Wait, no: the answer is \\boxed{3}", "3"),
    ("percent", "a</think> \\boxed{50\\%}", "50"),
    ("multiple_choice", "a</think> ANSWER: C", "C"),
    ("dollar_gold", "a</think> \\boxed{2^{1009}}", "$2^{1009}$"),
    ("no_think", "\\boxed{204}", "204"),
    ("second_think", "a</think> \\boxed{3}</think> \\boxed{4}", "4"),
    ("units_word", "a</think> \\boxed{12 \\text{ cm}}", "12"),
    ("large_integer", "a</think> \\boxed{1000000007}", "1000000007"),
    ("negative", "a</think> \\boxed{-4}", "-4.0"),
    ("expression", "a</think> \\boxed{\\frac{x^2-1}{x-1}}", "x+1"),
    ("matrix", "a</think> \\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", "(1,2)"),
]


def _grade(kind: str, responses: list[str], golds: list[str]) -> list[float]:
    from luffy_jax.rewards import RewardConfig, score_with

    scores, stats = score_with(RewardConfig(kind, 20.0, 2), responses, golds)
    print(f"# {kind}: {len(responses)} graded in {stats['total_s']:.0f} s", file=sys.stderr)
    if stats["timeouts"] or stats["errors"] or stats["crashes"]:
        print(f"# {kind}: {stats}", file=sys.stderr)
    return scores.tolist()


def _mv_nothink(kind: str, response: str, gold: str) -> float:
    """math-verify on the whole response (the official v4 rule), run in the pool's workers."""
    from luffy_jax.rewards.math_verify_judge import math_verify_reward

    return math_verify_reward(response, gold, require_think=False)


def _grade_mv_nothink(responses: list[str], golds: list[str]) -> list[float]:
    from luffy_jax.rewards import RewardPool

    with RewardPool(2, grade_fn=_mv_nothink) as pool:
        scores, stats = pool.score(responses, golds, kind="math_verify", timeout_s=20.0)
    if stats["timeouts"] or stats["errors"] or stats["crashes"]:
        print(f"# math_verify (whole response): {stats}", file=sys.stderr)
    return scores


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollouts", default="../shared/data/rollouts")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    import math_verify

    version = getattr(math_verify, "__version__", None)
    if version is None:
        from importlib.metadata import version as pkg_version

        version = pkg_version("math-verify")
    rows = []
    for path in sorted(glob.glob(os.path.join(args.rollouts, "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    ids = [r["id"] for r in rows] + [c[0] for c in CASES]
    responses = [r["response"] for r in rows]
    golds = [r["answer"] for r in rows]
    n_roll = len(rows)
    case_resp, case_gold = [c[1] for c in CASES], [c[2] for c in CASES]
    ours = _grade("math_nothink", responses, golds) + _grade("math", case_resp, case_gold)
    boxed = _grade("boxed", responses + case_resp, golds + case_gold)
    mv = _grade_mv_nothink(responses, golds)
    mv += _grade("math_verify", case_resp, case_gold)
    harness = [float(r["correct"]) for r in rows]
    verdicts = {
        i: {"ours": o, "math_verify": m, "boxed": b} for i, o, m, b in zip(ids, ours, mv, boxed)
    }
    for i, h in zip(ids, harness):
        verdicts[i]["harness"] = h

    def agree(a: str, b: str, part: slice) -> dict:
        keys = ids[part]
        same = sum(verdicts[k][a] == verdicts[k][b] for k in keys)
        return {"agree": same, "n": len(keys)}

    roll, case = slice(0, n_roll), slice(n_roll, None)
    pairs = [("ours", "math_verify"), ("ours", "boxed"), ("math_verify", "boxed")]
    summary = {
        "math_verify_version": version,
        "rollouts": {f"{a}~{b}": agree(a, b, roll) for a, b in pairs}
        | {f"{k}~harness": agree(k, "harness", roll) for k in ("ours", "math_verify", "boxed")},
        "cases": {f"{a}~{b}": agree(a, b, case) for a, b in pairs},
        "accuracy_rollouts": {
            k: sum(verdicts[i][k] for i in ids[roll]) / n_roll
            for k in ("ours", "math_verify", "boxed", "harness")
        },
        "disagreements": [
            {"id": i, **verdicts[i], "gold": g, "tail": r[-160:]}
            for i, r, g in zip(ids, responses + case_resp, golds + case_gold)
            if len({verdicts[i]["ours"], verdicts[i]["math_verify"], verdicts[i]["boxed"]}) > 1
        ],
    }
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            json.dump({"summary": summary, "verdicts": verdicts}, f, indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
