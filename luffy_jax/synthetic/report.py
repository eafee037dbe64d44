"""Tables and figures of the synthetic reproduction (the quickstart's and the comparison's)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from luffy_jax.plot import plot_runs
from luffy_jax.synthetic.setup import ID_OPS, OOD_OPS

CURVE_PANELS = (
    ("val/avg_score", "validation accuracy (in distribution)"),
    ("actor/entropy_loss", "entropy (token mean)"),
    ("response_length/mean", "response length (tokens)"),
)
COLUMNS = (
    ("id", f"in-distribution acc. ({ID_OPS[0]}-{ID_OPS[1]} ops)"),
    ("ood", f"out-of-distribution acc. ({OOD_OPS[0]}-{OOD_OPS[1]} ops)"),
    ("entropy", "final entropy"),
    ("length", "response length"),
    ("worked", "works every step"),
)


def _cell(value: Any) -> str:
    """A table cell: ``-`` for None, ``m ± s`` for a (mean, std) pair, 3 decimals for a float
    below 1 and 1 decimal above."""
    if value is None:
        return "-"
    if isinstance(value, (tuple, list)):
        return f"{_cell(value[0])} ± {_cell(value[1])}"
    return f"{value:.3f}" if abs(value) < 1 else f"{value:.1f}"


def markdown_table(rows: Sequence[Mapping[str, Any]], first: str = "policy") -> str:
    """A markdown table with one row per ``rows`` item: its ``label`` then the :data:`COLUMNS`
    (each a float, a (mean, std) pair or None)."""
    lines = [
        f"| {first} | " + " | ".join(h for _, h in COLUMNS) + " |",
        "| --- |" + " --- |" * len(COLUMNS),
    ]
    for r in rows:
        lines.append(f"| {r['label']} | " + " | ".join(_cell(r.get(k)) for k, _ in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def mean_std(runs: Sequence[Mapping[str, Any]], key: str) -> tuple[float, float] | None:
    """``(mean, std)`` of ``key`` over the runs that have it (None if none does)."""
    vals = [r[key] for r in runs if r.get(key) is not None]
    return (float(np.mean(vals)), float(np.std(vals))) if vals else None


def curves_figure(
    workdirs: Sequence[str], labels: Sequence[str], out: str, title: str | None = None
) -> str:
    """The runs' validation accuracy, entropy and response length against the step."""
    return plot_runs(workdirs, out, labels, panels=CURVE_PANELS, title=title)


def write_results(folder: str, results: Mapping[str, Any], markdown: str) -> tuple[str, str]:
    """Writes ``results.json`` and ``results.md`` into ``folder``; returns their paths."""
    os.makedirs(folder, exist_ok=True)
    js, md = os.path.join(folder, "results.json"), os.path.join(folder, "results.md")
    with open(js, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    with open(md, "w", encoding="utf-8") as f:
        f.write(markdown)
    return js, md
