"""Whole objectives by name: LUFFY and its baselines as registered pure functions.

Each objective takes a batch dict of ``[N, T]`` arrays -- ``logp``, ``old_logp``, ``entropy``
(optional), ``ref_logp`` (optional), ``advantages`` (``[N]`` or ``[N, T]``), ``response_mask``,
``off_policy_mask`` and, for the ``official`` reductions, the ``entropy_weight`` / ``sft_weight``
rows -- and a :class:`LossConfig`, and returns that batch's term sums
(:data:`luffy_jax.objectives.losses.TERM_KEYS`); :func:`~luffy_jax.objectives.losses.finalize`
turns accumulated sums into the loss. New objectives register with :func:`register_objective`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp

from luffy_jax.objectives.config import LossConfig
from luffy_jax.objectives.losses import (
    Terms,
    entropy_kl_terms,
    merge_terms,
    policy_terms,
    sft_terms,
)

Objective = Callable[[Mapping[str, jax.Array], LossConfig], Terms]
OBJECTIVES: dict[str, Objective] = {}


def register_objective(name: str) -> Callable[[Objective], Objective]:
    """Decorator: adds the objective to :data:`OBJECTIVES` under ``name``."""

    def wrap(fn: Objective) -> Objective:
        OBJECTIVES[name] = fn
        return fn

    return wrap


def _ent_kl(batch: Mapping[str, jax.Array], config: LossConfig) -> Terms:
    return entropy_kl_terms(
        batch["response_mask"],
        config,
        logp=batch["logp"],
        entropy=batch.get("entropy"),
        ref_logp=batch.get("ref_logp"),
        entropy_weight=batch.get("entropy_weight"),
    )


@register_objective("luffy")
def luffy_objective(batch: Mapping[str, jax.Array], config: LossConfig) -> Terms:
    """Mixed-policy GRPO with policy shaping (LUFFY): on-policy ratio + shaped trace tokens."""
    pol = policy_terms(
        batch["logp"],
        batch["old_logp"],
        batch["advantages"],
        batch["response_mask"],
        batch["off_policy_mask"],
        config,
    )
    return merge_terms(pol, _ent_kl(batch, config))


@register_objective("luffy_no_shaping")
def luffy_no_shaping_objective(batch: Mapping[str, jax.Array], config: LossConfig) -> Terms:
    """LUFFY with the plain importance weight ``p`` on trace tokens (spec invariant 14)."""
    return luffy_objective(batch, config.replace(off_policy_shaping="none"))


@register_objective("on_policy_grpo")
def on_policy_grpo_objective(batch: Mapping[str, jax.Array], config: LossConfig) -> Terms:
    """On-policy RL (spec 3.1): clipped ratio, no trace tokens (any off-policy mask is ignored)."""
    zeros = jnp.zeros_like(jnp.asarray(batch["response_mask"]), dtype=bool)
    pol = policy_terms(
        batch["logp"],
        batch["old_logp"],
        batch["advantages"],
        batch["response_mask"],
        zeros,
        config.replace(use_clip=True),
    )
    return merge_terms(pol, _ent_kl(batch, config))


@register_objective("sft")
def sft_objective(batch: Mapping[str, jax.Array], config: LossConfig) -> Terms:
    """SFT (spec 3.3): token-mean NLL over the trace tokens (``off_policy_mask & response_mask``),
    minus ``entropy_coef`` x the token-mean entropy if a config asks for one."""
    trace = jnp.asarray(batch["off_policy_mask"]).astype(bool) & jnp.asarray(
        batch["response_mask"]
    ).astype(bool)
    # The entropy terms are included so that SFT runs log their entropy; SFT presets set
    # entropy_coef = 0 (OpenRLHF's SFT has no entropy bonus).
    return merge_terms(sft_terms(batch["logp"], trace), _ent_kl(batch, config))


@register_objective("rl_with_sft_loss")
def rl_with_sft_loss_objective(batch: Mapping[str, jax.Array], config: LossConfig) -> Terms:
    """RL with an SFT loss (spec 3.4).

    SFT term: token-mean NLL over off-policy rows' valid tokens (0 if the batch has none). RL term:
    ``-A r`` (no clip) on on-policy rows only, reduced by ``config.aggregation``. Entropy over all
    rows. Advantages should come from ``group_advantages(..., stats_from="on_policy")``.
    """
    m = jnp.asarray(batch["response_mask"]).astype(bool)
    off_row = (jnp.asarray(batch["off_policy_mask"]).astype(bool) & m).any(-1, keepdims=True)
    trace = m & off_row
    on_tokens = m & ~off_row
    pol = policy_terms(
        batch["logp"],
        batch["old_logp"],
        batch["advantages"],
        batch["response_mask"],
        trace,
        config.replace(use_clip=False),
        pg_mask=on_tokens,
    )
    if config.sft_reduction == "official" and batch.get("sft_weight") is None:
        raise ValueError("loss.sft_reduction='official' needs the batch's 'sft_weight' rows")
    sft = sft_terms(batch["logp"], trace, batch.get("sft_weight"))
    return merge_terms(pol, sft, _ent_kl(batch, config))


def objective_terms(name: str, batch: Mapping[str, jax.Array], config: LossConfig) -> Terms:
    """The term sums of the objective registered as ``name``."""
    if name not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; registered: {sorted(OBJECTIVES)}")
    return OBJECTIVES[name](batch, config)
