"""experiments/synthetic_comparison.py: the sweep's choice and the paper's claims as reported."""

import pytest

from experiments import synthetic_comparison as C


def _runs(method_values: dict[str, list[float]], key: str = "id") -> dict:
    return {
        f"{m}_seed{s}": {"method": m, "seed": s, key: v}
        for m, values in method_values.items()
        for s, v in enumerate(values)
    }


def test_choose_takes_best_validation_and_first_on_ties():
    grid = [
        {"lr": "1e-4", "gamma": "0.1", "validation": 0.2, "final_entropy": None},
        {"lr": "3e-4", "gamma": "0.01", "validation": 0.3, "final_entropy": 0.5},
        {"lr": "6e-4", "gamma": "0.1", "validation": 0.3, "final_entropy": 0.4},
    ]
    assert C.choose(grid) == (3e-4, 0.01)
    with pytest.raises(ValueError, match="empty"):
        C.choose([])
    md = C.grid_markdown(grid)
    assert md.count("\n") == 5 and "| 1e-4 | 0.1 | 0.200 | - |" in md and "0.500" in md


def test_claims_say_holds_mixed_and_does_not_hold_with_the_paired_differences():
    runs = _runs({"luffy": [0.5, 0.4, 0.3], "on_policy_grpo": [0.2, 0.2, 0.2]})
    runs.update(_runs({"sft": [0.6, 0.3, 0.4]}))
    for r in runs.values():
        r["ood"] = r["final_entropy"] = r["id"]
    lines = C.claims(runs, seeds=3)
    assert "holds -- mean difference +0.200, LUFFY ahead in 3 of 3 seeds" in lines[0]
    assert "mixed -- mean difference -0.033, LUFFY ahead in 1 of 3 seeds" in lines[2]
    assert "not measured" in lines[4]  # no LUFFY-without-shaping runs
    worse = _runs({"luffy": [0.1, 0.1], "on_policy_grpo": [0.2, 0.3]})
    for r in worse.values():
        r["ood"] = r["id"]
    assert "does not hold -- mean difference -0.150, LUFFY ahead in 0 of 2" in C.claims(worse, 2)[0]
