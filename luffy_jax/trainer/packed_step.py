"""The jitted pieces of a packed update (rows packed by :mod:`luffy_jax.trainer.packing`).

The model runs on the packed sequences (``tokens`` / ``segment_ids`` / ``positions`` int32
``[S, L]``: attention never crosses a segment); the log-probs and entropies of every packed
position are then gathered into the rows' ``[C, R]`` slots (``gather_index`` / ``gather_valid``,
local to each of the ``shards`` row shards, so no communication), and the objective runs on those
slots exactly as the padded path (:func:`luffy_jax.trainer.step.batch_terms`): same arrays, same
response width ``R``, same denominators and constant normaliser. Positions that are not a real
response token hold log-prob and entropy 0 (the padded path holds the model's value there; every
objective term masks them).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jax
import jax.numpy as jnp

from luffy_jax.models import ModelConfig, token_logprobs_and_entropy
from luffy_jax.objectives import LossConfig, accumulate, finalize
from luffy_jax.trainer import step as S


def _gather(x: jax.Array, index: jax.Array, valid: jax.Array, shards: int) -> jax.Array:
    """``x`` ``[S, L]`` -> ``[C_total, R]``: each shard's slots read its own ``S/shards`` rows."""
    per_shard = x.reshape(shards, -1)
    idx = index.reshape(shards, -1)
    out = jnp.take_along_axis(per_shard, idx, axis=1).reshape(index.shape)
    return jnp.where(valid, out, 0.0)


def packed_logprobs(params, config: ModelConfig, mb: Mapping[str, jax.Array], temperature, shards):
    """float32 ``[C_total, R]`` log-probs and entropies of the slot rows' response tokens."""
    tokens, seg = mb["tokens"], mb["segment_ids"]
    logp, ent = token_logprobs_and_entropy(
        params,
        config,
        tokens,
        attention_mask=seg > 0,
        temperature=temperature,
        segment_ids=seg,
        positions=mb["positions"],
    )  # [S, L-1]: index t predicts token t+1
    logp, ent = (jnp.pad(x, ((0, 0), (0, 1))) for x in (logp, ent))
    index, valid = mb["gather_index"], mb["gather_valid"]
    return _gather(logp, index, valid, shards), _gather(ent, index, valid, shards)


@functools.partial(jax.jit, static_argnames=("config", "shards"))
def packed_response_logprobs(
    params, config: ModelConfig, mb: Mapping[str, jax.Array], temperature, *, shards: int
):
    """The log-prob pass on one packed micro-batch: float32 ``[C_total, R]`` log-probs and
    entropies (no gradient)."""
    return packed_logprobs(params, config, mb, temperature, shards)


@functools.partial(
    jax.jit,
    static_argnames=("config", "loss_config", "objective", "shards"),
    donate_argnames=("grads", "terms"),
)
def accumulate_packed_micro_batch(
    params,
    grads,
    terms,
    mb: Mapping[str, jax.Array],
    counts: Mapping[str, jax.Array],
    temperature,
    *,
    config: ModelConfig,
    loss_config: LossConfig,
    objective: str,
    shards: int,
):
    """Packed twin of :func:`luffy_jax.trainer.step.accumulate_micro_batch`: adds one packed
    micro-batch's share of the mini-batch objective's gradient to ``grads`` and its term sums to
    ``terms``.

    ``mb`` (see :func:`luffy_jax.trainer.packing.pack`): ``tokens`` / ``segment_ids`` /
    ``positions`` int32 ``[S, L]``, ``gather_index`` int32 / ``gather_valid`` bool ``[C, R]``, and
    the slot rows' ``old_logp`` / ``response_mask`` / ``off_policy_mask`` float32 ``[C, R]``,
    ``advantages`` float32 ``[C]`` and optionally ``ref_logp`` ``[C, R]``, ``entropy_weight`` /
    ``sft_weight`` ``[C]``; ``counts`` the mini-batch's denominators. Compiles once per
    ``(S, C)`` shape (a bounded set: :func:`luffy_jax.trainer.packing.shape_set_bound`).
    """

    def loss_fn(p):
        logp, ent = packed_logprobs(p, config, mb, temperature, shards)
        t = S.batch_terms(loss_config, objective, mb, logp, ent)
        loss, _ = finalize({**t, **counts}, loss_config)
        return loss, t

    (_, mb_terms), g = jax.value_and_grad(loss_fn, has_aux=True)(params)
    return jax.tree.map(jnp.add, grads, g), accumulate(terms, mb_terms)
