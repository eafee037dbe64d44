"""Causal self-attention over whole sequences, with interchangeable implementations.

One entry point, :func:`attention`, takes queries, keys and values of one sequence per row and a
segment description, and returns the attention output. Which kernel runs is chosen by
``ModelConfig.attention_impl`` (see :data:`ATTENTION_IMPLS`):

- ``"xla"``: plain dot-product attention (scores ``[B, K, G, T, T]`` materialised); the reference
  and the CPU default.
- ``"splash"``: Pallas splash attention for TPU (``jax.experimental.pallas.ops.tpu``), a flash
  kernel that skips fully masked blocks; causal mask and segment ids.
- ``"cudnn"``: cuDNN flash attention through ``jax.nn.dot_product_attention`` (NVIDIA GPU,
  bfloat16/float16 only); one contiguous run of real tokens per row (see :func:`_cudnn`).
- ``"pallas_gpu"``: the Pallas (Triton) flash attention of ``jax.experimental.pallas.ops.gpu``
  (NVIDIA GPU); causal mask and segment ids, so packed rows too.

The Pallas kernels run in interpret mode when the computation targets CPU (tests); they are
called per shard inside ``shard_map`` over the activation mesh (rows over ``data x fsdp``, heads
over ``tensor``; :mod:`luffy_jax.sharding`), or directly without a mesh.

**Segments.** ``segment_ids`` int32 ``[B, T]`` say which tokens may attend to each other: query
``i`` sees key ``j`` iff ``j <= i`` (slot order) and ``segment_ids[b, i] == segment_ids[b, j]``.
A padded row uses 1 on real tokens and 0 on padding (:func:`segment_ids_from_mask`), so real
tokens never see padding and padding only sees padding: no query row is ever fully masked, and
every implementation gives finite values everywhere. Packed rows (several sequences one after
another, each with its own RoPE positions applied by the caller) use 1, 2, 3, ... per sequence and
0 on the trailing padding; because segments are contiguous, slot-order causality within a segment
is the per-sequence causality, so no positions are needed here.

Only real-token outputs are defined to match across implementations; padding outputs are finite
but implementation-specific (``"cudnn"`` returns zeros there).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec

from luffy_jax import sharding
from luffy_jax.models.config import ATTENTION_IMPLS

_NEG = -1e30
_LANES = 128  # sequence lengths of the Pallas kernels are padded to a multiple of this
Q_AXES = ("batch", "length", "heads", "head_dim")
KV_AXES = ("batch", "length", "kv_heads", "head_dim")


def segment_ids_from_mask(attention_mask: jax.Array) -> jax.Array:
    """int32 ``[B, T]`` segment ids of a padded batch: 1 on real tokens, 0 on padding."""
    return attention_mask.astype(bool).astype(jnp.int32)


def segment_causal_mask(segment_ids: jax.Array) -> jax.Array:
    """bool ``[B, T, T]``: query ``i`` may see key ``j`` iff ``j <= i`` and same segment."""
    t = segment_ids.shape[-1]
    causal = jnp.arange(t)[None, :] <= jnp.arange(t)[:, None]
    same = segment_ids[:, :, None] == segment_ids[:, None, :]
    return causal[None] & same


def masked_attention(
    q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array, *, heads_major: bool = False
) -> jax.Array:
    """Reference dot-product attention under an explicit mask (also the decode path).

    Args:
      q: ``[B, T, H, Dh]`` queries (compute dtype; RoPE applied).
      k, v: ``[B, S, K, Dh]`` keys and values (``[B, K, S, Dh]`` with ``heads_major``: a KV
        cache's own layout, read without a transpose), ``H`` a multiple of ``K`` (grouped
        queries: query head ``h`` uses key head ``h // (H // K)``).
      mask: bool ``[B, T, S]``, True where query ``t`` may see key ``s``.

    Returns:
      ``[B, T, H, Dh]`` in ``q.dtype``. Scores and softmax are float32; a fully masked query row
      averages all values uniformly (finite).
    """
    b, t, h, hd = q.shape
    kh = k.shape[1 if heads_major else 2]
    kv = "bksd" if heads_major else "bskd"
    dt = q.dtype
    qg = q.reshape(b, t, kh, h // kh, hd)
    scores = jnp.einsum(f"btkgd,{kv}->bkgts", qg, k.astype(dt), preferred_element_type=jnp.float32)
    scores = scores * (hd**-0.5)
    scores = jnp.where(mask[:, None, None, :, :], scores, _NEG)
    probs = jax.nn.softmax(scores, axis=-1).astype(dt)
    out = jnp.einsum(f"bkgts,{kv}->btkgd", probs, v.astype(dt))
    return out.reshape(b, t, h, hd)


def attention(
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    segment_ids: jax.Array,
    *,
    impl: str = "xla",
    packed: bool = False,
    interpret: bool | None = None,
) -> jax.Array:
    """Causal self-attention of ``T`` tokens per row within segments.

    Args:
      q: ``[B, T, H, Dh]`` queries (compute dtype, RoPE applied).
      k, v: ``[B, T, K, Dh]`` keys and values of the same tokens (``H`` a multiple of ``K``).
      segment_ids: int32 ``[B, T]``: see the module docstring (0 padding, 1.. segments).
      impl: one of :data:`ATTENTION_IMPLS`.
      packed: static; True when a row may hold more than one segment (``"cudnn"`` cannot, and
        raises).
      interpret: run Pallas kernels in interpret mode; ``None``: when the target is CPU.

    Returns:
      ``[B, T, H, Dh]`` in ``q.dtype``; differentiable with respect to ``q``, ``k``, ``v``.
    """
    if impl not in ATTENTION_IMPLS:
        raise ValueError(f"attention_impl {impl!r} is not one of {ATTENTION_IMPLS}")
    if q.shape[1] != k.shape[1] or segment_ids.shape != q.shape[:2]:
        raise ValueError(
            f"attention: self-attention needs q {q.shape[:2]}, k {k.shape[:2]} and segment_ids "
            f"{segment_ids.shape} to share [B, T]"
        )
    if impl == "xla":
        return masked_attention(q, k, v, segment_causal_mask(segment_ids))
    if interpret is None:
        interpret = _target_platform() == "cpu"
    if impl == "splash":
        kernel = functools.partial(_splash, interpret=interpret)
    elif impl == "pallas_gpu":
        kernel = functools.partial(_pallas_gpu, interpret=interpret)
    else:
        if packed:
            raise NotImplementedError(
                "attention_impl='cudnn' supports one run of real tokens per row (padding), not "
                "packed segments; use 'pallas_gpu' (or 'xla') for packed rows"
            )
        if q.dtype not in (jnp.bfloat16, jnp.float16):
            raise ValueError(
                f"attention_impl='cudnn' needs a bfloat16/float16 compute dtype, got {q.dtype}"
            )
        kernel = functools.partial(_cudnn, implementation="cudnn")
    return _per_shard(kernel, q, k, v, segment_ids)


def _target_platform() -> str:
    """The platform the traced computation targets: the activation mesh's devices (e.g. a TPU
    topology compiled from a CPU host), else JAX's default backend."""
    mesh = sharding.activation_mesh()
    device = getattr(mesh, "abstract_device", None) if mesh is not None else None
    return getattr(device, "platform", None) or jax.default_backend()


