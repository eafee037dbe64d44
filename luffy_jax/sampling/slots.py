"""The device side of the slot decoder: a fixed batch of ``R`` decode slots over one preallocated
KV cache, each slot holding one rollout row at its own position. Two jitted programs act on the
donated :class:`SlotState`:

- :func:`refill`: prefills a few prompts (each once) and puts them into chosen slots, which start
  new rows there (continuous batching);
- :func:`decode_chunk`: a ``while_loop`` of decode steps attending to the first ``attend`` cache
  slots only (the filled part, bucketed), that stops when every slot is idle, when the furthest row
  reaches ``attend``, or when enough slots are idle (for a refill, or for :func:`compact`);
- :func:`compact`: once no row is pending, keeps the slots that hold active rows in a smaller
  state, so that the tail of long rows runs at a smaller batch.

Layout: ``S = P + T`` cache slots per slot, prompt left-padded into ``[0, P)``, the row's i-th new
token at ``P + i``. Row ``r`` of the rollout draws token ``i`` with
``fold_in(fold_in(key, r), i)``, so a row's samples do not depend on its slot, on when it started,
on the other rows, on the attended length or on sharding.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from luffy_jax import sharding
from luffy_jax.models import (
    KVCache,
    ModelConfig,
    decoder_forward,
    init_cache,
    positions_from_mask,
    project_logits,
)
from luffy_jax.sampling.strategies import choose_tokens

CACHE_LOGICAL_AXES = ("layers", "batch", "kv_heads", "kv_length", "head_dim")


@dataclasses.dataclass(frozen=True)
class TokenRule:
    """The parts of ``SamplingConfig`` a decode step uses (static; other fields do not recompile)."""

    temperature: float
    top_k: int
    top_p: float
    eos_ids: tuple[int, ...]
    ignore_eos: bool


class SlotState(NamedTuple):
    """Everything a run carries between programs (``R`` slots, ``N`` rollout rows, ``V`` vocab).

    cache: keys/values ``[layers, R, kv_heads, S, head_dim]``.
    kv_mask: bool ``[R, S]``, which slots of each slot's cache hold its row's tokens.
    logits: float32 ``[R, V]``, each slot's next-token logits.
    pos: int32 ``[R]``, RoPE position of each slot's next input token.
    step: int32 ``[R]``, tokens its row has generated so far.
    row: int32 ``[R]``, the rollout row a slot holds (``N`` = none yet).
    active: bool ``[R]``, the slot's row has not ended.
    tokens: int32 ``[N, T]``, logprobs: float32 ``[N, T]``, lengths: int32 ``[N]``: the output.
    """

    cache: KVCache
    kv_mask: jax.Array
    logits: jax.Array
    pos: jax.Array
    step: jax.Array
    row: jax.Array
    active: jax.Array
    tokens: jax.Array
    logprobs: jax.Array
    lengths: jax.Array


def state_shardings(config: ModelConfig, mesh: Mesh, slots: int, total_slots: int) -> SlotState:
    """Shardings of a :class:`SlotState`: slots over ``data x fsdp``, KV heads over ``tensor``, the
    output rows replicated."""
    cache_shape = jax.ShapeDtypeStruct(
        (config.num_layers, slots, config.num_kv_heads, total_slots, config.head_dim),
        config.compute_dtype,
    )
    cache = sharding.logical_to_sharding(CACHE_LOGICAL_AXES, mesh, cache_shape)
    rows1, rows2 = sharding.batch_sharding(mesh, 1), sharding.batch_sharding(mesh, 2)
    replicated = NamedSharding(mesh, PartitionSpec())
    return SlotState(
        KVCache(cache, cache),
        rows2,
        rows2,
        rows1,
        rows1,
        rows1,
        rows1,
        replicated,
        replicated,
        replicated,
    )


def _constrain(state: SlotState, shardings: SlotState | None) -> SlotState:
    if shardings is None:
        return state
    return jax.tree.map(jax.lax.with_sharding_constraint, state, shardings)


@functools.partial(
    jax.jit,
    static_argnames=(
        "config",
        "slots",
        "total_slots",
        "rows",
        "max_new_tokens",
        "pad_id",
        "shardings",
    ),
)
def init_state(
    config: ModelConfig,
    slots: int,
    total_slots: int,
    rows: int,
    max_new_tokens: int,
    pad_id: int,
    shardings: SlotState | None = None,
) -> SlotState:
    """All slots empty, an all-zero cache, outputs ``pad_id`` / 0."""
    state = SlotState(
        init_cache(config, slots, total_slots),
        jnp.zeros((slots, total_slots), bool),
        jnp.zeros((slots, config.vocab_size), jnp.float32),
        jnp.zeros((slots,), jnp.int32),
        jnp.zeros((slots,), jnp.int32),
        jnp.full((slots,), rows, jnp.int32),
        jnp.zeros((slots,), bool),
        jnp.full((rows, max_new_tokens), pad_id, jnp.int32),
        jnp.zeros((rows, max_new_tokens), jnp.float32),
        jnp.zeros((rows,), jnp.int32),
    )
    return _constrain(state, shardings)


@functools.partial(jax.jit, static_argnames=("config", "shardings"), donate_argnames=("state",))
def refill(
    params,
    config: ModelConfig,
    state: SlotState,
    prompt_tokens: jax.Array,
    prompt_mask: jax.Array,
    slot_ids: jax.Array,
    source: jax.Array,
    rows: jax.Array,
    count: jax.Array,
    shardings: SlotState | None = None,
) -> SlotState:
    """Prefills ``u`` left-padded prompts once and starts rows in slots.

    Args:
      prompt_tokens, prompt_mask: int32 / bool ``[u, P]``; every row has at least one real token.
      slot_ids, source, rows: int32 ``[R]``: entry ``j < count`` starts rollout row ``rows[j]`` from
        prompt ``source[j]`` in slot ``slot_ids[j]``; entries ``>= count`` hold ``slot_ids = R``
        (ignored).
      count: int32 scalar, the slots refilled.
    """
    u, prompt_slots = prompt_tokens.shape
    n_slots, total_slots = state.kv_mask.shape
    small = init_cache(config, u, prompt_slots)
    hidden, small = decoder_forward(
        params,
        config,
        prompt_tokens,
        positions_from_mask(prompt_mask),
        kv_mask=prompt_mask,
        cache=small,
        cache_index=0,
    )
    first_logits = project_logits(params, config, hidden[:, -1])

    def put(j, carry):
        cache, logits = carry
        slot, src = slot_ids[j], source[j]
        k = jax.lax.dynamic_slice_in_dim(small.k, src, 1, axis=1)
        v = jax.lax.dynamic_slice_in_dim(small.v, src, 1, axis=1)
        cache = KVCache(
            jax.lax.dynamic_update_slice(cache.k, k, (0, slot, 0, 0, 0)),
            jax.lax.dynamic_update_slice(cache.v, v, (0, slot, 0, 0, 0)),
        )
        lg = jax.lax.dynamic_slice_in_dim(first_logits, src, 1, axis=0)
        return cache, jax.lax.dynamic_update_slice(logits, lg, (slot, 0))

    cache, logits = jax.lax.fori_loop(0, count, put, (state.cache, state.logits))
    row_mask = jnp.zeros((slot_ids.shape[0], total_slots), bool)
    row_mask = row_mask.at[:, :prompt_slots].set(prompt_mask[source])
    state = SlotState(
        cache,
        state.kv_mask.at[slot_ids].set(row_mask, mode="drop"),
        logits,
        state.pos.at[slot_ids].set(prompt_mask.sum(-1).astype(jnp.int32)[source], mode="drop"),
        state.step.at[slot_ids].set(0, mode="drop"),
        state.row.at[slot_ids].set(rows, mode="drop"),
        state.active.at[slot_ids].set(True, mode="drop"),
        state.tokens,
        state.logprobs,
        state.lengths,
    )
    return _constrain(state, shardings)


def compact(state: SlotState, keep: jax.Array, shardings: SlotState | None = None) -> SlotState:
    """The slots ``keep`` (int32 ``[R']``, every active slot among them) as a state of ``R'``
    slots; the output rows are carried over as they are (the old slots are freed with ``state``)."""
    slot_parts = _gather_slots(
        state._replace(tokens=None, logprobs=None, lengths=None), keep, shardings
    )
    return slot_parts._replace(tokens=state.tokens, logprobs=state.logprobs, lengths=state.lengths)


@functools.partial(jax.jit, static_argnames=("shardings",))
def _gather_slots(state: SlotState, keep: jax.Array, shardings: SlotState | None) -> SlotState:
    state = jax.tree.map(lambda x: x[keep] if x.ndim < 5 else x[:, keep], state)
    if shardings is not None:
        state = jax.tree.map(
            jax.lax.with_sharding_constraint,
            state,
            shardings._replace(tokens=None, logprobs=None, lengths=None),
        )
    return state


@functools.partial(
    jax.jit,
    static_argnames=("config", "rule", "prompt_slots", "attend", "shardings"),
    donate_argnames=("state",),
)
def decode_chunk(
    params,
    config: ModelConfig,
    rule: TokenRule,
    state: SlotState,
    key: jax.Array,
    limits: jax.Array,
    stop_idle: jax.Array,
    prompt_slots: int,
    attend: int,
    shardings: SlotState | None = None,
) -> SlotState:
    """Decodes every active slot, one token per step, reading only cache slots ``[0, attend)``.

    Args:
      key: the rollout's PRNG key. limits: int32 ``[N]``, tokens row ``r`` may generate at most.
      stop_idle: int32 scalar; stop once this many slots are idle (to refill them, or to move
        the active rows into fewer slots).
      prompt_slots: ``P``, the slot of each row's first new token.
      attend: static attended length; the caller ensures ``P + step < attend`` for active slots.

    Stops when no slot is active, when the furthest active row would write at ``attend``, or when
    ``stop_idle`` slots are idle.
    """
    n_slots, total_slots = state.kv_mask.shape
    n_rows = state.tokens.shape[0]
    eos = jnp.asarray(rule.eos_ids if rule.eos_ids else (-1,), jnp.int32)
    slot_range = jnp.arange(n_slots)

    def cond(s: SlotState):
        furthest = jnp.max(jnp.where(s.active, s.step, -1))
        idle = jnp.sum(~s.active)
        return jnp.any(s.active) & (prompt_slots + furthest < attend) & (idle < stop_idle)

    def body(s: SlotState) -> SlotState:
        keys = jax.vmap(lambda r, i: jax.random.fold_in(jax.random.fold_in(key, r), i))(
            s.row, s.step
        )
        tok, lp = choose_tokens(
            s.logits, keys, temperature=rule.temperature, top_k=rule.top_k, top_p=rule.top_p
        )
        out_row = jnp.where(s.active, s.row, n_rows)  # idle slots write nowhere
        tokens = s.tokens.at[out_row, s.step].set(tok, mode="drop")
        logprobs = s.logprobs.at[out_row, s.step].set(lp, mode="drop")
        lengths = s.lengths.at[out_row].set(s.step + 1, mode="drop")
        hit_eos = jnp.any(tok[:, None] == eos[None, :], axis=-1) & (not rule.ignore_eos)
        ended = hit_eos | (s.step + 1 >= limits[jnp.minimum(s.row, n_rows - 1)])
        write = jnp.minimum(prompt_slots + s.step, total_slots - 1)
        kv_mask = s.kv_mask.at[slot_range, jnp.where(s.active, write, total_slots)].set(
            True, mode="drop"
        )
        hidden, cache = decoder_forward(
            params,
            config,
            tok[:, None],
            s.pos[:, None],
            kv_mask=kv_mask[:, :attend],
            cache=s.cache,
            cache_index=write,
        )
        logits = project_logits(params, config, hidden[:, 0])
        moved = s.active.astype(jnp.int32)
        return SlotState(
            cache,
            kv_mask,
            logits,
            s.pos + moved,
            s.step + moved,
            s.row,
            s.active & ~ended,
            tokens,
            logprobs,
            lengths,
        )

    state = jax.lax.while_loop(cond, body, state)
    return _constrain(state, shardings)
