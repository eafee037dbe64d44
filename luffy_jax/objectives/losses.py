"""Token-level losses of LUFFY and its baselines, as additive sums (spec 1.8-1.10, 3).

Notation per response token: ``m`` the response mask, ``z`` the off-policy (trace) mask, ``A`` the
advantage, ``logp`` / ``logp_old`` current / old log-probabilities, ``p = exp(logp)``.

Per-token policy-gradient loss::

    on-policy  (z=0):  l_on  = -A * ratio                        (use_clip=False, LUFFY)
                       l_on  = max(-A * ratio, -A * clip(ratio, 1-eps, 1+eps_high))   (use_clip)
    off-policy (z=1):  l_off = -A * clamp(f(p), off_min_clip, off_max_clip)   (never PPO-clipped)
    l = z * l_off + (1 - z) * l_on

with ``ratio`` and ``f`` from :mod:`luffy_jax.objectives.shaping`.

Reduction (``LossConfig.aggregation``) of the PG term over a batch:

- ``constant``:  ``sum(m * l) / L``, ``L`` = ``constant_normalizer`` or the padded response width
  ``T`` of the inputs (official ``loss_remove_token_mean=True``: 8192 in every script). Not the token
  count, not the number of sequences.
- ``token_mean``: ``sum(m * l) / sum(m)``.
- ``seq_mean_token_mean``: mean over rows with a valid token of ``sum_t(m l) / sum_t(m)``.

Total objective (spec 1.9, 1.6, 3.4)::

    loss = PG + sft_coef * SFT - entropy_coef * H + kl_coef * KL

with ``H`` the token mean of the full-vocabulary entropy over *all* valid tokens (on and off),
``KL`` the token mean of ``k3 = exp(ref - logp) - (ref - logp) - 1`` clamped to [-10, 10], and ``SFT``
the token-mean NLL over trace tokens (only in ``rl_with_sft_loss``; 0 when a batch has no trace).

Accumulation. Every objective returns a dict of *sums* (:data:`TERM_KEYS`); sums of several
micro-batches (``jax.tree.map(jnp.add, ...)``) finalised once by :func:`finalize` give exactly the
loss of the whole batch, whatever the micro-batching. The official code instead finalises each
micro-batch and adds the results (``grad-accum divisor 1``) and averages 8 data-parallel ranks; with
``constant`` aggregation its PG part equals ``sum over the mini-batch of m*l / (8 * 8192)``, which is
:func:`finalize` with ``constant_normalizer = 8 * 8192``; its entropy part is the *sum* of the K
micro-batch token means divided by 8 (an effective coefficient of about ``0.001 * K``), and the SFT
part of ``rl_with_sft_loss`` likewise. ``LossConfig.entropy_reduction`` / ``sft_reduction`` =
``official`` reproduce those exactly with per-row weights (``entropy_weight``, ``sft_weight``,
computed on the host by :mod:`luffy_jax.objectives.official_batches` from the official micro-batch
formation), which keeps every term a linear sum.
"""

from __future__ import annotations

from collections.abc import Mapping

import jax
import jax.numpy as jnp

from luffy_jax.objectives.config import LossConfig
from luffy_jax.objectives.shaping import off_policy_value, on_policy_ratio

Terms = dict[str, jax.Array]

TERM_KEYS: tuple[str, ...] = (
    "pg_sum",  # sum of m * l over PG tokens
    "pg_tokens",  # number of PG tokens (valid tokens that enter the PG term)
    "pg_seq_sum",  # sum over rows of the row's token-mean loss (seq_mean_token_mean)
    "pg_seqs",  # rows with at least one PG token
    "pg_width",  # padded response width T (max over accumulated batches)
    "valid_tokens",  # all valid response tokens
    "entropy_sum",
    "entropy_wsum",  # sum of entropy_weight[row] * m * H (official micro-batch reduction)
    "kl_sum",
    "sft_sum",  # sum of -logp over trace tokens (rl_with_sft_loss, sft)
    "sft_tokens",
    "sft_wsum",  # sum of sft_weight[row] * (-logp) over trace tokens (official reduction)
    "on_loss_sum",
    "on_tokens",
    "off_loss_sum",
    "off_tokens",
    "clip_sum",  # tokens whose clipped on-branch loss exceeds the unclipped one
    "ppo_kl_sum",  # sum of logp_old - logp over valid tokens
    "on_prob_sum",  # sum of p_old over on-policy tokens
    "off_prob_sum",  # sum of p over off-policy tokens
    "off_ratio_sum",  # sum of the shaped value over off-policy tokens
    "off_max_clip_sum",
    "off_min_clip_sum",
)


