"""The LUFFY objective and its baselines: pure, jit-able functions of arrays and a frozen config.

- :func:`group_advantages`: mixed-group (``all``) or on-policy-only (``on_policy``) advantages.
- :class:`LossConfig`: every option, with LUFFY's defaults.
- :func:`policy_loss`: the token-level PG loss with policy shaping for off-policy tokens.
- :func:`objective_terms` / :data:`OBJECTIVES` (``registry``): whole objectives by name (``luffy``,
  ``luffy_no_shaping``, ``on_policy_grpo``, ``sft``, ``rl_with_sft_loss``) as additive sums;
  :func:`accumulate` adds micro-batches exactly and :func:`finalize` gives ``(loss, metrics)``.
- ``official_batches``: the official row balancing and token-budget micro-batches, and the row
  weights of the ``official`` entropy/SFT reductions (:func:`official_term_weights`).
"""

from luffy_jax.objectives.advantages import group_advantages
from luffy_jax.objectives.config import (
    AGGREGATIONS,
    OFF_POLICY_SHAPINGS,
    ON_POLICY_SHAPINGS,
    TERM_REDUCTIONS,
    LossConfig,
)
from luffy_jax.objectives.losses import (
    TERM_KEYS,
    accumulate,
    entropy_kl_terms,
    finalize,
    low_var_kl,
    merge_terms,
    policy_loss,
    policy_terms,
    sft_terms,
    token_losses,
    zero_terms,
)
from luffy_jax.objectives.official_batches import (
    balanced_row_order,
    largest_differencing,
    official_micro_batches,
    official_term_weights,
)
from luffy_jax.objectives.registry import OBJECTIVES, objective_terms, register_objective
from luffy_jax.objectives.shaping import (
    OFF_POLICY_REGISTRY,
    ON_POLICY_REGISTRY,
    off_policy_value,
    on_policy_ratio,
)

__all__ = [
    "AGGREGATIONS",
    "OBJECTIVES",
    "OFF_POLICY_REGISTRY",
    "OFF_POLICY_SHAPINGS",
    "ON_POLICY_REGISTRY",
    "ON_POLICY_SHAPINGS",
    "TERM_KEYS",
    "TERM_REDUCTIONS",
    "LossConfig",
    "accumulate",
    "balanced_row_order",
    "entropy_kl_terms",
    "finalize",
    "group_advantages",
    "largest_differencing",
    "low_var_kl",
    "merge_terms",
    "objective_terms",
    "off_policy_value",
    "official_micro_batches",
    "official_term_weights",
    "on_policy_ratio",
    "policy_loss",
    "policy_terms",
    "register_objective",
    "sft_terms",
    "token_losses",
    "zero_terms",
]
