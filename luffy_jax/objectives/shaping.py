"""Shaping functions: what each token's loss multiplies the advantage by.

All functions take log-probabilities (float arrays of any shape) and return an array of the same
shape. They are written in terms of ``exp`` of log-probabilities so that gradients stay finite for
tiny probabilities.

Off-policy tokens (the trace; official ``off_policy_reshape``), with ``p = exp(logp)`` the current
policy probability and the behaviour probability taken as 1 (no stop-gradient, no old probability):

=========  =========================  ============================================
name       f(p)                       d f / d logp
=========  =========================  ============================================
p_div_p    p / (p + gamma)            p gamma / (p + gamma)^2   (LUFFY, gamma=0.1)
none       p                          p
logp       w log p                    w                          (an advantage-weighted NLL)
p_logp     p + w log p                p + w
sqrt       p ** 0.5                   0.5 p ** 0.5
pow        p ** k                     k p ** k
=========  =========================  ============================================

On-policy tokens (official ``on_policy_reshape``), with ``r = exp(logp - logp_old)``:
``none`` -> r; ``logp`` -> logp - logp_old; ``p_logp`` -> r + w (logp - logp_old); ``sqrt`` -> r ** 0.5;
``pow`` -> r ** k; ``p_div_p`` -> [p / (p + g)] / [p_old / (p_old + g)].

New variants are one function and one registry line each.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from luffy_jax.objectives.config import LossConfig

OffPolicyFn = Callable[[jax.Array, LossConfig], jax.Array]
OnPolicyFn = Callable[[jax.Array, jax.Array, LossConfig], jax.Array]

OFF_POLICY_REGISTRY: dict[str, OffPolicyFn] = {}
ON_POLICY_REGISTRY: dict[str, OnPolicyFn] = {}


def register_off_policy(name: str) -> Callable[[OffPolicyFn], OffPolicyFn]:
    def wrap(fn: OffPolicyFn) -> OffPolicyFn:
        OFF_POLICY_REGISTRY[name] = fn
        return fn

    return wrap


def register_on_policy(name: str) -> Callable[[OnPolicyFn], OnPolicyFn]:
    def wrap(fn: OnPolicyFn) -> OnPolicyFn:
        ON_POLICY_REGISTRY[name] = fn
        return fn

    return wrap


@register_off_policy("p_div_p")
def _off_p_div_p(logp: jax.Array, cfg: LossConfig) -> jax.Array:
    p = jnp.exp(logp)
    return p / (p + cfg.shaping_gamma)


@register_off_policy("none")
def _off_none(logp: jax.Array, cfg: LossConfig) -> jax.Array:
    return jnp.exp(logp)


@register_off_policy("logp")
def _off_logp(logp: jax.Array, cfg: LossConfig) -> jax.Array:
    return cfg.shaping_weight * logp


@register_off_policy("p_logp")
def _off_p_logp(logp: jax.Array, cfg: LossConfig) -> jax.Array:
    return cfg.shaping_weight * logp + jnp.exp(logp)


@register_off_policy("sqrt")
def _off_sqrt(logp: jax.Array, cfg: LossConfig) -> jax.Array:
    return jnp.exp(0.5 * logp)


@register_off_policy("pow")
def _off_pow(logp: jax.Array, cfg: LossConfig) -> jax.Array:
    return jnp.exp(cfg.shaping_pow * logp)


@register_on_policy("none")
def _on_none(logp: jax.Array, old_logp: jax.Array, cfg: LossConfig) -> jax.Array:
    return jnp.exp(logp - old_logp)


@register_on_policy("logp")
def _on_logp(logp: jax.Array, old_logp: jax.Array, cfg: LossConfig) -> jax.Array:
    return logp - old_logp


@register_on_policy("p_logp")
def _on_p_logp(logp: jax.Array, old_logp: jax.Array, cfg: LossConfig) -> jax.Array:
    return jnp.exp(logp - old_logp) + cfg.on_shaping_weight * (logp - old_logp)


@register_on_policy("sqrt")
def _on_sqrt(logp: jax.Array, old_logp: jax.Array, cfg: LossConfig) -> jax.Array:
    return jnp.exp(0.5 * (logp - old_logp))


@register_on_policy("pow")
def _on_pow(logp: jax.Array, old_logp: jax.Array, cfg: LossConfig) -> jax.Array:
    return jnp.exp(cfg.on_shaping_pow * (logp - old_logp))


@register_on_policy("p_div_p")
def _on_p_div_p(logp: jax.Array, old_logp: jax.Array, cfg: LossConfig) -> jax.Array:
    g = cfg.on_shaping_gamma
    p, p_old = jnp.exp(logp), jnp.exp(old_logp)
    return (p / (p + g)) / (p_old / (p_old + g))


def off_policy_value(logp: jax.Array, cfg: LossConfig) -> jax.Array:
    """``f(p)`` for off-policy tokens under ``cfg.off_policy_shaping`` (no clamps)."""
    return OFF_POLICY_REGISTRY[cfg.off_policy_shaping](logp, cfg)


def on_policy_ratio(logp: jax.Array, old_logp: jax.Array, cfg: LossConfig) -> jax.Array:
    """The on-policy "ratio" under ``cfg.on_policy_shaping`` (before clipping)."""
    return ON_POLICY_REGISTRY[cfg.on_policy_shaping](logp, old_logp, cfg)
