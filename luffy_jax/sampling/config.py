"""``SamplingConfig`` and ``SampleOutput``."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax


@dataclasses.dataclass(frozen=True)
class SamplingConfig:
    """How to sample. Frozen and hashable (a static ``jit`` argument).

    Attributes:
      max_new_tokens: tokens generated per row at most.
      temperature: softmax temperature; 0 means greedy (argmax).
      top_p: nucleus sampling mass (1.0 = off).
      top_k: keep the k most likely tokens (0 = off).
      eos_ids: a row stops after emitting any of these (the EOS is kept in the output).
      pad_id: written after a row's end.
      ignore_eos: never stop early (benchmarks with random weights).
      max_concurrent: rows decoded at once, the decode slots (a larger rollout refills the slots of
        finished rows); ``None`` = derived from free device memory where the backend reports it,
        else all rows at once.
      prompt_bucket: prompt lengths are rounded up to a multiple of this, so compiles stay few.
      decode_buckets: the cache of ``S = prompt + max_new_tokens`` slots is cut into this many
        equal blocks; a decode step reads only the blocks up to the longest row's current position
        (one compiled decode program per block count and batch size in use, at most
        ``decode_buckets * compact_sizes``). 1 = always the whole cache.
      refill: continuous batching: when rows end, their slots take the next pending rows of the
        rollout (prefilled mid-run); False = waves (a wave starts when the previous one has ended).
        Either way every row's samples are the same; only the cost differs.
      compact_sizes: once no row is pending, the active rows move into a batch of half, a
        quarter... of the slots (one cache copy each time) as soon as they fit, so that a tail of
        long rows costs what its own rows cost; this many batch sizes at most (1 = never).
      refill_min_free: decoding pauses to refill once this many slots are free (fewer pauses,
        more idle slots); ``None`` = ``max(n, slots // 16)``: whole prompts, whose n samples then
        share one prefill.
    """

    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    eos_ids: tuple[int, ...] = ()
    pad_id: int = 0
    ignore_eos: bool = False
    max_concurrent: int | None = None
    prompt_bucket: int = 64
    decode_buckets: int = 8
    refill: bool = True
    compact_sizes: int = 4
    refill_min_free: int | None = None

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise ValueError(f"max_concurrent must be >= 1, got {self.max_concurrent}")
        if self.prompt_bucket < 1:
            raise ValueError(f"prompt_bucket must be >= 1, got {self.prompt_bucket}")
        if self.decode_buckets < 1:
            raise ValueError(f"decode_buckets must be >= 1, got {self.decode_buckets}")
        if self.compact_sizes < 1:
            raise ValueError(f"compact_sizes must be >= 1, got {self.compact_sizes}")
        if self.refill_min_free is not None and self.refill_min_free < 1:
            raise ValueError(f"refill_min_free must be >= 1, got {self.refill_min_free}")
        object.__setattr__(self, "eos_ids", tuple(int(e) for e in self.eos_ids))


class SampleOutput(NamedTuple):
    """Generated rows, grouped by prompt (the n samples of prompt i are rows ``i*n .. i*n+n-1``).

    tokens: int32 ``[B*n, max_new_tokens]``, ``pad_id`` after each row's end.
    logprobs: float32 ``[B*n, max_new_tokens]``, log-prob of each sampled token under the
      temperature-scaled full distribution (``softmax(logits / T)``; T = 1 for greedy); 0 after the end.
    lengths: int32 ``[B*n]``, generated tokens per row, the EOS included.
    """

    tokens: jax.Array
    logprobs: jax.Array
    lengths: jax.Array
