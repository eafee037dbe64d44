"""Host-side planning for the slot decoder: which cache lengths a decode chunk may attend to, how
many prompts a refill prefills, and which pending rows go to which free slots. Pure Python/NumPy.

Sizes are drawn from small fixed sets so that a run compiles a bounded number of programs: at most
``decode_buckets`` decode programs and ``1 + log2(slots / divisor)`` refill programs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np


def round_up(x: int, m: int) -> int:
    """The smallest multiple of ``m`` that is ``>= x``."""
    return int(math.ceil(x / m) * m)


def attend_lengths(total_slots: int, buckets: int, *, align: int = 8) -> tuple[int, ...]:
    """The static attended lengths of a cache of ``total_slots`` slots cut into ``buckets`` equal
    blocks (block size rounded up to ``align``): ``(b, 2b, ..., total_slots)``, increasing."""
    block = round_up(math.ceil(total_slots / buckets), align)
    lengths = sorted({min(total_slots, k * block) for k in range(1, buckets + 1)})
    return tuple(lengths)


def attend_length(lengths: tuple[int, ...], needed: int) -> int:
    """The smallest of ``lengths`` that is ``>= needed`` (slots the furthest row must see)."""
    for length in lengths:
        if length >= needed:
            return length
    raise ValueError(f"needed {needed} slots, the cache has {lengths[-1]}")


def prefill_size(prompts: int, divisor: int, slots: int) -> int:
    """Rows of a refill's prefill batch: ``divisor * 2**k >= prompts``, capped at ``slots``
    (a multiple of ``divisor``)."""
    size = divisor
    while size < prompts:
        size *= 2
    return min(size, slots)


def slot_sizes(slots: int, divisor: int, levels: int) -> tuple[int, ...]:
    """The batch sizes a run's slots may shrink through once no row is pending: ``slots``,
    ``slots / 2``, ... (multiples of ``divisor``), ``levels`` at most, decreasing."""
    sizes = [slots]
    while len(sizes) < levels and sizes[-1] // 2 >= divisor:
        sizes.append(sizes[-1] // 2 // divisor * divisor)
    return tuple(sizes)


def compact_size(sizes: tuple[int, ...], current: int, active: int) -> int:
    """The smallest of ``sizes`` that holds ``active`` rows, or ``current`` if none is smaller."""
    fits = [s for s in sizes if active <= s < current]
    return min(fits) if fits else current


def slot_count(rows: int, max_rows: int, divisor: int) -> int:
    """Decode slots: ``min(rows, max_rows)`` rounded down to a multiple of ``divisor`` (at least
    ``divisor``), so that every device holds the same number of slots."""
    return max(divisor, min(rows, max_rows) // divisor * divisor)


class Refill(NamedTuple):
    """One refill: rows ``rows[j]`` go to slots ``slots[j]``; ``prompts`` lists the distinct
    prompts to prefill (each once, shared by its samples) and ``source[j]`` indexes into it."""

    slots: np.ndarray  # int32 [k]
    rows: np.ndarray  # int32 [k]
    prompts: np.ndarray  # int32 [u]
    source: np.ndarray  # int32 [k]


def plan_refill(free_slots: np.ndarray, next_row: int, total_rows: int, n: int) -> Refill:
    """Gives the next pending rows (in rollout order) to the free slots, lowest slot first.

    Row ``r`` is sample ``r % n`` of prompt ``r // n``. When the free slots can hold whole prompts,
    the rows taken stop at a prompt boundary, so that a prompt's samples start together and its
    prefill is computed once (as in waves); the slots left over wait for the next refill.
    """
    k = min(len(free_slots), total_rows - next_row)
    if n <= k < total_rows - next_row:
        k = (next_row + k) // n * n - next_row  # >= 1: a boundary lies within n rows
    rows = np.arange(next_row, next_row + k, dtype=np.int32)
    prompt_of_row = rows // n
    prompts, source = np.unique(prompt_of_row, return_inverse=True)
    return Refill(
        np.asarray(free_slots[:k], np.int32),
        rows,
        prompts.astype(np.int32),
        source.astype(np.int32).reshape(-1),
    )


def refill_threshold(slots: int, refill: bool, min_free: int | None, n: int = 1) -> int:
    """Free slots that make decoding pause for a refill: ``min_free``, by default
    ``max(n, slots // 16)`` (whole prompts, few pauses), at most ``slots`` (waves when refilling
    is off)."""
    if not refill:
        return slots
    return min(slots, min_free if min_free is not None else max(n, slots // 16))
