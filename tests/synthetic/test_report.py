"""The synthetic reproduction's report writer: tables, results files, curves."""

import json

import pytest

from luffy_jax.synthetic.report import (
    COLUMNS,
    curves_figure,
    markdown_table,
    mean_std,
    write_results,
)


def test_markdown_table_formats_floats_pairs_and_missing_cells():
    md = markdown_table(
        [
            {"label": "base", "id": 0.2, "ood": 0.1, "length": 24.25, "worked": 0.05},
            {"label": "LUFFY", "id": (0.8, 0.01), "ood": 0.125, "entropy": 0.03, "length": 31.4},
        ],
        first="method",
    )
    lines = md.strip().split("\n")
    assert lines[0].startswith("| method | in-distribution acc. (2-4 ops) |")
    assert lines[1] == "| --- |" + " --- |" * len(COLUMNS)
    assert lines[2] == "| base | 0.200 | 0.100 | - | 24.2 | 0.050 |"
    assert lines[3] == "| LUFFY | 0.800 ± 0.010 | 0.125 | 0.030 | 31.4 | - |"


def test_mean_std_skips_missing_values():
    runs = [{"id": 0.2}, {"id": 0.4}, {"id": None}, {}]
    assert mean_std(runs, "id") == pytest.approx((0.3, 0.1))
    assert mean_std(runs, "ood") is None


def test_write_results_and_curves(tmp_path):
    js, md = write_results(str(tmp_path / "out"), {"rows": [{"id": 0.5}]}, "# table\n")
    assert json.loads(open(js).read()) == {"rows": [{"id": 0.5}]}
    assert open(md).read() == "# table\n"
    dirs = []
    for name, acc in (("a", 0.2), ("b", 0.6)):
        d = tmp_path / name
        d.mkdir()
        rows = [
            {"step": s, "actor/entropy_loss": 1.0 / s, "response_length/mean": 20.0 + s}
            | ({"val/avg_score": acc * s / 4} if s % 2 == 0 else {})
            for s in range(1, 5)
        ]
        (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        dirs.append(str(d))
    out = curves_figure(dirs, ["A", "B"], str(tmp_path / "curves.png"), title="t")
    assert (tmp_path / "curves.png").stat().st_size > 10_000 and out.endswith("curves.png")
