"""LUFFY vs its baselines on the synthetic task, several seeds, in- and out-of-distribution.

    python experiments/synthetic_comparison.py --workdir=/tmp/luffy_comparison [--seeds=3] [--rl_steps=N]

Methods: LUFFY, on-policy GRPO, SFT (on the teacher traces), RL with an SFT loss, and LUFFY
without policy shaping (plain importance weight ``p`` on trace tokens). All start from the same
base policy (briefly pretrained on worked solutions, as in ``luffy_jax.quickstart``) and see the
same prompts and traces; the seed changes sampling and data order. Writes ``results.md``, ``results.json``,
``curves.png`` (every run) and ``entropy.png`` into the workdir. Finished runs are not re-run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time

import numpy as np
from absl import app, flags

from luffy_jax.plot import plot_runs
from luffy_jax.synthetic import FULL, prepare_files, run_config
from luffy_jax.synthetic.evaluation import accuracy, pretrain_base
from luffy_jax.trainer import read_metrics, run_training

METHODS = ("luffy", "on_policy_grpo", "sft", "rl_with_sft_loss", "luffy_no_shaping")
LABELS = {
    "luffy": "LUFFY",
    "on_policy_grpo": "On-policy GRPO",
    "sft": "SFT",
    "rl_with_sft_loss": "RL w/ SFT loss",
    "luffy_no_shaping": "LUFFY w/o shaping",
}

_WORKDIR = flags.DEFINE_string("workdir", "/tmp/luffy_comparison", "Output folder.")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds per method.")
_RL_STEPS = flags.DEFINE_integer("rl_steps", FULL.rl_steps, "Training steps per run.")
_METHODS = flags.DEFINE_list("methods", list(METHODS), "Methods to compare.")


def _last(records, key):
    vals = [r[key] for r in records if r.get(key) is not None]
    return float(np.mean(vals[-5:])) if vals else None


def main(argv) -> None:
    del argv
    scale = dataclasses.replace(FULL, rl_steps=_RL_STEPS.value)
    root = _WORKDIR.value
    t0 = time.monotonic()
    files = prepare_files(os.path.join(root, "data"), scale, seed=0)
    base = pretrain_base(files, scale, seed=0)
    base_acc = accuracy(files, hf_model=base, seed=0)
    results = {
        "base": {"id": base_acc["id"], "ood": base_acc["ood"]},
        "runs": {},
        "rl_steps": scale.rl_steps,
    }
    for method in _METHODS.value:
        for seed in range(_SEEDS.value):
            name = f"{method}_seed{seed}"
            run_dir = os.path.join(root, "runs", name)
            done = os.path.join(run_dir, "accuracy.json")
            if not os.path.isfile(done):
                run_training(run_config(files, method, scale=scale, seed=seed), run_dir)
                acc = accuracy(files, workdir=run_dir, seed=seed)
                with open(done, "w") as f:
                    json.dump({"id": acc["id"], "ood": acc["ood"]}, f)
            with open(done) as f:
                acc = json.load(f)
            records = read_metrics(run_dir)
            acc["final_entropy"] = _last(records, "actor/entropy_loss")
            results["runs"][name] = {"method": method, "seed": seed, **acc}
            print(f"{name}: {acc}", flush=True)
    rows = []
    for method in _METHODS.value:
        runs = [r for r in results["runs"].values() if r["method"] == method]
        row = {"method": method}
        for k in ("id", "ood", "final_entropy"):
            vals = [r[k] for r in runs if r[k] is not None]
            row[k] = (float(np.mean(vals)), float(np.std(vals))) if vals else None
        rows.append(row)
    results["summary"] = rows
    results["seconds"] = time.monotonic() - t0
    with open(os.path.join(root, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
    fmt = lambda v: "n/a" if v is None else f"{v[0]:.3f} ± {v[1]:.3f}"  # noqa: E731
    lines = [
        f"| method ({_SEEDS.value} seeds, {scale.rl_steps} steps) | in-distribution acc. | out-of-distribution acc. | final entropy |",
        "| --- | --- | --- | --- |",
        f"| base policy | {base_acc['id']:.3f} | {base_acc['ood']:.3f} | |",
    ]
    lines += [
        f"| {LABELS[r['method']]} | {fmt(r['id'])} | {fmt(r['ood'])} | {fmt(r['final_entropy'])} |"
        for r in rows
    ]
    table = "\n".join(lines) + "\n"
    with open(os.path.join(root, "results.md"), "w") as f:
        f.write(table)
    seed0 = [m for m in _METHODS.value if os.path.isdir(os.path.join(root, "runs", f"{m}_seed0"))]
    dirs = [os.path.join(root, "runs", f"{m}_seed0") for m in seed0]
    labels = [LABELS[m] for m in seed0]
    plot_runs(dirs, os.path.join(root, "curves.png"), labels, title="synthetic task, seed 0")
    plot_runs(
        dirs,
        os.path.join(root, "entropy.png"),
        labels,
        panels=(
            ("actor/entropy_loss", "entropy (token mean)"),
            ("val/avg_score", "validation accuracy (ID subset)"),
        ),
        title="entropy and validation accuracy, seed 0",
    )
    print(table)
    print(f"total {results['seconds']:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    app.run(main)
