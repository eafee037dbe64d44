"""LUFFY vs its baselines on the synthetic task: a small sweep, then every method over seeds.

    python experiments/synthetic_comparison.py --workdir=/tmp/luffy_comparison \
        [--data=/tmp/luffy_quickstart/data] [--seeds=3] [--rl_steps=60] [--sweep_steps=60] \
        [--lrs=1.5e-4,3e-4,6e-4] [--gammas=0.01,0.1]

1. Data and base: ``--data`` reuses a folder written by the quickstart (same seed-0 splits and
   base); otherwise they are prepared under ``<workdir>/data``.
2. Sweep: LUFFY over ``--lrs`` x ``--gammas`` (seed 0, ``--sweep_steps`` steps), run by
   ``python -m luffy_jax.sweep`` with the preset ``luffy_jax/synthetic/preset.py``; each run is
   scored on the validation split (never the test splits) and the best (lr, gamma) is chosen.
   A single point (one lr, one gamma) skips the sweep and is used as given.
3. Comparison: LUFFY, on-policy GRPO, SFT (on the teacher traces), RL with an SFT loss and LUFFY
   without policy shaping, ``--seeds`` seeds each, all at the chosen lr (LUFFY's variants also at
   the chosen gamma), from the same base with the same prompts and traces; the seed changes
   sampling and data order.
4. Writes ``results.md`` (the grid, the table, the paper's three claims checked one by one),
   ``results.json`` and ``curves.png`` (seed 0 of every method). Finished runs are not re-run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

from luffy_jax import sweep
from luffy_jax.synthetic import FULL, METHODS, prepare_files, run_config
from luffy_jax.synthetic.evaluation import accuracy, final_metric, pretrain_base
from luffy_jax.synthetic.files import Files
from luffy_jax.synthetic.report import curves_figure, markdown_table, mean_std, write_results
from luffy_jax.trainer import run_training

LABELS = {
    "luffy": "LUFFY",
    "on_policy_grpo": "On-policy GRPO",
    "sft": "SFT",
    "rl_with_sft_loss": "RL w/ SFT loss",
    "luffy_no_shaping": "LUFFY w/o shaping",
}
PRESET = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "luffy_jax", "synthetic")

_WORKDIR = flags.DEFINE_string("workdir", "/tmp/luffy_comparison", "Output folder.")
_DATA = flags.DEFINE_string("data", None, "Reuse this prepared data folder (with base_model).")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds per method.")
_RL_STEPS = flags.DEFINE_integer("rl_steps", FULL.rl_steps, "Training steps per run.")
_SWEEP_STEPS = flags.DEFINE_integer("sweep_steps", FULL.rl_steps, "Steps per sweep run.")
_LRS = flags.DEFINE_list("lrs", ["1.5e-4", "3e-4", "6e-4"], "Sweep: learning rates.")
_GAMMAS = flags.DEFINE_list("gammas", ["0.01", "0.1"], "Sweep: shaping gammas.")
_METHODS = flags.DEFINE_list("methods", list(METHODS), "Methods to compare.")


def _cached(path: str, compute) -> dict:
    """``compute()``'s result, stored as JSON at ``path`` the first time."""
    if not os.path.isfile(path):
        with open(path, "w") as f:
            json.dump(compute(), f)
    with open(path) as f:
        return json.load(f)


def run_sweep(files: Files, root: str, steps: int) -> list[dict]:
    """LUFFY over the lr x gamma grid through ``luffy_jax.sweep``; validation accuracy per point."""
    preset = os.path.join(os.path.abspath(PRESET), "preset.py") + f":luffy,{files.root}"
    grid = [f"optim.lr={','.join(_LRS.value)}", f"loss.shaping_gamma={','.join(_GAMMAS.value)}"]
    sweep_root = os.path.join(root, "sweep")
    cmd = [sys.executable, "-m", "luffy_jax.sweep", f"--config={preset}"]
    cmd += [f"--grid={g}" for g in grid]
    cmd += ["--seeds=1", f"--workdir_root={sweep_root}", f"--max_steps={steps}"]
    points = sweep.expand(sweep.parse_grid(grid), 1)
    todo = [p for p in points if not os.path.isfile(_sweep_dir(sweep_root, p) + "/val.json")]
    if todo:
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)
    out = []
    for p in points:
        d = _sweep_dir(sweep_root, p)
        val = _cached(
            os.path.join(d, "val.json"),
            lambda d=d: accuracy(files, workdir=d, splits=("validation",)),
        )
        out.append(
            {
                "lr": p["optim.lr"],
                "gamma": p["loss.shaping_gamma"],
                "validation": val["validation"],
                "final_entropy": final_metric(d, "actor/entropy_loss"),
            }
        )
    return out


