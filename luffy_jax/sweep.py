"""Hyper-parameter sweeps over command-line overrides.

    python -m luffy_jax.sweep --config=experiments/smoke.py \
        --grid='loss.shaping_gamma=0.05,0.1,0.3' [--grid='optim.lr=1e-6,3e-6'] --seeds=3 \
        --workdir_root=runs/gamma [--max_steps=N] [--print_only]

Expands the grid (every combination) times the seeds; runs each with ``python -m luffy_jax.train``
one after another, or with ``--print_only`` prints one command per line for a cluster scheduler.
Each run's workdir is ``<workdir_root>/<field>=<value>,...,seed=<s>``.
"""

from __future__ import annotations

import itertools
import os
import shlex
import subprocess
import sys
from collections.abc import Sequence


def parse_grid(specs: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["a.b=1,2", "c=x"]`` -> ``[("a.b", ["1", "2"]), ("c", ["x"])]``."""
    out = []
    for spec in specs:
        field, sep, values = spec.partition("=")
        field = field.strip()
        vals = [v.strip() for v in values.split(",") if v.strip()]
        if not sep or not field or not vals:
            raise ValueError(f"--grid={spec!r}: expected FIELD=V1,V2,...")
        if field in (f for f, _ in out):
            raise ValueError(f"--grid: field {field!r} given twice")
        out.append((field, vals))
    return out


def expand(grid: Sequence[tuple[str, Sequence[str]]], seeds: int) -> list[dict[str, str]]:
    """Every combination of the grid's values, times ``seeds`` seeds (``seed`` = 0..seeds-1)."""
    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    fields = [f for f, _ in grid]
    runs = []
    for combo in itertools.product(*[v for _, v in grid]):
        for seed in range(seeds):
            runs.append({**dict(zip(fields, combo)), "seed": str(seed)})
    return runs


def command(
    config: str, overrides: dict[str, str], workdir_root: str, max_steps: int | None
) -> list[str]:
    """The ``python -m luffy_jax.train`` command line of one run."""
    name = ",".join(f"{k}={v}" for k, v in overrides.items())
    cmd = [
        sys.executable,
        "-m",
        "luffy_jax.train",
        f"--config={config}",
        f"--workdir={os.path.join(workdir_root, name)}",
    ]
    cmd += [f"--config.{k}={v}" for k, v in overrides.items()]
    if max_steps:
        cmd.append(f"--max_steps={max_steps}")
    return cmd


def main(argv: Sequence[str]) -> None:
    from absl import flags

    f = flags.FLAGS
    runs = expand(parse_grid(f.grid or []), f.seeds)
    cmds = [command(f.config, r, f.workdir_root, f.max_steps) for r in runs]
    if f.print_only:
        for c in cmds:
            print(shlex.join(c))
        return
    failed = 0
    for i, c in enumerate(cmds):
        print(f"[{i + 1}/{len(cmds)}] {shlex.join(c)}", flush=True)
        failed += subprocess.run(c, check=False).returncode != 0
    if failed:
        raise SystemExit(f"{failed} of {len(cmds)} runs failed")


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("config", None, "Preset file[:variant], as for luffy_jax.train.")
    flags.DEFINE_multi_string("grid", None, "FIELD=V1,V2,... (repeatable).")
    flags.DEFINE_integer("seeds", 1, "Seeds per grid point.")
    flags.DEFINE_string("workdir_root", "runs/sweep", "Parent folder of the runs' workdirs.")
    flags.DEFINE_integer("max_steps", None, "Passed to every run.")
    flags.DEFINE_bool("print_only", False, "Print the commands instead of running them.")
    flags.mark_flags_as_required(["config"])
    app.run(main)
