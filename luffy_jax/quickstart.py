"""The offline main job: LUFFY vs on-policy GRPO on a synthetic multi-step task, on a CPU.

    python -m luffy_jax.quickstart [--workdir=/tmp/luffy_quickstart] [--tiny]

1. builds a character tokenizer, the task's disjoint splits (in distribution: 2-4 operations; out
   of distribution: 5-6) and the teacher's traces, which work every operation;
2. pretrains a tiny Qwen2-shaped base with a weak habit: mostly short solutions (the first operation
   worked, then straight to the answer), 5% full traces -- right on short chains, rarely on long
   ones, and it seldom takes the teacher's full way on its own;
3. trains it with LUFFY (7 samples + 1 teacher trace per prompt, policy shaping) and, from the
   same base with the same seed and budget, with on-policy GRPO (8 samples), through
   ``luffy_jax.trainer.run_training`` -- the same code as real runs;
4. evaluates the three policies on the held-out test splits and writes ``results.md``,
   ``results.json`` and ``curves.png`` (the two runs' validation curves) into the workdir.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

from luffy_jax.synthetic import FULL, TINY, prepare_files, run_config
from luffy_jax.synthetic.evaluation import accuracy, final_metric, pretrain_base
from luffy_jax.synthetic.report import curves_figure, markdown_table, write_results
from luffy_jax.trainer import run_training

RUNS = (("luffy", "LUFFY"), ("on_policy_grpo", "on-policy GRPO"))


def _row(label: str, acc: dict, entropy: float | None) -> dict:
    return {
        "label": label,
        "id": acc["id"],
        "ood": acc["ood"],
        "entropy": entropy,
        "length": acc["id_length"],
        "worked": acc["id_worked"],
    }


def run_quickstart(workdir: str, *, tiny: bool = False, seed: int = 0) -> dict:
    """Runs the whole quickstart; returns the results (also written to ``results.json``)."""
    scale = TINY if tiny else FULL
    t0 = time.monotonic()
    files = prepare_files(os.path.join(workdir, "data"), scale, seed)
    base = pretrain_base(files, scale, seed)
    rows = [_row("base (short-solution habit)", accuracy(files, hf_model=base, seed=seed), None)]
    dirs = []
    for method, label in RUNS:
        run_dir = os.path.join(workdir, "runs", method)
        run_training(run_config(files, method, scale=scale, seed=seed), run_dir)
        acc = accuracy(files, workdir=run_dir, seed=seed)
        entropy = final_metric(run_dir, "actor/entropy_loss")
        rows.append({**_row(f"after {scale.rl_steps} {label} steps", acc, entropy), "run": method})
        dirs.append(run_dir)
    curves = curves_figure(
        dirs,
        [label for _, label in RUNS],
        os.path.join(workdir, "curves.png"),
        title=f"LUFFY vs on-policy GRPO, same base and budget (seed {seed})",
    )
    seconds = time.monotonic() - t0
    results = {"rows": rows, "seconds": seconds, "rl_steps": scale.rl_steps, "seed": seed}
    md = (
        "# LUFFY quickstart (synthetic multi-step arithmetic)\n\n"
        + markdown_table(rows)
        + "\nAccuracy: strict boxed grading, one sample per problem at T=0.6, on "
        f"{scale.eval_problems} + {scale.eval_problems} held-out test problems. Final entropy: "
        "token mean of the training batch over the last 5 steps. Response length (tokens) and "
        "'works every step' (the share of responses that write one line per operation, the "
        "teacher's way): in distribution. "
        f"Curves: `{os.path.basename(curves)}`. Wall time: {seconds:.0f} s.\n"
    )
    write_results(workdir, results, md)
    print(md)
    return results


def main(argv: Sequence[str]) -> None:
    del argv
    from absl import flags

    logging.getLogger("luffy_jax").setLevel(logging.INFO)
    f = flags.FLAGS
    run_quickstart(f.workdir, tiny=f.tiny, seed=f.seed)


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("workdir", "/tmp/luffy_quickstart", "Output folder.")
    flags.DEFINE_bool("tiny", False, "A seconds-long version (the test suite's).")
    flags.DEFINE_integer("seed", 0, "Seed of the data, the base policy and the runs.")
    app.run(main)
