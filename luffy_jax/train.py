"""Training entry point.

    python -m luffy_jax.train --config=experiments/luffy_qwen25_math_7b.py[:variant] \
        --config.<field>=<value> ... --workdir=DIR [--max_steps=N]

``--max_steps`` stops after step N; a later call with a larger N resumes from the workdir's latest
checkpoint and extends the run.

Several processes (the hosts of a TPU pod slice, the nodes of a GPU cluster) all run the same
command. JAX's distributed system is started with ``--coordinator_address=HOST:PORT
--num_processes=N --process_id=I`` when given, or by itself where JAX detects the cluster (Cloud
TPU, SLURM, Open MPI; ``--distributed`` forces it). Locally, ``python -m luffy_jax.launch
--local_processes=N -- <these flags>`` starts N CPU processes (BUILD.md, "Multi-host runs").
"""

from __future__ import annotations

import logging
import os
import sys

from absl import app, flags
from ml_collections import config_flags

from luffy_jax import distributed
from luffy_jax.trainer import run_training

__all__ = ["run_training"]

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A preset from experiments/ (file[:variant])."
)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Output folder (checkpoints, metrics, TensorBoard)."
)
_MAX_STEPS = flags.DEFINE_integer("max_steps", None, "Stop after this step (resumable).")
_DISTRIBUTED = flags.DEFINE_bool(
    "distributed",
    None,
    "Call jax.distributed.initialize() with cluster auto-detection (default: when JAX can "
    "detect a cluster: Cloud TPU, SLURM, Open MPI).",
)
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "Multi-process runs: HOST:PORT of process 0's coordinator."
)
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Multi-process runs: processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "Multi-process runs: this one's index.")
_HEARTBEAT = flags.DEFINE_integer(
    "heartbeat_timeout_s",
    None,
    "Multi-process runs: a process silent this long is declared dead and every process exits "
    "with an error (JAX's default: 100).",
)


class _ProcessPrefix(logging.Filter):
    def __init__(self, prefix: str):
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "_process_prefixed", False):
            record.msg = f"{self.prefix}{record.msg}"
            record._process_prefixed = True
        return True


def main(argv) -> None:
    del argv
    logging.getLogger("luffy_jax").setLevel(logging.INFO)
    if _WORKDIR.value is None:
        raise app.UsageError("--workdir is required")
    multi = distributed.initialize(
        _COORDINATOR.value,
        _NUM_PROCESSES.value,
        _PROCESS_ID.value,
        auto=_DISTRIBUTED.value,
        heartbeat_timeout_s=_HEARTBEAT.value,
    )
    if not multi:
        run_training(_CONFIG.value, _WORKDIR.value, _MAX_STEPS.value)
        return
    import jax

    prefix = _ProcessPrefix(f"[process {jax.process_index()}/{jax.process_count()}] ")
    for handler in logging.getLogger().handlers:
        handler.addFilter(prefix)
    try:
        run_training(_CONFIG.value, _WORKDIR.value, _MAX_STEPS.value)
    except (Exception, KeyboardInterrupt):
        # Exit at once: a normal exit would wait in JAX's shutdown barrier for the other
        # processes, which wait for this one at their next collective (minutes). A dead process
        # makes them fail now (their collective with it breaks) or after the heartbeat timeout.
        logging.getLogger("luffy_jax.train").exception("training failed on this process")
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


if __name__ == "__main__":
    flags.mark_flags_as_required(["config"])
    app.run(main)
