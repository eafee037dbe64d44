"""The official trainer's batch layout, reproduced on the host (numpy/Python, no JAX).

The official actor (spec 1.10) does three things whose effect on the objective we reproduce
exactly, independently of our own mesh and micro-batch size:

1. **Row balancing** (``_balance_batch``): the step's rows are split into ``ranks`` (8) equal-size
   groups with balanced total token counts (prompt + response tokens, unpadded) by the largest
   differencing method (Karmarkar-Karp); rank ``r`` receives the rows of group ``r`` in their
   original order; its mini-batch ``j`` is its ``j``-th slice.
2. **Dynamic micro-batches** (``use_dynamic_bsz``, ``ppo_max_token_len_per_gpu``): within a
   mini-batch every rank splits its rows into ``K = max over ranks ceil(tokens_r / budget)``
   micro-batches of balanced token counts (the same method, any sizes).
3. **Per-micro-batch finalisation**: each micro-batch adds ``coef x token-mean`` of the entropy
   (and, in RL-with-SFT-loss, the token-mean NLL of its trace rows) to its loss; the micro-batch
   losses of a rank are summed and the ``ranks`` ranks averaged.

Item 3 means each valid token of micro-batch ``k`` carries the weight ``1 / (ranks x tokens_k)``
in the entropy term (``tokens_k``: valid response tokens of ``k``) and each trace token the weight
``1 / (ranks x trace_tokens_k)`` in the SFT term. :func:`official_term_weights` computes these per
row from the rows' lengths; fed to the objective as arrays they keep every term a linear sum, so
our exact micro-batch accumulation (and any sharding) still applies.

The partition algorithm follows the description of the largest differencing method, with the
official tie-breaking (which decides the partition when lengths repeat):

- items are taken in ascending ``(length, index)`` order; with equal sizes, each run of ``k``
  consecutive items seeds one state (one item per subset), otherwise each item seeds a state of
  its own (one non-empty subset);
- a state's subsets are kept in descending order of ``(sum, size, items)``; its *spread* is the
  largest minus the smallest sum;
- repeatedly the two states of largest spread (ties: the larger first subset) are taken from a
  binary heap and combined, subset ``i`` of the first with subset ``k-1-i`` of the second;
- the final subsets, in the final state's order, each sorted by index, are the partitions.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

import numpy as np


class _Subset:
    __slots__ = ("items", "total")

    def __init__(self) -> None:
        self.items: list[tuple[int, int]] = []  # (index, length), in insertion order
        self.total = 0

    def key(self) -> tuple[int, int, list[tuple[int, int]]]:
        return (self.total, len(self.items), self.items)


class _State:
    """``k`` subsets in descending order; heap order: larger spread first, then larger top subset."""

    __slots__ = ("subsets",)

    def __init__(self, seeds: Sequence[tuple[int, int]], k: int) -> None:
        self.subsets = [_Subset() for _ in range(k)]
        for subset, (index, length) in zip(self.subsets, seeds):
            subset.items.append((index, length))
            subset.total += length
        self._order()

    def _order(self) -> None:
        self.subsets = sorted(self.subsets, key=_Subset.key, reverse=True)

    @property
    def spread(self) -> int:
        return self.subsets[0].total - self.subsets[-1].total

    def absorb(self, other: _State) -> None:
        k = len(self.subsets)
        for i in range(k):
            mine, theirs = self.subsets[i], other.subsets[k - 1 - i]
            mine.items.extend(theirs.items)
            mine.total += theirs.total
        self._order()

    def __lt__(self, other: _State) -> bool:
        if self.spread != other.spread:
            return self.spread > other.spread
        return other.subsets[0].key() < self.subsets[0].key()


def largest_differencing(lengths: Sequence[int], k: int, *, equal_size: bool) -> list[list[int]]:
    """Row indices of ``k`` subsets with balanced sums of ``lengths`` (module docstring), each
    sorted. ``equal_size``: every subset gets ``len(lengths) / k`` rows (must divide)."""
    lengths = [int(x) for x in lengths]
    n = len(lengths)
    if k < 1 or n < k:
        raise ValueError(f"cannot split {n} rows into {k} non-empty subsets")
    if equal_size and n % k:
        raise ValueError(f"{n} rows do not split into {k} equal subsets")
    ordered = sorted((length, index) for index, length in enumerate(lengths))
    heap: list[_State] = []
    step = k if equal_size else 1
    for start in range(0, n, step):
        seeds = [(index, length) for length, index in ordered[start : start + step]]
        heapq.heappush(heap, _State(seeds, k))
    while len(heap) > 1:
        first = heapq.heappop(heap)
        second = heapq.heappop(heap)
        first.absorb(second)
        heapq.heappush(heap, first)
    parts = [sorted(index for index, _ in s.items) for s in heap[0].subsets]
    if any(not p for p in parts):
        raise ValueError(f"a subset came out empty splitting {n} rows into {k}")
    return parts


def balanced_row_order(seq_lens: Sequence[int], ranks: int, mini_batches: int) -> np.ndarray:
    """The official row balancing as a permutation of the step's rows (int64 ``[N]``).

    ``seq_lens``: prompt + response tokens of each row (unpadded). Rows are balanced over
    ``ranks`` equal groups; the result lists mini-batch 0 of every rank (rank 0 first), then
    mini-batch 1, ..., so consecutive ``N / mini_batches`` rows are one official mini-batch.
    """
    n = len(seq_lens)
    if n % (ranks * mini_batches):
        raise ValueError(f"{n} rows do not split into {ranks} ranks x {mini_batches} mini-batches")
    groups = largest_differencing(seq_lens, ranks, equal_size=True)
    per = n // ranks // mini_batches
    order = [g[j * per : (j + 1) * per] for j in range(mini_batches) for g in groups]
    return np.asarray([i for chunk in order for i in chunk], np.int64)


def official_micro_batches(
    seq_lens: Sequence[int], ranks: int, max_tokens: int
) -> tuple[list[list[int]], int]:
    """The official micro-batches of one mini-batch (rows in rank order: ``ranks`` consecutive
    equal chunks). Returns the micro-batches as lists of row indices and ``K`` (per rank)."""
    n = len(seq_lens)
    if n % ranks:
        raise ValueError(f"a mini-batch of {n} rows does not split over {ranks} ranks")
    per = n // ranks
    lens = np.asarray(seq_lens, np.int64)
    k = max(math.ceil(int(lens[r * per : (r + 1) * per].sum()) / max_tokens) for r in range(ranks))
    k = max(k, 1)
    if k > per:
        raise ValueError(
            f"a rank's {per} rows need {k} micro-batches of <= {max_tokens} tokens; the official "
            "code requires at most one micro-batch per row (raise the token budget)"
        )
    out = []
    for r in range(ranks):
        part = largest_differencing(lens[r * per : (r + 1) * per].tolist(), k, equal_size=False)
        out.extend([[r * per + i for i in p] for p in part])
    return out, k


def official_term_weights(
    seq_lens: Sequence[int],
    response_tokens: Sequence[float],
    trace_rows: Sequence[bool],
    *,
    ranks: int,
    max_tokens: int,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-row weights of the entropy and SFT terms under the official micro-batches.

    Args:
      seq_lens: prompt + response tokens per row of one mini-batch (rows in rank order).
      response_tokens: valid response tokens per row (the token-mean denominators).
      trace_rows: rows holding an off-policy trace (the SFT term's rows).
      ranks: data-parallel ranks (8); max_tokens: ``ppo_max_token_len_per_gpu`` (32768).

    Returns:
      float64 ``[n]`` entropy weights ``1 / (ranks x tokens of the row's micro-batch)``, float64
      ``[n]`` SFT weights ``1 / (ranks x trace tokens of the row's micro-batch)`` on trace rows
      (0 elsewhere), and ``K``. ``sum_rows w_i x sum_t m_it H_it`` is then the official entropy
      term of the mini-batch.
    """
    tokens = np.asarray(response_tokens, np.float64)
    trace = np.asarray(trace_rows, bool)
    ent_w = np.zeros(len(tokens), np.float64)
    sft_w = np.zeros(len(tokens), np.float64)
    parts, k = official_micro_batches(seq_lens, ranks, max_tokens)
    for part in parts:
        idx = np.asarray(part, np.int64)
        total = tokens[idx].sum()
        if total > 0:
            ent_w[idx] = 1.0 / (ranks * total)
        trace_idx = idx[trace[idx]]
        trace_total = tokens[trace_idx].sum()
        if trace_total > 0:
            sft_w[trace_idx] = 1.0 / (ranks * trace_total)
    return ent_w, sft_w, k