def zero_terms() -> Terms:
    """All term sums at zero (float32 scalars)."""
    return {k: jnp.zeros((), jnp.float32) for k in TERM_KEYS}


def accumulate(a: Terms, b: Terms) -> Terms:
    """Adds two term dicts (``pg_width`` takes the max: it is a width, not a count)."""
    out = {k: a[k] + b[k] for k in TERM_KEYS}
    out["pg_width"] = jnp.maximum(a["pg_width"], b["pg_width"])
    return out


def token_losses(
    logp: jax.Array,
    old_logp: jax.Array,
    advantages: jax.Array,
    off_policy_mask: jax.Array,
    config: LossConfig,
) -> dict[str, jax.Array]:
    """Per-token losses, ``[N, T]`` float32 each: ``loss``, ``on``, ``off``, ``clipped``, ``shaped``.

    Args:
      logp, old_logp: float ``[N, T]`` current and old log-probs of the response tokens.
      advantages: float ``[N]`` or ``[N, T]``.
      off_policy_mask: bool/float ``[N, T]``, 1 on off-policy (trace) tokens.
    """
    dt = _float_dtype(logp)
    logp = jnp.asarray(logp).astype(dt)
    old_logp = jnp.asarray(old_logp).astype(dt)
    adv = jnp.asarray(advantages).astype(dt)
    if adv.ndim == 1:
        adv = adv[:, None]
    adv = jnp.broadcast_to(adv, logp.shape)
    z = jnp.asarray(off_policy_mask).astype(bool)
    # On-policy branch. Off-policy positions get logp_old := logp so their (unused) ratio is 1 and
    # never overflows; their gradient is masked out by the `where` below.
    old_on = jnp.where(z, jax.lax.stop_gradient(logp), old_logp)
    ratio = on_policy_ratio(logp, old_on, config)
    unclipped = -adv * ratio
    if config.use_clip:
        on = jnp.maximum(unclipped, -adv * jnp.clip(ratio, config.clip_low, config.clip_high))
        # The clip-fraction metric follows the official definition: over all valid tokens, the
        # off-policy ones included, with their real old log-probs.
        r_all = jax.lax.stop_gradient(on_policy_ratio(logp, old_logp, config))
        a_sg = jax.lax.stop_gradient(adv)
        clipped = (
            -a_sg * jnp.clip(r_all, config.clip_low, config.clip_high) > -a_sg * r_all
        ).astype(dt)
    else:
        on = unclipped
        clipped = jnp.zeros_like(unclipped)
    # Off-policy branch: the behaviour probability is taken as 1.
    shaped = off_policy_value(logp, config)
    max_hit = jnp.zeros_like(shaped)
    min_hit = jnp.zeros_like(shaped)
    if config.off_max_clip is not None:
        max_hit = (shaped > config.off_max_clip).astype(dt)
        shaped = jnp.minimum(shaped, config.off_max_clip)
    if config.off_min_clip is not None:
        min_hit = (shaped < config.off_min_clip).astype(dt)
        shaped = jnp.maximum(shaped, config.off_min_clip)
    off = -adv * shaped
    return {
        "loss": jnp.where(z, off, on),
        "on": on,
        "off": off,
        "clipped": clipped,
        "shaped": shaped,
        "off_max_hit": max_hit,
        "off_min_hit": min_hit,
    }


