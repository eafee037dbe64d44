"""Training entry point.

    python -m luffy_jax.train --config=experiments/luffy_qwen25_math_7b.py[:variant] \
        --config.<field>=<value> ... --workdir=DIR [--max_steps=N]

``--max_steps`` stops after step N; a later call with a larger N resumes from the workdir's latest
checkpoint and extends the run. On a multi-host pod every host runs the same command;
``jax.distributed.initialize()`` is called when ``--distributed`` is set (or automatically on
Cloud TPU pods and under SLURM/Open MPI, where JAX discovers the coordinator itself).
"""

from __future__ import annotations

import logging
import os

from absl import app, flags
from ml_collections import config_flags

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
    "Call jax.distributed.initialize() (default: when JAX can detect a cluster).",
)


def _maybe_initialize_distributed(explicit: bool | None) -> None:
    import jax

    cluster_env = any(
        k in os.environ
        for k in (
            "JAX_COORDINATOR_ADDRESS",
            "SLURM_JOB_ID",
            "OMPI_COMM_WORLD_SIZE",
            "TPU_WORKER_HOSTNAMES",
            "MEGASCALE_COORDINATOR_ADDRESS",
        )
    )
    if explicit or (explicit is None and cluster_env):
        jax.distributed.initialize()


def main(argv) -> None:
    del argv
    logging.getLogger("luffy_jax").setLevel(logging.INFO)
    _maybe_initialize_distributed(_DISTRIBUTED.value)
    if _WORKDIR.value is None:
        raise app.UsageError("--workdir is required")
    run_training(_CONFIG.value, _WORKDIR.value, _MAX_STEPS.value)


if __name__ == "__main__":
    flags.mark_flags_as_required(["config"])
    app.run(main)