def choose(grid: list[dict]) -> tuple[float, float]:
    """The ``(lr, gamma)`` of the grid point with the best validation accuracy (first on ties)."""
    if not grid:
        raise ValueError("choose: empty sweep grid")
    best = max(grid, key=lambda g: g["validation"])
    return float(best["lr"]), float(best["gamma"])


def grid_markdown(grid: list[dict]) -> str:
    """The sweep as a markdown table: lr, gamma, validation accuracy, final entropy."""
    md = "| lr | shaping gamma | validation acc. | final entropy |\n| --- | --- | --- | --- |\n"
    for g in grid:
        ent = "-" if g["final_entropy"] is None else f"{g['final_entropy']:.3f}"
        md += f"| {g['lr']} | {g['gamma']} | {g['validation']:.3f} | {ent} |\n"
    return md


def _sweep_dir(sweep_root: str, point: dict) -> str:
    return os.path.join(sweep_root, ",".join(f"{k}={v}" for k, v in point.items()))


def _paired(runs: dict, a: str, b: str, key: str, seeds: int) -> tuple[float, int, int] | None:
    """Mean of ``a - b`` over seeds and in how many seeds ``a > b`` (of those both have)."""
    diffs = [
        runs[f"{a}_seed{s}"][key] - runs[f"{b}_seed{s}"][key]
        for s in range(seeds)
        if f"{a}_seed{s}" in runs and f"{b}_seed{s}" in runs
    ]
    if not diffs:
        return None
    return float(np.mean(diffs)), sum(d > 0 for d in diffs), len(diffs)


def claims(runs: dict, seeds: int) -> list[str]:
    """The paper's three claims, each with the measured differences (LUFFY minus the other)."""

    def say(a, b, key, what):
        p = _paired(runs, a, b, key, seeds)
        if p is None:
            return f"{what}: not measured (a method was not run)."
        mean, wins, n = p
        verdict = "holds" if wins == n and mean > 0 else "mixed" if wins else "does not hold"
        return (
            f"{what}: {verdict} -- mean difference {mean:+.3f}, "
            f"{LABELS[a]} ahead in {wins} of {n} seeds."
        )

    return [
        "1. " + say("luffy", "on_policy_grpo", "id", "LUFFY > on-policy GRPO, in distribution"),
        "   "
        + say("luffy", "on_policy_grpo", "ood", "LUFFY > on-policy GRPO, out of distribution"),
        "2. " + say("luffy", "sft", "id", "LUFFY > SFT, in distribution"),
        "   " + say("luffy", "sft", "ood", "LUFFY > SFT, out of distribution"),
        "3. "
        + say(
            "luffy",
            "luffy_no_shaping",
            "final_entropy",
            "Entropy kept higher with shaping (LUFFY vs LUFFY w/o shaping, final entropy)",
        ),
        "   " + say("luffy", "luffy_no_shaping", "id", "...and accuracy (in distribution)"),
    ]


