"""Choosing the next token from logits: temperature, top-k, top-p, greedy. Pure functions."""

from __future__ import annotations

import jax
import jax.numpy as jnp

_NEG = -1e30


def filter_top_k(logits: jax.Array, k: int) -> jax.Array:
    """Keeps the ``k`` largest logits of each row (ties at the boundary kept); others -> -1e30."""
    if k <= 0 or k >= logits.shape[-1]:
        return logits
    kth = jax.lax.top_k(logits, k)[0][..., -1:]
    return jnp.where(logits >= kth, logits, _NEG)


def filter_top_p(logits: jax.Array, p: float) -> jax.Array:
    """Keeps the smallest set of most likely tokens whose probability reaches ``p`` (at least one)."""
    if p >= 1.0:
        return logits
    order = jnp.argsort(-logits, axis=-1)
    sorted_logits = jnp.take_along_axis(logits, order, axis=-1)
    probs = jax.nn.softmax(sorted_logits, axis=-1)
    mass_before = jnp.cumsum(probs, axis=-1) - probs
    keep_sorted = mass_before < p
    keep = (
        jnp.zeros_like(keep_sorted).at[jnp.arange(logits.shape[0])[:, None], order].set(keep_sorted)
    )
    return jnp.where(keep, logits, _NEG)


def choose_tokens(
    logits: jax.Array,
    keys: jax.Array,
    *,
    temperature: float,
    top_k: int = 0,
    top_p: float = 1.0,
) -> tuple[jax.Array, jax.Array]:
    """Samples one token per row.

    Args:
      logits: float32 ``[R, V]``.
      keys: ``[R]`` PRNG keys, one per row.
      temperature: 0 = greedy.

    Returns:
      ``(tokens int32 [R], logprobs float32 [R])``: log-probs under the temperature-scaled *full*
      distribution (not renormalised after top-k/top-p; T = 1 when greedy), i.e. what the trainer
      recomputes from the same logits.
    """
    logits = logits.astype(jnp.float32)
    t = temperature if temperature > 0 else 1.0
    scaled = logits / t
    full_logp = jax.nn.log_softmax(scaled, axis=-1)
    if temperature == 0:
        tokens = jnp.argmax(logits, axis=-1).astype(jnp.int32)
    else:
        filtered = filter_top_p(filter_top_k(scaled, top_k), top_p)
        tokens = jax.vmap(lambda k, lg: jax.random.categorical(k, lg))(keys, filtered).astype(
            jnp.int32
        )
    logp = jnp.take_along_axis(full_logp, tokens[:, None], axis=-1)[:, 0]
    return tokens, logp
