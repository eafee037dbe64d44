"""Rollout generation: bucketed prefill, prefix sharing over n samples, a jitted ``while_loop``
decode over a donated, preallocated KV cache, and waves for rollouts larger than device memory.

Shapes: ``b`` prompts in a wave, ``R = b * n`` rows, ``P`` bucketed prompt length, ``S = P + T``
cache slots with ``T = max_new_tokens``. Prompts are left-padded so that every row's first new token
goes to slot ``P``; row ``r`` of the rollout always draws from ``fold_in(fold_in(key, r), step)``,
so results do not depend on wave size, padding or sharding.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding

from luffy_jax import distributed, sharding
from luffy_jax.models import (
    KVCache,
    ModelConfig,
    decoder_forward,
    init_cache,
    positions_from_mask,
    project_logits,
    shard_params,
)
from luffy_jax.sampling.config import SampleOutput, SamplingConfig
from luffy_jax.sampling.strategies import choose_tokens

CACHE_LOGICAL_AXES = ("layers", "batch", "kv_length", "kv_heads", "head_dim")


def generate(
    params,
    config: ModelConfig,
    prompts: Sequence[Sequence[int]],
    key: jax.Array,
    sampling_config: SamplingConfig,
    *,
    n: int = 1,
    mesh: Mesh | None = None,
) -> SampleOutput:
    """Samples ``n`` continuations of each prompt.

    Args:
      params, config: the policy (the same arrays the trainer updates).
      prompts: ``B`` lists of token ids, of any (non-zero) lengths.
      key: a PRNG key; the output is a deterministic function of it.
      sampling_config: temperature / top-p / top-k / EOS / lengths / waves.
      n: samples per prompt; each prompt is prefilled once and its cache shared by its n samples.
      mesh: optional ``('data', 'fsdp', 'tensor')`` mesh: rows over ``data x fsdp``, KV heads
        over ``tensor``; parameters are placed by their logical axes. On a mesh spanning several
        processes every process passes the same prompts and receives every row.

    Returns:
      :class:`SampleOutput` with ``B * n`` rows, the samples of prompt i consecutive.
    """
    sc = sampling_config
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    prompts = [list(map(int, p)) for p in prompts]
    if not prompts:
        raise ValueError("prompts is empty")
    for i, p in enumerate(prompts):
        if not p:
            raise ValueError(f"prompt {i} is empty")
        if min(p) < 0 or max(p) >= config.vocab_size:
            raise ValueError(f"prompt {i} has a token id outside [0, {config.vocab_size})")
    longest = max(len(p) for p in prompts)
    if longest + sc.max_new_tokens > config.max_position_embeddings:
        raise ValueError(
            f"prompt length {longest} + max_new_tokens {sc.max_new_tokens} exceeds the model's "
            f"max_position_embeddings {config.max_position_embeddings}"
        )
    divisor = sharding.batch_divisor(mesh) if mesh is not None else 1
    if mesh is not None:
        params = shard_params(params, config, mesh)
    bucket = _round_up(longest, sc.prompt_bucket)
    fit = distributed.agree_min(_rows_that_fit(config, bucket + sc.max_new_tokens))
    max_rows = sc.max_concurrent or fit or len(prompts) * n
    per_wave = max(1, max_rows // n)
    per_wave = _round_up(min(per_wave, len(prompts)), divisor)
    outputs = []
    for start in range(0, len(prompts), per_wave):
        wave = prompts[start : start + per_wave]
        outputs.append(_generate_wave(params, config, wave, per_wave, start * n, key, sc, n, mesh))
    tokens, logprobs, lengths = (np.concatenate(parts) for parts in zip(*outputs))
    rows = len(prompts) * n
    return SampleOutput(
        jnp.asarray(tokens[:rows]), jnp.asarray(logprobs[:rows]), jnp.asarray(lengths[:rows])
    )


def _generate_wave(params, config, wave, wave_size, first_row, key, sc, n, mesh):
    length = _round_up(max(len(p) for p in wave), sc.prompt_bucket)
    tokens = np.full((wave_size, length), sc.pad_id, np.int32)
    mask = np.zeros((wave_size, length), bool)
    tokens[:, -1] = 0
    mask[:, -1] = True  # padding prompts (beyond the wave) are one token long; trimmed afterwards
    for i, p in enumerate(wave):
        tokens[i, :] = sc.pad_id
        mask[i, :] = False
        tokens[i, length - len(p) :] = p
        mask[i, length - len(p) :] = True
    rows = np.arange(first_row, first_row + wave_size * n)
    row_keys = jax.vmap(lambda r: jax.random.fold_in(key, r))(jnp.asarray(rows, jnp.uint32))
    cache_sharding = None
    tokens_j, mask_j = jnp.asarray(tokens), jnp.asarray(mask)
    if mesh is not None:
        cache_shape = jax.ShapeDtypeStruct(
            (
                config.num_layers,
                wave_size * n,
                length + sc.max_new_tokens,
                config.num_kv_heads,
                config.head_dim,
            ),
            config.compute_dtype,
        )
        cache_sharding = sharding.logical_to_sharding(CACHE_LOGICAL_AXES, mesh, cache_shape)
        rows_sharding = sharding.batch_sharding(mesh, 2)
        tokens_j = distributed.put(tokens, rows_sharding)
        mask_j = distributed.put(mask, rows_sharding)
        row_keys = distributed.put(row_keys, sharding.batch_sharding(mesh, 1))
    logits, cache, kv_mask, next_pos = _prefill(
        params, config, tokens_j, mask_j, length + sc.max_new_tokens, n, cache_sharding
    )
    out, _ = _decode(params, config, sc, logits, cache, kv_mask, next_pos, row_keys, length)
    return tuple(distributed.fetch(x) for x in out)  # the whole rollout on every process


@functools.partial(jax.jit, static_argnames=("config", "max_len", "n", "cache_sharding"))
def _prefill(
    params,
    config: ModelConfig,
    tokens,
    mask,
    max_len: int,
    n: int,
    cache_sharding: NamedSharding | None,
):
    """Prefills left-padded prompts ``[b, P]`` once into a cache of ``max_len`` slots, then repeats
    the cache (and the last logits, key masks, next positions) for the n samples of each prompt."""
    b, length = tokens.shape
    cache = init_cache(config, b, max_len)
    kv_mask = jnp.zeros((b, max_len), bool).at[:, :length].set(mask)
    positions = positions_from_mask(mask)
    hidden, cache = decoder_forward(
        params, config, tokens, positions, kv_mask=kv_mask, cache=cache, cache_index=0
    )
    logits = project_logits(params, config, hidden[:, -1])
    cache = KVCache(jnp.repeat(cache.k, n, axis=1), jnp.repeat(cache.v, n, axis=1))
    if cache_sharding is not None:
        cache = KVCache(*(jax.lax.with_sharding_constraint(c, cache_sharding) for c in cache))
    next_pos = mask.sum(-1).astype(jnp.int32)
    return (
        jnp.repeat(logits, n, axis=0),
        cache,
        jnp.repeat(kv_mask, n, axis=0),
        jnp.repeat(next_pos, n, axis=0),
    )


@functools.partial(
    jax.jit, static_argnames=("config", "sc", "start_slot"), donate_argnames=("cache",)
)
def _decode(
    params,
    config: ModelConfig,
    sc: SamplingConfig,
    logits,
    cache: KVCache,
    kv_mask,
    pos,
    row_keys,
    start_slot: int,
):
    """Decodes ``R`` rows from slot ``start_slot`` until every row is done (or T tokens)."""
    rows, steps = logits.shape[0], sc.max_new_tokens
    eos = jnp.asarray(sc.eos_ids if sc.eos_ids else (-1,), jnp.int32)

    def cond(state):
        i, done = state[0], state[4]
        return (i < steps) & ~jnp.all(done)

    def body(state):
        i, toks, lps, lengths, done, logits, cache, kv_mask, pos = state
        keys = jax.vmap(lambda k: jax.random.fold_in(k, i))(row_keys)
        tok, lp = choose_tokens(
            logits, keys, temperature=sc.temperature, top_k=sc.top_k, top_p=sc.top_p
        )
        tok = jnp.where(done, sc.pad_id, tok)
        lp = jnp.where(done, 0.0, lp)
        toks = toks.at[:, i].set(tok)
        lps = lps.at[:, i].set(lp)
        lengths = jnp.where(done, lengths, i + 1)
        hit_eos = jnp.any(tok[:, None] == eos[None, :], axis=-1) & (not sc.ignore_eos)
        slot = start_slot + i
        kv_mask = kv_mask.at[:, slot].set(~done)
        hidden, cache = decoder_forward(
            params,
            config,
            tok[:, None],
            pos[:, None],
            kv_mask=kv_mask,
            cache=cache,
            cache_index=slot,
        )
        logits = project_logits(params, config, hidden[:, 0])
        return i + 1, toks, lps, lengths, done | hit_eos, logits, cache, kv_mask, pos + 1

    state = (
        jnp.zeros((), jnp.int32),
        jnp.full((rows, steps), sc.pad_id, jnp.int32),
        jnp.zeros((rows, steps), jnp.float32),
        jnp.zeros((rows,), jnp.int32),
        jnp.zeros((rows,), bool),
        logits,
        cache,
        kv_mask,
        pos,
    )
    state = jax.lax.while_loop(cond, body, state)
    # The final cache is returned (and dropped by the caller) so that XLA can alias the donated
    # input cache to the loop's carry instead of holding two copies.
    return (state[1], state[2], state[3]), state[6]


def _round_up(x: int, m: int) -> int:
    return int(math.ceil(x / m) * m)


def _rows_that_fit(config: ModelConfig, slots: int) -> int | None:
    """Rows whose KV cache and logits fit in half of the first local device's free memory, if
    known."""
    try:
        stats = jax.local_devices()[0].memory_stats()
    except Exception:  # backends without memory stats
        return None
    if not stats or "bytes_limit" not in stats:
        return None
    free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
    itemsize = jnp.dtype(config.compute_dtype).itemsize
    per_row = 2 * config.num_layers * slots * config.num_kv_heads * config.head_dim * itemsize
    per_row += 4 * config.vocab_size * 4
    return max(1, int(0.5 * free // per_row))
