"""The offline main job: LUFFY on a synthetic multi-step arithmetic task, on a CPU, in minutes.

    python -m luffy_jax.quickstart [--workdir=/tmp/luffy_quickstart] [--tiny]

1. builds a character tokenizer, the task's splits (in-distribution: 2-4 operations; out of
   distribution: 5-6) and teacher traces with worked steps;
2. pretrains a tiny Qwen2-shaped policy briefly on worked solutions (120 steps: it half learns
   them and solves about one problem in ten), so RL starts from a weak base;
3. trains it with LUFFY (7 samples + 1 teacher trace per prompt, policy shaping) through
   ``luffy_jax.train.run_training`` -- the same code as real runs;
4. evaluates before and after, and writes ``results.md`` and ``curves.png`` into the workdir.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence

from luffy_jax.plot import plot_runs
from luffy_jax.synthetic import FULL, TINY, prepare_files, run_config
from luffy_jax.synthetic.evaluation import accuracy, pretrain_base
from luffy_jax.synthetic.setup import ID_OPS, OOD_OPS
from luffy_jax.trainer import run_training


def run_quickstart(workdir: str, *, tiny: bool = False, seed: int = 0) -> dict:
    """Runs the whole quickstart; returns the results (also written to ``results.json``)."""
    scale = TINY if tiny else FULL
    t0 = time.monotonic()
    files = prepare_files(os.path.join(workdir, "data"), scale, seed)
    base = pretrain_base(files, scale, seed)
    before = accuracy(files, hf_model=base, seed=seed)
    run_dir = os.path.join(workdir, "runs", "luffy")
    run_training(run_config(files, "luffy", scale=scale, seed=seed), run_dir)
    after = accuracy(files, workdir=run_dir, seed=seed)
    curves = plot_runs(
        [run_dir],
        os.path.join(workdir, "curves.png"),
        ["luffy"],
        title="LUFFY on the synthetic task",
    )
    results = {
        "before": {"id": before["id"], "ood": before["ood"]},
        "after": {"id": after["id"], "ood": after["ood"]},
        "seconds": time.monotonic() - t0,
        "rl_steps": scale.rl_steps,
        "example_after": after["id_samples"][0],
    }
    with open(os.path.join(workdir, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    table = (
        "# LUFFY quickstart (synthetic multi-step arithmetic)\n\n"
        f"| policy | in-distribution ({ID_OPS[0]}-{ID_OPS[1]} ops) "
        f"| out-of-distribution ({OOD_OPS[0]}-{OOD_OPS[1]} ops) |\n"
        "| --- | --- | --- |\n"
        f"| base (briefly pretrained on worked solutions) | {before['id']:.3f} | {before['ood']:.3f} |\n"
        f"| after {scale.rl_steps} LUFFY steps | {after['id']:.3f} | {after['ood']:.3f} |\n\n"
        f"Accuracy = strict boxed grading, one sample per problem at T=0.6. Curves: `{os.path.basename(curves)}`. "
        f"Wall time: {results['seconds']:.0f} s.\n"
    )
    with open(os.path.join(workdir, "results.md"), "w", encoding="utf-8") as f:
        f.write(table)
    print(table)
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
    flags.DEFINE_integer("seed", 0, "Seed of the data, the base policy and the run.")
    app.run(main)
