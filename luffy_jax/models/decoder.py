"""The Flax Linen decoder: Qwen2/Qwen2.5, Llama 3.x and Qwen3 in one module.

Parameter names follow Hugging Face's (``layers_{i}/self_attn/q_proj``...) so that import and
export are a transpose/reshape per tensor. Every parameter carries logical axis names (see
``luffy_jax.sharding.LOGICAL_AXIS_RULES``). Shapes (``D`` hidden, ``H`` heads, ``K`` kv heads,
``Dh`` head dim, ``F`` MLP width, ``V`` vocab):

- ``embed_tokens/embedding`` ``[V, D]`` ("vocab", "embed")
- ``q_proj/kernel`` ``[D, H, Dh]``, ``k_proj``/``v_proj`` ``[D, K, Dh]``, biases ``[H|K, Dh]``
- ``o_proj/kernel`` ``[H, Dh, D]``
- ``gate_proj``/``up_proj`` ``[D, F]``, ``down_proj`` ``[F, D]``
- norms ``scale`` ``[D]`` (``q_norm``/``k_norm``: ``[Dh]``), ``lm_head/kernel`` ``[D, V]`` if untied.

Activations are constrained to their logical axes with :func:`luffy_jax.sharding.constrain`
(in force when the api functions put a mesh in context). Whole-sequence passes (training,
log-probs, prefill) run :func:`luffy_jax.models.attention.attention` with
``ModelConfig.attention_impl``; decode steps over a KV cache use the XLA path.
"""

from __future__ import annotations

from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from luffy_jax import sharding
from luffy_jax.models import attention as attn_lib
from luffy_jax.models.config import ModelConfig
from luffy_jax.models.rope import apply_rope

_INIT = nn.initializers.normal(stddev=0.02)


class KVCache(NamedTuple):
    """Per-layer keys and values, each ``[num_layers, B, num_kv_heads, S, head_dim]``."""

    k: jax.Array
    v: jax.Array


class RMSNorm(nn.Module):
    dim: int
    eps: float
    param_dtype: jnp.dtype

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        scale = self.param(
            "scale",
            nn.with_logical_partitioning(nn.initializers.ones, ("norm",)),
            (self.dim,),
            self.param_dtype,
        )
        xf = x.astype(jnp.float32)
        xf = xf * jax.lax.rsqrt(jnp.mean(xf * xf, axis=-1, keepdims=True) + self.eps)
        return (scale.astype(jnp.float32) * xf).astype(x.dtype)


def _dense(features, axis, names, dtype, param_dtype, use_bias, bias_names, name):
    return nn.DenseGeneral(
        features=features,
        axis=axis,
        use_bias=use_bias,
        dtype=dtype,
        param_dtype=param_dtype,
        kernel_init=nn.with_logical_partitioning(_INIT, names),
        bias_init=nn.with_logical_partitioning(nn.initializers.zeros, bias_names),
        precision=None,
        name=name,
    )


def attention_mask(kv_mask: jax.Array, query_slots: jax.Array) -> jax.Array:
    """bool ``[B, t, S]``: query at slot ``query_slots[j]`` (int ``[t]``, or ``[B, t]`` per row) may
    see key slot ``s`` iff ``s <= slot`` and ``kv_mask[b, s]``."""
    s = jnp.arange(kv_mask.shape[-1])
    slots = query_slots if query_slots.ndim == 2 else query_slots[None]
    causal = s[None, None, :] <= slots[:, :, None]
    return causal & kv_mask[:, None, :].astype(bool)


def write_kv(cache: KVCache, layer: int, k: jax.Array, v: jax.Array, index: jax.Array) -> KVCache:
    """Writes ``k``/``v`` ``[B, t, K, Dh]`` into layer ``layer`` of the cache
    (``[layers, B, K, S, Dh]``) at slots ``[index, index + t)``; ``index`` is an int32 scalar (all
    rows) or ``[B]`` (one per row)."""
    if jnp.ndim(index) == 0:
        start = (layer, 0, 0, index, 0)
        return KVCache(
            jax.lax.dynamic_update_slice(cache.k, _heads_major(k, cache.k.dtype)[None], start),
            jax.lax.dynamic_update_slice(cache.v, _heads_major(v, cache.v.dtype)[None], start),
        )

    # One scatter with the batch as a batching dimension: in place, and partitioned along the
    # batch when it is sharded. The cache keeps positions and head_dim minor, so the TPU compiler
    # neither relayouts nor copies it around the scatter (with positions before the KV heads it
    # copied every layer's cache on every decode step: 72 GB of temporaries per chip for the 7B
    # preset on v5p:2x2x4, found by luffy_jax.compile_check).
    b, t = k.shape[:2]
    slots = index.astype(jnp.int32)[:, None] + jnp.arange(t, dtype=jnp.int32)  # [B, t]
    starts = jnp.stack([jnp.full((b, t), layer, jnp.int32), slots], axis=-1)  # [B, t, 2]
    dims = jax.lax.ScatterDimensionNumbers(
        update_window_dims=(2, 3),
        inserted_window_dims=(0, 3),
        scatter_dims_to_operand_dims=(0, 3),
        operand_batching_dims=(1,),
        scatter_indices_batching_dims=(0,),
    )

    def scatter(c, x):
        return jax.lax.scatter(
            c, starts, x.astype(c.dtype), dims, indices_are_sorted=False, unique_indices=True
        )

    return KVCache(scatter(cache.k, k), scatter(cache.v, v))