def _per_shard(
    kernel: Callable[..., jax.Array],
    q: jax.Array,
    k: jax.Array,
    v: jax.Array,
    segment_ids: jax.Array,
) -> jax.Array:
    """Runs ``kernel(q, k, v, segment_ids)`` on each shard of the activation mesh (rows over
    ``data x fsdp``, heads over ``tensor``), or once when no mesh is in context.

    KV heads that the ``tensor`` axis does not divide while the query heads are split are
    repeated to one per query head first, so every shard holds the KV heads of its query heads.
    """
    mesh = sharding.activation_mesh()
    if mesh is None:
        return kernel(q, k, v, segment_ids)
    q_spec = sharding.logical_spec(Q_AXES, mesh, q.shape)
    kv_spec = sharding.logical_spec(KV_AXES, mesh, k.shape)
    if q_spec[2] is not None and kv_spec[2] != q_spec[2]:
        groups = q.shape[2] // k.shape[2]
        k, v = (jnp.repeat(x, groups, axis=2) for x in (k, v))
        kv_spec = sharding.logical_spec(KV_AXES, mesh, k.shape)
    if kv_spec[0] != q_spec[0]:
        kv_spec = PartitionSpec(q_spec[0], *kv_spec[1:])
    seg_spec = PartitionSpec(q_spec[0], None)
    fn = jax.shard_map(
        kernel,
        mesh=mesh,
        in_specs=(q_spec, kv_spec, kv_spec, seg_spec),
        out_specs=q_spec,
        check_vma=False,
    )
    return fn(q, k, v, segment_ids)