def main(argv) -> None:
    del argv
    scale = dataclasses.replace(FULL, rl_steps=_RL_STEPS.value)
    root = os.path.abspath(_WORKDIR.value)
    os.makedirs(root, exist_ok=True)
    t0 = time.monotonic()
    if _DATA.value:
        files = Files(os.path.abspath(_DATA.value))
    else:
        files = prepare_files(os.path.join(root, "data"), scale, seed=0)
    base = pretrain_base(files, scale, seed=0)
    base_acc = _cached(
        os.path.join(root, "base_accuracy.json"), lambda: accuracy(files, hf_model=base)
    )
    if len(_LRS.value) * len(_GAMMAS.value) == 1:  # one point: nothing to choose, no sweep
        grid, lr, gamma = [], float(_LRS.value[0]), float(_GAMMAS.value[0])
    else:
        grid = run_sweep(files, root, _SWEEP_STEPS.value)
        lr, gamma = choose(grid)
    print(f"sweep: {grid}\nchosen lr={lr} gamma={gamma}", flush=True)
    runs = {}
    for method in _METHODS.value:
        for seed in range(_SEEDS.value):
            name = f"{method}_seed{seed}"
            run_dir = os.path.join(root, "runs", name)

            def train_and_score(method=method, seed=seed, run_dir=run_dir):
                c = run_config(files, method, scale=scale, seed=seed)
                c.optim.lr, c.loss.shaping_gamma = lr, gamma
                run_training(c, run_dir)
                return accuracy(files, workdir=run_dir, seed=seed)

            os.makedirs(run_dir, exist_ok=True)
            acc = _cached(os.path.join(run_dir, "accuracy.json"), train_and_score)
            runs[name] = {
                "method": method,
                "seed": seed,
                "id": acc["id"],
                "ood": acc["ood"],
                "length": acc["id_length"],
                "worked": acc["id_worked"],
                "final_entropy": final_metric(run_dir, "actor/entropy_loss"),
            }
            print(f"{name}: {runs[name]}", flush=True)
    rows = [
        {
            "label": "base policy",
            "id": base_acc["id"],
            "ood": base_acc["ood"],
            "length": base_acc["id_length"],
            "worked": base_acc["id_worked"],
        }
    ]
    for method in _METHODS.value:
        mine = [r for r in runs.values() if r["method"] == method]
        row = {"label": LABELS[method], "method": method}
        for k in ("id", "ood", "length", "worked"):
            row[k] = mean_std(mine, k)
        row["entropy"] = mean_std(mine, "final_entropy")
        rows.append(row)
    seconds = time.monotonic() - t0
    sweep_md = (
        grid_markdown(grid) + f"\nChosen: lr {lr:g}, gamma {gamma:g}.\n\n"
        if grid
        else f"Not run: one point was given (lr {lr:g}, gamma {gamma:g}).\n\n"
    )
    md = (
        "# LUFFY vs baselines on the synthetic task\n\n"
        f"Configuration that ran: sweep {len(grid)} LUFFY runs x {_SWEEP_STEPS.value} steps "
        f"(seed 0); comparison {len(_METHODS.value)} methods x {_SEEDS.value} seeds x "
        f"{scale.rl_steps} steps at lr {lr:g}, shaping gamma {gamma:g}; "
        f"{scale.prompts_per_step} prompts x {scale.n} rows per step. Wall time {seconds:.0f} s.\n\n"
        "## Sweep (LUFFY, picked by validation accuracy)\n\n"
        + sweep_md
        + "## Comparison (mean ± std over seeds; test splits)\n\n"
        + markdown_table(rows, first="method")
        + "\n## The paper's claims, as they came out\n\n"
        + "\n".join(claims(runs, _SEEDS.value))
        + "\n"
    )
    results = {
        "sweep": grid,
        "chosen": {"lr": lr, "gamma": gamma},
        "base": {k: base_acc[k] for k in ("id", "ood", "id_length", "id_worked")},
        "runs": runs,
        "summary": rows,
        "seeds": _SEEDS.value,
        "rl_steps": scale.rl_steps,
        "sweep_steps": _SWEEP_STEPS.value,
        "seconds": seconds,
    }
    write_results(root, results, md)
    seed0 = [m for m in _METHODS.value if f"{m}_seed0" in runs]
    curves_figure(
        [os.path.join(root, "runs", f"{m}_seed0") for m in seed0],
        [LABELS[m] for m in seed0],
        os.path.join(root, "curves.png"),
        title="synthetic task, seed 0",
    )
    print(md)
    print(f"total {seconds:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    app.run(main)