def _heads_major(x: jax.Array, dtype) -> jax.Array:
    """``[B, t, K, Dh]`` -> ``[B, K, t, Dh]`` in ``dtype`` (the cache's order)."""
    return jnp.swapaxes(x, 1, 2).astype(dtype)


def read_kv(cache: KVCache, layer: int, length: int) -> tuple[jax.Array, jax.Array]:
    """Keys and values ``[B, K, length, Dh]`` (the cache's heads-major order) of the first
    ``length`` slots of layer ``layer`` (a decode step attends only to the filled part of a
    preallocated cache)."""
    return cache.k[layer, :, :, :length], cache.v[layer, :, :, :length]


class Attention(nn.Module):
    """Grouped-query self-attention. ``visibility`` is either int32 ``[B, t]`` segment ids (a
    whole sequence attending to itself: ``attention_impl`` runs) or bool ``[B, t, S]``, which
    cache slots each query sees (decode over a cache: the XLA path)."""

    config: ModelConfig
    packed: bool = False

    @nn.compact
    def __call__(self, x, positions, visibility, layer, cache, cache_index):
        cfg = self.config
        dt, pdt = cfg.compute_dtype, cfg.weights_dtype
        h, k, hd = cfg.num_heads, cfg.num_kv_heads, cfg.head_dim
        q = _dense(
            (h, hd),
            -1,
            ("embed", "heads", "head_dim"),
            dt,
            pdt,
            cfg.qkv_bias,
            ("heads", "head_dim"),
            "q_proj",
        )(x)
        kk = _dense(
            (k, hd),
            -1,
            ("embed", "kv_heads", "head_dim"),
            dt,
            pdt,
            cfg.qkv_bias,
            ("kv_heads", "head_dim"),
            "k_proj",
        )(x)
        vv = _dense(
            (k, hd),
            -1,
            ("embed", "kv_heads", "head_dim"),
            dt,
            pdt,
            cfg.qkv_bias,
            ("kv_heads", "head_dim"),
            "v_proj",
        )(x)
        if cfg.qk_norm:
            q = RMSNorm(hd, cfg.rms_norm_eps, pdt, name="q_norm")(q)
            kk = RMSNorm(hd, cfg.rms_norm_eps, pdt, name="k_norm")(kk)
        q = apply_rope(q, positions, cfg)
        kk = apply_rope(kk, positions, cfg)
        q = sharding.constrain(q, attn_lib.Q_AXES)
        kk = sharding.constrain(kk, attn_lib.KV_AXES)
        vv = sharding.constrain(vv, attn_lib.KV_AXES)
        if cache is not None:
            cache = write_kv(cache, layer, kk, vv, cache_index)
        if visibility.ndim == 2:  # the whole sequence attends to itself
            out = attn_lib.attention(
                q, kk, vv, visibility, impl=cfg.attention_impl, packed=self.packed
            )
        else:
            keys, values = read_kv(cache, layer, visibility.shape[-1])
            out = attn_lib.masked_attention(q, keys, values, visibility, heads_major=True)
        out = sharding.constrain(out, attn_lib.Q_AXES)
        o = _dense(
            cfg.hidden_size,
            (-2, -1),
            ("heads", "head_dim", "embed"),
            dt,
            pdt,
            False,
            ("embed",),
            "o_proj",
        )(out)
        return o, cache


