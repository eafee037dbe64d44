"""Pure functions over (params, config): init, sharding, forward with or without a KV cache, logits.

Every function that applies the model does so inside :func:`luffy_jax.sharding.activation_sharding`,
so that the activation sharding constraints of the decoder are in force in every jitted caller
(sampler, log-prob pass, gradient) whose parameters or inputs are sharded over a mesh, or that
runs under ``jax.set_mesh``; nothing is required of the caller.
"""

from __future__ import annotations

import functools
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
from jax.sharding import Mesh

from luffy_jax import sharding
from luffy_jax.models.config import ModelConfig
from luffy_jax.models.decoder import Decoder, KVCache

Params = dict[str, Any]


def _module(config: ModelConfig, packed: bool = False) -> Decoder:
    return Decoder(config, packed)


def init_params(config: ModelConfig, key: jax.Array) -> Params:
    """Random parameters (normal(0, 0.02) kernels, unit norms) as a plain nested dict."""
    boxed = _module(config).init(key, jnp.zeros((1, 1), jnp.int32), method=Decoder.init_all)
    return nn.meta.unbox(boxed["params"])


def param_logical_axes(config: ModelConfig) -> Any:
    """Pytree like the params, each leaf a ``PartitionSpec`` of logical axis names."""
    boxed = jax.eval_shape(
        lambda: _module(config).init(
            jax.random.key(0), jnp.zeros((1, 1), jnp.int32), method=Decoder.init_all
        )
    )
    return nn.get_partition_spec(boxed["params"])


def param_shardings(config: ModelConfig, mesh: Mesh) -> Any:
    """``NamedSharding`` for every parameter on ``mesh`` (logical rules of ``luffy_jax.sharding``)."""
    shapes = jax.eval_shape(lambda: init_params(config, jax.random.key(0)))
    return sharding.logical_to_sharding(param_logical_axes(config), mesh, shapes)


def shard_params(params: Params, config: ModelConfig, mesh: Mesh) -> Params:
    """Places ``params`` on ``mesh`` following their logical axes."""
    return jax.device_put(params, param_shardings(config, mesh))


def init_cache(config: ModelConfig, batch_size: int, max_length: int, dtype: Any = None) -> KVCache:
    """A zero KV cache ``[num_layers, batch_size, num_kv_heads, max_length, head_dim]`` (the
    cache positions and head dimension minor: the layout attention reads on TPU and GPU)."""
    shape = (config.num_layers, batch_size, config.num_kv_heads, max_length, config.head_dim)
    dt = jnp.dtype(dtype) if dtype is not None else config.compute_dtype
    return KVCache(jnp.zeros(shape, dt), jnp.zeros(shape, dt))


def decoder_forward(
    params: Params,
    config: ModelConfig,
    tokens: jax.Array,
    positions: jax.Array,
    *,
    kv_mask: jax.Array,
    cache: KVCache | None = None,
    cache_index: jax.Array | int | None = None,
    segment_ids: jax.Array | None = None,
) -> tuple[jax.Array, KVCache | None]:
    """Runs the decoder.

    Args:
      tokens, positions: int32 ``[B, t]`` (positions are the RoPE positions).
      kv_mask: bool ``[B, t]`` without a cache, ``[B, L]`` with one (``L <= S``): which key slots
        hold real tokens; a decode step reads only the first ``L`` cache slots (``L = S``: the
        whole cache).
      cache: optional :class:`KVCache`; this call's keys/values are written at slots
        ``[cache_index, cache_index + t)`` and query ``j`` attends to slots ``<= cache_index + j``.
      cache_index: int32 scalar (0 when omitted), or ``[B]`` to write each row at its own slot.
        Without a cache or with the Python int ``0`` (a prefill) the call is a whole-sequence pass
        and uses ``config.attention_impl``; a traced index (decode steps) uses the XLA attention
        over the cache.
      segment_ids: optional int32 ``[B, t]`` for whole-sequence passes: tokens attend only to
        earlier tokens of the same id (packed rows: 1, 2, ... per sequence, 0 on padding; see
        :mod:`luffy_jax.models.attention`). Default: 1 on real tokens, 0 on padding.

    Returns:
      ``(hidden, cache)``: hidden ``[B, t, hidden_size]`` (compute dtype, after the final norm) and
      the updated cache (``None`` without one).
    """
    module = _module(config, packed=segment_ids is not None)
    with sharding.activation_sharding((params, tokens, kv_mask)):
        return module.apply(
            {"params": params}, tokens, positions, kv_mask, cache, cache_index, segment_ids
        )


def project_logits(params: Params, config: ModelConfig, hidden: jax.Array) -> jax.Array:
    """float32 ``[..., V]`` logits from hidden states ``[..., D]`` (tied or untied LM head)."""
    with sharding.activation_sharding((params, hidden)):
        return _module(config).apply({"params": params}, hidden, method=Decoder.logits)


def positions_from_mask(attention_mask: jax.Array) -> jax.Array:
    """int32 ``[B, T]`` positions ``cumsum(mask) - 1`` (0 on left padding)."""
    m = attention_mask.astype(jnp.int32)
    return jnp.maximum(jnp.cumsum(m, axis=-1) - 1, 0)


def hidden_states(
    params: Params,
    config: ModelConfig,
    tokens: jax.Array,
    attention_mask: jax.Array | None = None,
    *,
    segment_ids: jax.Array | None = None,
    positions: jax.Array | None = None,
) -> jax.Array:
    """Final hidden states ``[B, T, D]`` of a (possibly padded) batch without a cache.

    ``positions`` default to :func:`positions_from_mask`; packed rows pass their per-sequence
    positions and ``segment_ids`` (see :func:`decoder_forward`).
    """
    if attention_mask is None:
        attention_mask = jnp.ones(tokens.shape, bool)
    if positions is None:
        positions = positions_from_mask(attention_mask)
    hidden, _ = decoder_forward(
        params,
        config,
        tokens,
        positions,
        kv_mask=attention_mask.astype(bool),
        segment_ids=segment_ids,
    )
    return hidden


@functools.partial(jax.jit, static_argnums=(1,))
def compute_logits(
    params: Params,
    config: ModelConfig,
    tokens: jax.Array,
    *,
    attention_mask: jax.Array | None = None,
) -> jax.Array:
    """float32 ``[B, T, V]`` logits (for tests and small batches; the trainer never calls this)."""
    return project_logits(params, config, hidden_states(params, config, tokens, attention_mask))
