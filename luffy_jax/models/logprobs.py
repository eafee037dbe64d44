"""Memory-safe token log-probabilities and entropies.

The full float32 ``[B, T, V]`` logits are never built: the ``B * (T - 1)`` predicting positions
are flattened and processed ``chunk_size`` at a time under ``lax.map``, each chunk rematerialised
in the backward pass (``jax.checkpoint``), so peak extra memory is one ``[chunk_size, V]`` float32
block (e.g. 1024 x 151,936 x 4 B = 0.6 GB) instead of ``B x T x V`` (8 x 8192 tokens: 40 GB).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from luffy_jax.models.api import Params, hidden_states, project_logits
from luffy_jax.models.config import ModelConfig


def _chunk_stats(params, config, temperature, hidden_chunk, target_chunk):
    logits = project_logits(params, config, hidden_chunk) / temperature  # [c, V] f32
    lse = jax.nn.logsumexp(logits, axis=-1)
    target = jnp.take_along_axis(logits, target_chunk[:, None], axis=-1)[:, 0]
    probs = jnp.exp(logits - lse[:, None])
    entropy = lse - jnp.sum(probs * logits, axis=-1)
    return target - lse, entropy


@functools.partial(
    jax.jit, static_argnames=("config", "chunk_size", "return_entropy", "start", "length")
)
def token_logprobs_and_entropy(
    params: Params,
    config: ModelConfig,
    tokens: jax.Array,
    *,
    attention_mask: jax.Array | None = None,
    temperature: float | jax.Array = 1.0,
    chunk_size: int = 1024,
    return_entropy: bool = True,
    start: int = 0,
    length: int | None = None,
    segment_ids: jax.Array | None = None,
    positions: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array | None]:
    """Log-prob and full-vocabulary entropy of every next token.

    Args:
      params, config: the policy.
      tokens: int32 ``[B, T]`` (prompts may be left-padded, responses right-padded).
      attention_mask: ``[B, T]``, 1 on real tokens (default: all ones).
      temperature: logits are divided by it (the rollout temperature).
      chunk_size: predicting positions per chunk (memory ``chunk_size x V`` float32).
      return_entropy: also return the entropy (else ``None``).
      start, length: only predicting positions ``start .. start + length - 1`` are projected to
        the vocabulary (default: all ``T - 1``); e.g. ``start = P - 1, length = R`` gives the
        response tokens of rows laid out as ``P`` prompt then ``R`` response columns, and skips
        the vocabulary projection of the prompt.
      segment_ids, positions: optional int32 ``[B, T]`` for packed rows (several sequences per
        row, ids 1, 2, ... and 0 on padding; positions restart at 0 in each sequence): tokens
        attend only within their segment (:func:`luffy_jax.models.api.decoder_forward`). The
        prediction at a segment's last token then targets the next segment's first token:
        callers keep only positions inside a segment (:mod:`luffy_jax.trainer.packed_step`).

    Returns:
      ``(logprobs, entropy)``, float32 ``[B, length]``: index ``t`` is about predicting
      ``tokens[:, start+t+1]`` from ``tokens[:, :start+t+1]`` under ``softmax(logits / T)``;
      entropy is ``logsumexp(z) - sum softmax(z) * z`` with ``z = logits / temperature``.
      Differentiable.
    """
    b, t = tokens.shape
    length = t - 1 - start if length is None else length
    if start < 0 or length < 1 or start + length > t - 1:
        raise ValueError(f"positions {start}..{start + length - 1} are outside 0..{t - 2}")
    hidden = hidden_states(
        params, config, tokens, attention_mask, segment_ids=segment_ids, positions=positions
    )[:, start : start + length]
    targets = tokens[:, start + 1 : start + 1 + length]
    n = b * length
    c = max(1, min(chunk_size, n))
    pad = (-n) % c
    flat_h = jnp.pad(hidden.reshape(n, -1), ((0, pad), (0, 0)))
    flat_t = jnp.pad(targets.reshape(n), (0, pad))
    chunks_h = flat_h.reshape(-1, c, flat_h.shape[-1])
    chunks_t = flat_t.reshape(-1, c)
    fn = jax.checkpoint(functools.partial(_chunk_stats, params, config, temperature))
    logp, ent = jax.lax.map(lambda xs: fn(*xs), (chunks_h, chunks_t))
    logp = logp.reshape(-1)[:n].reshape(b, length)
    ent = ent.reshape(-1)[:n].reshape(b, length)
    return logp, (ent if return_entropy else None)
