"""From the ``ml_collections`` config to frozen dataclasses, with every check done before compute."""

from __future__ import annotations

import dataclasses
from typing import Any

import ml_collections

from luffy_jax.models import ModelConfig
from luffy_jax.objectives import LossConfig

METHODS = ("luffy", "on_policy_grpo", "sft", "rl_with_sft_loss", "sft_then_rl")
# Which registered objective each RL method uses, and where its advantages' statistics come from.
OBJECTIVE_OF = {
    "luffy": "luffy",
    "on_policy_grpo": "on_policy_grpo",
    "rl_with_sft_loss": "rl_with_sft_loss",
    "sft": "sft",
}


class ConfigError(ValueError):
    """A bad configuration; the message names the field."""


@dataclasses.dataclass(frozen=True)
class RunShape:
    """Batch geometry of one training step."""

    prompts_per_step: int
    n: int
    n_off: int
    mini_batch_prompts: int
    micro_batch_rows: int
    max_prompt_length: int
    max_response_length: int

    @property
    def n_on(self) -> int:
        return self.n - self.n_off

    @property
    def rows_per_step(self) -> int:
        return self.prompts_per_step * self.n

    @property
    def mini_batches(self) -> int:
        return self.prompts_per_step // self.mini_batch_prompts


def _neg_to_none(x: float) -> float | None:
    return None if x is None or x < 0 else float(x)


def loss_config(cfg: ml_collections.ConfigDict, method: str) -> LossConfig:
    """The :class:`LossConfig` of ``cfg.loss`` for ``method`` (``rl_with_sft_loss`` -> grpo_split)."""
    lc = cfg.loss
    try:
        return LossConfig(
            use_clip=bool(lc.use_clip) or method == "on_policy_grpo",
            clip_ratio=float(lc.clip_ratio),
            clip_ratio_high=_neg_to_none(lc.clip_ratio_high),
            off_policy_shaping=str(lc.off_policy_shaping),
            shaping_gamma=float(lc.shaping_gamma),
            shaping_pow=float(lc.shaping_pow),
            shaping_weight=float(lc.shaping_weight),
            on_policy_shaping=str(lc.on_policy_shaping),
            aggregation=str(lc.aggregation),
            constant_normalizer=_neg_to_none(lc.constant_normalizer),
            off_max_clip=_neg_to_none(lc.off_max_clip),
            off_min_clip=_neg_to_none(lc.off_min_clip),
            entropy_coef=0.0 if method == "sft" else float(lc.entropy_coef),
            kl_coef=0.0 if method == "sft" else float(lc.kl_coef),
            sft_coef=float(lc.sft_coef),
            advantage_stats="on_policy" if method == "rl_with_sft_loss" else "all",
            advantage_use_std=bool(lc.advantage_use_std),
        )
    except ValueError as e:
        raise ConfigError(str(e)) from e


def run_shape(cfg: ml_collections.ConfigDict, method: str) -> RunShape:
    n_off = int(cfg.rollout.n_off) if method in ("luffy", "rl_with_sft_loss") else 0
    return RunShape(
        prompts_per_step=int(cfg.rollout.prompts_per_step),
        n=1 if method == "sft" else int(cfg.rollout.n),
        n_off=1 if method == "sft" else n_off,
        mini_batch_prompts=int(cfg.batch.mini_batch_prompts),
        micro_batch_rows=int(cfg.batch.micro_batch_rows),
        max_prompt_length=int(cfg.data.max_prompt_length),
        max_response_length=int(cfg.data.max_response_length),
    )


def validate(
    cfg: ml_collections.ConfigDict, model_config: ModelConfig | None, batch_divisor: int
) -> None:
    """Raises :class:`ConfigError` naming the field, before any compute."""
    if cfg.method not in METHODS:
        raise ConfigError(f"config.method={cfg.method!r} is unknown; use one of {METHODS}")
    if not cfg.model.hf_path and not cfg.model.config_json:
        raise ConfigError("config.model.hf_path or config.model.config_json must be set")
    if not cfg.data.train_files:
        raise ConfigError("config.data.train_files is empty")
    rl_methods = ("luffy", "on_policy_grpo", "rl_with_sft_loss", "sft_then_rl")
    if cfg.method in rl_methods:
        n, k = int(cfg.rollout.n), int(cfg.rollout.n_off)
        if cfg.method in ("luffy", "rl_with_sft_loss"):
            if k < 1:
                raise ConfigError(
                    f"config.rollout.n_off={k}: {cfg.method} needs at least one trace"
                )
            if n <= k:
                raise ConfigError(
                    f"config.rollout.n={n} must be larger than config.rollout.n_off={k} "
                    "(a group needs on-policy samples)"
                )
        elif n < 2:
            raise ConfigError(f"config.rollout.n={n}: group advantages need n >= 2")
    ppp, mbp = int(cfg.rollout.prompts_per_step), int(cfg.batch.mini_batch_prompts)
    if ppp < 1 or mbp < 1 or ppp % mbp:
        raise ConfigError(
            f"config.rollout.prompts_per_step={ppp} must be a positive multiple of "
            f"config.batch.mini_batch_prompts={mbp}"
        )
    rows = int(cfg.batch.micro_batch_rows)
    if rows < 1 or rows % batch_divisor:
        raise ConfigError(
            f"config.batch.micro_batch_rows={rows} must be a positive multiple of the mesh's "
            f"data x fsdp size ({batch_divisor})"
        )
    if cfg.method == "sft_then_rl" and int(cfg.sft.steps) < 1:
        raise ConfigError("config.sft.steps must be >= 1 for method sft_then_rl")
    if model_config is not None:
        total = int(cfg.data.max_prompt_length) + int(cfg.data.max_response_length)
        if total > model_config.max_position_embeddings:
            raise ConfigError(
                f"config.data.max_prompt_length + config.data.max_response_length = {total} exceeds the "
                f"model's max_position_embeddings ({model_config.max_position_embeddings})"
            )
    if cfg.optim.schedule not in ("constant", "cosine"):
        raise ConfigError(
            f"config.optim.schedule={cfg.optim.schedule!r}: use 'constant' or 'cosine'"
        )
    if cfg.eval.grader not in ("math", "boxed"):
        raise ConfigError(f"config.eval.grader={cfg.eval.grader!r}: use 'math' or 'boxed'")
    method_for_loss = "on_policy_grpo" if cfg.method == "sft_then_rl" else cfg.method
    loss_config(cfg, method_for_loss)


def model_overrides(cfg: ml_collections.ConfigDict) -> dict[str, Any]:
    out = dict(cfg.model.overrides.to_dict()) if cfg.model.overrides else {}
    out.setdefault("dtype", cfg.model.dtype)
    out.setdefault("param_dtype", cfg.model.dtype)
    out.setdefault("remat", bool(cfg.model.remat))
    return out
