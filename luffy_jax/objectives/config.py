"""``LossConfig``: every option of the LUFFY objective and its baselines, frozen and hashable.

Defaults are LUFFY's (``train.sh``): no PPO clipping, off-policy shaping ``p/(p+0.1)``, constant
normalisation by the padded response width, entropy coefficient 0.001, no KL. Each field states the
official option it mirrors (``../shared/docs/luffy_spec.md`` section 1.8 and table 2).
"""

from __future__ import annotations

import dataclasses

OFF_POLICY_SHAPINGS = ("p_div_p", "none", "logp", "p_logp", "sqrt", "pow")
ON_POLICY_SHAPINGS = ("none", "p_div_p", "logp", "p_logp", "sqrt", "pow")
AGGREGATIONS = ("constant", "token_mean", "seq_mean_token_mean")
ADVANTAGE_STATS = ("all", "on_policy")
# How the entropy and SFT terms are reduced: one token mean over the mini-batch (ours, independent
# of any micro-batching), or the official sum of per-micro-batch token means over the official
# micro-batches divided by the ranks (row weights from ``official_batches.official_term_weights``).
TERM_REDUCTIONS = ("mini_batch_mean", "official")


@dataclasses.dataclass(frozen=True)
class LossConfig:
    """Options of the token-level policy objective.

    Attributes:
      use_clip: PPO clipping of the on-policy ratio (official ``loss_remove_clip=False``). LUFFY: off.
      clip_ratio: epsilon of the clip range ``[1 - eps, 1 + eps_high]``.
      clip_ratio_high: epsilon of the upper bound (clip-higher); ``None`` = ``clip_ratio``.
      off_policy_shaping: the function ``f`` of the current token probability ``p`` used for
        off-policy (trace) tokens; see :mod:`luffy_jax.objectives.shaping`.
      shaping_gamma: ``gamma`` of ``p_div_p``: ``f(p) = p / (p + gamma)``.
      shaping_pow: exponent ``k`` of ``pow``: ``f(p) = p ** k``.
      shaping_weight: weight ``w`` of ``logp`` (``w log p``) and ``p_logp`` (``p + w log p``).
      on_policy_shaping: the function of the ratio used for on-policy tokens (``none`` = ``r``).
      on_shaping_gamma / on_shaping_pow / on_shaping_weight: the same constants for on-policy tokens.
      aggregation: how token losses are reduced: ``constant`` (sum / normaliser, official
        ``loss_remove_token_mean=True``), ``token_mean`` or ``seq_mean_token_mean``.
      constant_normalizer: the normaliser of ``constant``; ``None`` = the padded response width T of
        the inputs (what the official code does per micro-batch: 8192).
      off_max_clip / off_min_clip: clamps of the shaped off-policy value (``None`` = off).
      entropy_coef: weight of the token-mean entropy bonus (subtracted from the loss).
      kl_coef: weight of the low-variance (k3) KL to a frozen reference; 0 = off.
      sft_coef: weight of the SFT term in ``rl_with_sft_loss``.
      entropy_reduction: ``mini_batch_mean`` (one token mean over the batch) or ``official``
        (the batch's ``entropy_weight`` rows: the sum over the official micro-batches of their
        token means, divided by the ranks; spec 1.10).
      sft_reduction: the same choice for the SFT term of ``rl_with_sft_loss`` (``sft_weight``).
      advantage_stats: which rows give a group's mean/std: ``all`` (LUFFY's mixed group, ``grpo``)
        or ``on_policy`` (``grpo_split``, the RL-with-SFT-loss baseline).
      advantage_use_std: divide by the group std (official ``grpo_use_std``; False in all scripts).
    """

    use_clip: bool = False
    clip_ratio: float = 0.2
    clip_ratio_high: float | None = None
    off_policy_shaping: str = "p_div_p"
    shaping_gamma: float = 0.1
    shaping_pow: float = 0.5
    shaping_weight: float = 0.1
    on_policy_shaping: str = "none"
    on_shaping_gamma: float = 0.1
    on_shaping_pow: float = 0.5
    on_shaping_weight: float = 0.1
    aggregation: str = "constant"
    constant_normalizer: float | None = None
    off_max_clip: float | None = None
    off_min_clip: float | None = None
    entropy_coef: float = 0.001
    kl_coef: float = 0.0
    sft_coef: float = 1.0
    entropy_reduction: str = "mini_batch_mean"
    sft_reduction: str = "mini_batch_mean"
    advantage_stats: str = "all"
    advantage_use_std: bool = False

    def __post_init__(self) -> None:
        _check_choice("off_policy_shaping", self.off_policy_shaping, OFF_POLICY_SHAPINGS)
        _check_choice("on_policy_shaping", self.on_policy_shaping, ON_POLICY_SHAPINGS)
        _check_choice("aggregation", self.aggregation, AGGREGATIONS)
        _check_choice("advantage_stats", self.advantage_stats, ADVANTAGE_STATS)
        _check_choice("entropy_reduction", self.entropy_reduction, TERM_REDUCTIONS)
        _check_choice("sft_reduction", self.sft_reduction, TERM_REDUCTIONS)
        if self.shaping_gamma <= 0 or self.on_shaping_gamma <= 0:
            raise ValueError("loss.shaping_gamma and loss.on_shaping_gamma must be > 0")
        if self.clip_ratio < 0 or (self.clip_ratio_high is not None and self.clip_ratio_high < 0):
            raise ValueError("loss.clip_ratio and loss.clip_ratio_high must be >= 0")
        if self.constant_normalizer is not None and self.constant_normalizer <= 0:
            raise ValueError("loss.constant_normalizer must be > 0 or None")

    @property
    def clip_low(self) -> float:
        return 1.0 - self.clip_ratio

    @property
    def clip_high(self) -> float:
        high = self.clip_ratio if self.clip_ratio_high is None else self.clip_ratio_high
        return 1.0 + high

    def replace(self, **changes) -> LossConfig:
        return dataclasses.replace(self, **changes)


def _check_choice(field: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"loss.{field}={value!r} is not one of {choices}")