class MLP(nn.Module):
    config: ModelConfig

    @nn.compact
    def __call__(self, x):
        cfg = self.config
        dt, pdt, f = cfg.compute_dtype, cfg.weights_dtype, cfg.intermediate_size
        gate = _dense(f, -1, ("embed", "mlp"), dt, pdt, False, ("mlp",), "gate_proj")(x)
        up = _dense(f, -1, ("embed", "mlp"), dt, pdt, False, ("mlp",), "up_proj")(x)
        hidden = sharding.constrain(jax.nn.silu(gate) * up, ("batch", "length", "mlp"))
        return _dense(
            cfg.hidden_size, -1, ("mlp", "embed"), dt, pdt, False, ("embed",), "down_proj"
        )(hidden)


class DecoderLayer(nn.Module):
    config: ModelConfig
    layer: int
    packed: bool = False

    @nn.compact
    def __call__(self, x, positions, visibility, cache, cache_index):
        cfg = self.config
        pdt = cfg.weights_dtype
        h = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, pdt, name="input_layernorm")(x)
        attn, cache = Attention(cfg, self.packed, name="self_attn")(
            h, positions, visibility, self.layer, cache, cache_index
        )
        x = x + attn
        h = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, pdt, name="post_attention_layernorm")(x)
        x = x + MLP(cfg, name="mlp")(h)
        x = sharding.constrain(x, ("batch", "length", "embed"))
        return x, cache


class Decoder(nn.Module):
    """Embedding, ``num_layers`` decoder layers and the final norm; ``lm_head`` for untied models.

    ``packed``: the caller's segment ids may hold several segments per row (static; the
    ``"cudnn"`` attention cannot run such rows).
    """

    config: ModelConfig
    packed: bool = False

    def setup(self):
        cfg = self.config
        self.embed_tokens = nn.Embed(
            cfg.vocab_size,
            cfg.hidden_size,
            dtype=cfg.compute_dtype,
            param_dtype=cfg.weights_dtype,
            embedding_init=nn.with_logical_partitioning(_INIT, ("vocab", "embed")),
        )
        layer_cls = nn.remat(DecoderLayer, static_argnums=()) if cfg.remat else DecoderLayer
        self.layers = [
            layer_cls(cfg, i, self.packed, name=f"layers_{i}") for i in range(cfg.num_layers)
        ]
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps, cfg.weights_dtype)
        if not cfg.tie_word_embeddings:
            self.lm_head = _dense(
                cfg.vocab_size,
                -1,
                ("embed", "vocab"),
                jnp.float32,
                cfg.weights_dtype,
                False,
                ("vocab",),
                None,
            )

    def __call__(self, tokens, positions, kv_mask, cache=None, cache_index=None, segment_ids=None):
        """tokens/positions int ``[B, t]``, kv_mask bool ``[B, S]`` -> (hidden ``[B, t, D]``, cache).

        Without a cache, or with ``cache_index`` the static ``0`` (a prefill), the ``t`` tokens
        attend to each other only (whole-sequence attention, ``attention_impl``), within
        ``segment_ids`` (default: 1 where ``kv_mask[:, :t]``, 0 elsewhere). Otherwise (decode)
        query ``j`` sees cache slots ``<= cache_index + j`` where ``kv_mask`` holds.
        """
        x = self.embed_tokens(tokens)
        x = sharding.constrain(x, ("batch", "length", "embed"))
        t = tokens.shape[1]
        whole = cache is None or (isinstance(cache_index, int) and cache_index == 0)
        start = (
            jnp.zeros((), jnp.int32) if cache_index is None else jnp.asarray(cache_index, jnp.int32)
        )
        if whole:
            if segment_ids is None:
                segment_ids = attn_lib.segment_ids_from_mask(kv_mask[:, :t])
            visibility = segment_ids.astype(jnp.int32)
        elif segment_ids is not None:
            raise ValueError("segment_ids apply to whole-sequence passes, not to decode steps")
        else:
            visibility = attention_mask(kv_mask, start[..., None] + jnp.arange(t))
        for layer in self.layers:
            x, cache = layer(x, positions, visibility, cache, start)
        return self.norm(x), cache

    def logits(self, hidden):
        """float32 ``[..., V]`` logits of float hidden states ``[..., D]``."""
        if self.config.tie_word_embeddings:
            emb = self.embed_tokens.embedding.astype(jnp.float32)
            return jnp.einsum("...d,vd->...v", hidden.astype(jnp.float32), emb)
        return self.lm_head(hidden.astype(jnp.float32))

    def init_all(self, tokens):
        positions = jnp.zeros_like(tokens)
        hidden, _ = self(tokens, positions, jnp.ones(tokens.shape, bool))
        return self.logits(hidden)
