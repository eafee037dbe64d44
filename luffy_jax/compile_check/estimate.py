"""From compiled pieces to a step-time estimate: Pallas kernel costs by formula, roofline times,
the step's split, tokens/s and the update's MFU.

The roofline time of one call is ``max(FLOPs / peak, HBM bytes / HBM bandwidth, ICI bytes / ICI
bandwidth)`` per chip: a lower bound that assumes perfect overlap and full-rate matmuls.
"""

from __future__ import annotations

import math

from luffy_jax.compile_check.chips import ChipSpec
from luffy_jax.models import ModelConfig

_LANES = 128  # the Pallas kernels pad the length to a multiple of this (models.attention)


def _block(length: int) -> int:
    return next(b for b in (512, 256, 128) if length % b == 0)


def flash_attention_cost(
    config: ModelConfig, rows: int, length: int, row_shards: int, head_shards: int
) -> tuple[float, float]:
    """Per-chip ``(FLOPs, HBM bytes)`` of one causal flash-attention forward over all layers.

    ``rows`` sequences of ``length`` tokens, split ``row_shards`` ways by rows and
    ``head_shards`` ways by heads (each only where it divides, as ``attention._per_shard``).
    FLOPs: ``QK^T`` and ``PV`` over the visited blocks of the lower triangle
    (``4 rows heads T^2 Dh`` times the visited fraction ``(nb + 1) / (2 nb)``). Bytes: queries and
    outputs once, keys and values once per visited block.
    """
    t = math.ceil(length / _LANES) * _LANES
    nb = t // _block(t)
    visited = (nb + 1) / (2 * nb)
    b = rows // row_shards if rows % row_shards == 0 else rows
    h = config.num_heads // head_shards if config.num_heads % head_shards == 0 else config.num_heads
    hd, item = config.head_dim, config.compute_dtype.itemsize
    flops = 4.0 * b * h * t * t * hd * visited
    qo = 2.0 * b * h * t * hd * item
    kv = 2.0 * b * h * t * hd * item * nb * visited
    return config.num_layers * flops, config.num_layers * (qo + kv)


def kernel_cost(
    config: ModelConfig,
    piece: str,
    rows: int,
    length: int,
    row_shards: int,
    head_shards: int,
) -> tuple[float, float]:
    """Per-chip ``(FLOPs, bytes)`` of the attention kernels inside one call of ``piece``, which
    XLA's cost analysis does not see (Pallas / custom calls): zero for ``attention_impl="xla"``
    and for decode steps (XLA attention over the cache). Forward passes count 1 kernel pass; the
    gradient counts the forward, its rematerialisation when ``config.remat``, and a backward of
    2.5 forwards (dQ, dK, dV plus the recomputed probabilities) reading the inputs twice."""
    if config.attention_impl == "xla" or piece in ("sampler_decode_step", "optimizer_update"):
        return 0.0, 0.0
    flops, nbytes = flash_attention_cost(config, rows, length, row_shards, head_shards)
    if piece == "micro_batch_grad":
        forwards = 2.0 if config.remat else 1.0
        return flops * (forwards + 2.5), nbytes * (forwards + 2.0)
    return flops, nbytes


def roofline_s(flops: float, hbm_bytes: float, ici_bytes: float, chip: ChipSpec) -> float:
    """Lower-bound seconds of one call on one chip."""
    return max(
        flops / (chip.peak_tflops * 1e12),
        hbm_bytes / (chip.hbm_gbps * 1e9),
        ici_bytes / (chip.ici_gbps * 1e9),
    )


def bound_of(flops: float, hbm_bytes: float, ici_bytes: float, chip: ChipSpec) -> str:
    """Which term of :func:`roofline_s` is the largest: ``"compute"``, ``"hbm"`` or ``"ici"``."""
    times = {
        "compute": flops / (chip.peak_tflops * 1e12),
        "hbm": hbm_bytes / (chip.hbm_gbps * 1e9),
        "ici": ici_bytes / (chip.ici_gbps * 1e9),
    }
    return max(times, key=times.get)


def matmul_params(config: ModelConfig) -> int:
    """Parameters that take part in matmuls (``N`` of ``6 N`` FLOPs per token): all but the input
    embedding of an untied model (a tied embedding is the LM head, so it counts)."""
    n = config.num_params()
    if not config.tie_word_embeddings:
        n -= config.vocab_size * config.hidden_size
    return n
