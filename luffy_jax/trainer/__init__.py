"""The trainer. Entry point: ``python -m luffy_jax.train``.

Data flows one way through these modules (each imports only those above it in this list):

- ``schema``: the config's fields and LUFFY's defaults (``ml_collections``; presets start here);
- ``methods``: one frozen :class:`Method` record per method (rows, objective, loss rules, stages);
- ``prefixes``: partial-trace prefix strategies (ablations; the official rollout's options);
- ``config``: the config translated once into frozen dataclasses (:class:`RunConfig`, its
  :class:`Stage` s with batch shape, ``LossConfig`` and optimizer settings);
- ``layout``: the official row balancing and entropy/SFT term weights, and their checks;
- ``setup``: :func:`validate` -- every check before compute; the run's context, data, params;
- ``rollout`` (the mixed batch), ``hosts`` (a step over several hosts: each host's share of the
  prompts, the sampler's global prompt list, global denominators and metrics), ``metrics``
  (writers, batch metrics), ``checkpoint`` (orbax, every process taking part);
- ``step`` (jitted pieces) -> ``update`` (log-prob pass, exact accumulation, optimizer steps)
  -> ``rl_step`` (one step, spec 1.14) -> ``loop`` (:func:`run_training`, resumable).

Below the trainer: models, sampling, objectives, rewards, data, ``luffy_jax.evaluation`` and
``luffy_jax.distributed`` (the processes of a multi-host run).
"""

from luffy_jax.trainer.checkpoint import Checkpointer, load_trained_policy
from luffy_jax.trainer.config import ConfigError, RunConfig, RunShape, Stage, run_shape, translate
from luffy_jax.trainer.loop import run_training
from luffy_jax.trainer.methods import METHODS, Method
from luffy_jax.trainer.metrics import MetricsWriter, read_metrics
from luffy_jax.trainer.rollout import RolloutBatch, build_rollout
from luffy_jax.trainer.setup import validate

__all__ = [
    "METHODS",
    "Checkpointer",
    "ConfigError",
    "Method",
    "MetricsWriter",
    "RolloutBatch",
    "RunConfig",
    "RunShape",
    "Stage",
    "build_rollout",
    "load_trained_policy",
    "read_metrics",
    "run_shape",
    "run_training",
    "translate",
    "validate",
]