def policy_terms(
    logp: jax.Array,
    old_logp: jax.Array,
    advantages: jax.Array,
    response_mask: jax.Array,
    off_policy_mask: jax.Array,
    config: LossConfig,
    *,
    pg_mask: jax.Array | None = None,
) -> Terms:
    """The PG sums and the spec-1.8 metric sums of one batch (no entropy/KL/SFT).

    ``pg_mask`` (default: ``response_mask``) selects the tokens entering the PG term; metrics follow
    the official definitions (``ppo_kl`` and ``pg_clipfrac`` over all valid tokens).
    """
    dt = _float_dtype(logp)
    logp = jnp.asarray(logp).astype(dt)
    old_logp = jnp.asarray(old_logp).astype(dt)
    m = jnp.asarray(response_mask).astype(dt)
    z = jnp.asarray(off_policy_mask).astype(dt) * m
    on_mask = m - z
    pgm = m if pg_mask is None else jnp.asarray(pg_mask).astype(dt)
    t = token_losses(logp, old_logp, advantages, off_policy_mask, config)
    row_tokens = pgm.sum(-1)
    row_mean = (pgm * t["loss"]).sum(-1) / jnp.maximum(row_tokens, 1.0)
    p = jnp.exp(logp)
    p_old = jnp.exp(old_logp)
    terms = zero_terms()
    terms.update(
        pg_sum=(pgm * t["loss"]).sum(),
        pg_tokens=pgm.sum(),
        pg_seq_sum=jnp.where(row_tokens > 0, row_mean, 0.0).sum(),
        pg_seqs=(row_tokens > 0).astype(jnp.float32).sum(),
        pg_width=jnp.asarray(logp.shape[-1], dt),
        valid_tokens=m.sum(),
        on_loss_sum=(on_mask * t["on"]).sum(),
        on_tokens=on_mask.sum(),
        off_loss_sum=(z * t["off"]).sum(),
        off_tokens=z.sum(),
        clip_sum=(m * t["clipped"]).sum(),
        ppo_kl_sum=(m * (old_logp - logp)).sum(),
        on_prob_sum=(on_mask * p_old).sum(),
        off_prob_sum=(z * p).sum(),
        off_ratio_sum=(z * t["shaped"]).sum(),
        off_max_clip_sum=(z * t["off_max_hit"]).sum(),
        off_min_clip_sum=(z * t["off_min_hit"]).sum(),
    )
    return terms


def entropy_kl_terms(
    response_mask: jax.Array,
    config: LossConfig,
    *,
    logp: jax.Array | None = None,
    entropy: jax.Array | None = None,
    ref_logp: jax.Array | None = None,
    entropy_weight: jax.Array | None = None,
) -> Terms:
    """Sums of the entropy (all valid tokens) and of the k3 KL to ``ref_logp`` (if ``kl_coef``).

    ``entropy_weight`` (float ``[N]``, per row) gives the weighted sum ``entropy_wsum`` that the
    ``official`` entropy reduction uses; it is required when ``config.entropy_reduction`` is
    ``official``.
    """
    dt = _float_dtype(entropy if entropy is not None else jnp.float32(0))
    m = jnp.asarray(response_mask).astype(dt)
    terms = zero_terms()
    terms["valid_tokens"] = m.sum()
    if config.entropy_reduction == "official" and entropy is not None and entropy_weight is None:
        raise ValueError(
            "loss.entropy_reduction='official' needs the batch's 'entropy_weight' rows"
        )
    if entropy is not None:
        mh = m * jnp.asarray(entropy).astype(dt)
        terms["entropy_sum"] = mh.sum()
        if entropy_weight is not None:
            terms["entropy_wsum"] = (jnp.asarray(entropy_weight).astype(dt) * mh.sum(-1)).sum()
    if config.kl_coef and ref_logp is not None and logp is not None:
        terms["kl_sum"] = (m * low_var_kl(logp, ref_logp)).sum()
    return terms


def low_var_kl(logp: jax.Array, ref_logp: jax.Array) -> jax.Array:
    """k3 estimator ``exp(ref - logp) - (ref - logp) - 1``, clamped to [-10, 10] (spec 1.6)."""
    dt = _float_dtype(logp)
    d = jnp.asarray(ref_logp).astype(dt) - jnp.asarray(logp).astype(dt)
    return jnp.clip(jnp.exp(d) - d - 1.0, -10.0, 10.0)


def sft_terms(logp: jax.Array, trace_mask: jax.Array, sft_weight: jax.Array | None = None) -> Terms:
    """Sums of the NLL ``-logp`` over trace tokens (``trace_mask`` float/bool ``[N, T]``), and
    with ``sft_weight`` (float ``[N]``, per row) the weighted sum of the ``official`` reduction."""
    dt = _float_dtype(logp)
    m = jnp.asarray(trace_mask).astype(dt)
    nll = -(m * jnp.asarray(logp).astype(dt))
    terms = zero_terms()
    terms["sft_sum"] = nll.sum()
    terms["sft_tokens"] = m.sum()
    if sft_weight is not None:
        terms["sft_wsum"] = (jnp.asarray(sft_weight).astype(dt) * nll.sum(-1)).sum()
    return terms


