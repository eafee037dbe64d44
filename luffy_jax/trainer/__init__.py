"""The trainer: config validation, the mixed rollout batch, the jitted update, orbax checkpoints,
metrics, and :func:`run_training` (the loop). Entry point: ``python -m luffy_jax.train``."""

from luffy_jax.trainer.config import METHODS, ConfigError, loss_config, run_shape, validate
from luffy_jax.trainer.loop import load_trained_policy, method_at, run_training
from luffy_jax.trainer.metrics import MetricsWriter, read_metrics
from luffy_jax.trainer.rollout import RolloutBatch, build_rollout

__all__ = [
    "METHODS",
    "ConfigError",
    "MetricsWriter",
    "RolloutBatch",
    "build_rollout",
    "load_trained_policy",
    "loss_config",
    "method_at",
    "read_metrics",
    "run_shape",
    "run_training",
    "validate",
]