def _pad_length(q, k, v, segment_ids, multiple: int):
    """Pads the length axis to a multiple of ``multiple`` (new tokens: segment 0, i.e. padding)."""
    t = q.shape[1]
    pad = (-t) % multiple
    if not pad:
        return q, k, v, segment_ids
    widths = ((0, 0), (0, pad), (0, 0), (0, 0))
    q, k, v = (jnp.pad(x, widths) for x in (q, k, v))
    return q, k, v, jnp.pad(segment_ids, ((0, 0), (0, pad)))


def _block(length: int) -> int:
    """The largest of 512, 256, 128 that divides ``length`` (a multiple of 128)."""
    return next(b for b in (512, 256, 128) if length % b == 0)


def _splash(q, k, v, segment_ids, *, interpret: bool):
    """Splash attention on one shard: ``[b, T, h, Dh]`` with ``[b, T, kh, Dh]`` keys/values."""
    from jax.experimental.pallas.ops.tpu import splash_attention as splash

    t, h, hd = q.shape[1], q.shape[2], q.shape[3]
    q, k, v, seg = _pad_length(q, k, v, segment_ids, _LANES)
    tp = q.shape[1]
    blk = _block(tp)
    sizes = splash.BlockSizes(
        block_q=blk,
        block_kv=blk,
        block_kv_compute=blk,
        block_q_dkv=blk,
        block_kv_dkv=blk,
        block_kv_dkv_compute=blk,
        block_q_dq=blk,
        block_kv_dq=blk,
    )
    mask = splash.MultiHeadMask([splash.CausalMask((tp, tp)) for _ in range(h)])
    kernel = splash.make_splash_mha(
        mask, block_sizes=sizes, head_shards=1, q_seq_shards=1, interpret=interpret
    )
    scale = jnp.asarray(hd**-0.5, q.dtype)
    qh, kh, vh = (x.transpose(0, 2, 1, 3) for x in (q * scale, k, v))  # [b, heads, T, Dh]

    def one_row(qr, kr, vr, sr):
        return kernel(qr, kr, vr, segment_ids=splash.SegmentIds(q=sr, kv=sr))

    out = jax.vmap(one_row)(qh, kh, vh, seg)
    return out.transpose(0, 2, 1, 3)[:, :t].astype(q.dtype)


def _pallas_gpu(q, k, v, segment_ids, *, interpret: bool):
    """The Pallas (Triton) flash attention on one shard; KV heads repeated to the query heads."""
    from jax.experimental.pallas.ops.gpu import attention as gpu_attention

    t, h, hd = q.shape[1], q.shape[2], q.shape[3]
    groups = h // k.shape[2]
    k, v = (jnp.repeat(x, groups, axis=2) for x in (k, v))
    q, k, v, seg = _pad_length(q, k, v, segment_ids, _LANES)
    out = gpu_attention.mha(
        q,
        k,
        v,
        seg,
        sm_scale=hd**-0.5,
        causal=True,
        interpret=interpret,
    )
    return out[:, :t].astype(q.dtype)


def _cudnn(q, k, v, segment_ids, *, implementation: str):
    """``jax.nn.dot_product_attention`` with sequence lengths, for one contiguous run of real
    tokens per row (left and/or right padding).

    cuDNN's padding mask keeps the first ``n`` tokens of a row; our rows are left-padded prompts
    followed by right-padded responses. Each row is rotated so that its run of real tokens starts
    at slot 0 (causal order inside the run is kept), attended with ``query_seq_lengths =
    key_value_seq_lengths = n``, and rotated back. Padding outputs are zeros. ``implementation``
    is ``"cudnn"`` in the model (``"xla"`` lets tests check the construction on CPU).
    """
    t = q.shape[1]
    real = segment_ids != 0
    start = jnp.argmax(real, axis=-1).astype(jnp.int32)  # first real slot (0 if none)
    lengths = jnp.maximum(real.sum(-1), 1).astype(jnp.int32)
    slots = jnp.arange(t, dtype=jnp.int32)[None, :]
    fwd = (slots + start[:, None]) % t
    back = (slots - start[:, None]) % t

    def rotate(x, idx):
        return jnp.take_along_axis(x, idx[:, :, None, None], axis=1)

    out = jax.nn.dot_product_attention(
        rotate(q, fwd),
        rotate(k, fwd),
        rotate(v, fwd),
        scale=q.shape[-1] ** -0.5,
        is_causal=True,
        query_seq_lengths=lengths,
        key_value_seq_lengths=lengths,
        implementation=implementation,
    )
    return rotate(out, back).astype(q.dtype)


__all__ = [
    "ATTENTION_IMPLS",
    "attention",
    "masked_attention",
    "segment_causal_mask",
    "segment_ids_from_mask",
]