def merge_terms(*parts: Terms) -> Terms:
    """Combines the term dicts of *one* batch's parts (policy, SFT, entropy/KL): sums, except the
    counts every part holds for the same tokens (``valid_tokens``, ``pg_width``), which take the max."""
    out = zero_terms()
    for part in parts:
        for k in TERM_KEYS:
            if k in ("valid_tokens", "pg_width"):
                out[k] = jnp.maximum(out[k], part[k])
            else:
                out[k] = out[k] + part[k]
    return out


def _float_dtype(x: jax.Array) -> jnp.dtype:
    """float32, or float64 for float64 inputs when x64 is enabled."""
    return jnp.promote_types(jnp.asarray(x).dtype, jnp.float32)


def _ratio(num: jax.Array, den: jax.Array) -> jax.Array:
    return jnp.where(den > 0, num / jnp.maximum(den, 1e-30), 0.0)


def finalize(terms: Mapping[str, jax.Array], config: LossConfig) -> tuple[jax.Array, Terms]:
    """Turns accumulated sums into ``(loss, metrics)`` with the spec-1.13 metric names."""
    if config.aggregation == "constant":
        width = (
            terms["pg_width"] if config.constant_normalizer is None else config.constant_normalizer
        )
        pg = terms["pg_sum"] / jnp.maximum(width, 1.0)
    elif config.aggregation == "token_mean":
        pg = _ratio(terms["pg_sum"], terms["pg_tokens"])
    else:
        pg = _ratio(terms["pg_seq_sum"], terms["pg_seqs"])
    entropy = _ratio(terms["entropy_sum"], terms["valid_tokens"])
    kl = _ratio(terms["kl_sum"], terms["valid_tokens"])
    sft = _ratio(terms["sft_sum"], terms["sft_tokens"])
    entropy_term = terms["entropy_wsum"] if config.entropy_reduction == "official" else entropy
    sft_term = terms["sft_wsum"] if config.sft_reduction == "official" else sft
    loss = (
        pg + config.sft_coef * sft_term - config.entropy_coef * entropy_term + config.kl_coef * kl
    )
    metrics = {
        "actor/pg_loss": pg,
        "actor/on_pg_loss": _ratio(terms["on_loss_sum"], terms["on_tokens"]),
        "actor/off_pg_loss": _ratio(terms["off_loss_sum"], terms["off_tokens"]),
        "actor/pg_clipfrac": _ratio(terms["clip_sum"], terms["valid_tokens"]),
        "actor/off_pg_clipfrac": jnp.zeros((), jnp.float32),
        "actor/ppo_kl": _ratio(terms["ppo_kl_sum"], terms["valid_tokens"]),
        "actor/on_policy_prob": _ratio(terms["on_prob_sum"], terms["on_tokens"]),
        "actor/off_policy_prob": _ratio(terms["off_prob_sum"], terms["off_tokens"]),
        "actor/off_ratio_mean": _ratio(terms["off_ratio_sum"], terms["off_tokens"]),
        "actor/off_ratio_max_clip_frac": _ratio(terms["off_max_clip_sum"], terms["off_tokens"]),
        "actor/off_ratio_min_clip_frac": _ratio(terms["off_min_clip_sum"], terms["off_tokens"]),
        "actor/entropy_loss": entropy,
        "actor/kl_loss": kl,
        "actor/sft_loss": sft,
        "actor/entropy_term": entropy_term,
        "actor/sft_term": sft_term,
        "actor/loss": loss,
    }
    return loss, metrics


def policy_loss(
    logp: jax.Array,
    old_logp: jax.Array,
    advantages: jax.Array,
    response_mask: jax.Array,
    off_policy_mask: jax.Array,
    config: LossConfig,
) -> tuple[jax.Array, Terms]:
    """The policy-gradient loss of one batch and its metrics (spec 1.8).

    Args:
      logp, old_logp: float ``[N, T]`` log-probs of the response tokens.
      advantages: float ``[N]`` or ``[N, T]``.
      response_mask: ``[N, T]``, 1 on valid response tokens.
      off_policy_mask: ``[N, T]``, 1 on off-policy (trace) tokens.
      config: the options.

    Returns:
      ``(loss, metrics)``: the reduced PG loss (float32 scalar; no entropy/KL term) and the
      ``actor/*`` metrics.
    """
    terms = policy_terms(logp, old_logp, advantages, response_mask, off_policy_mask, config)
    pg_only = config.replace(entropy_coef=0.0, kl_coef=0.0, sft_coef=0.0)
    return finalize(terms, pg_only)
