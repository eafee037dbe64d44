"""Host-side packing of a step's rows into fixed-shape sequences (numpy, no JAX).

A padded row spends ``P + R`` columns (``max_prompt_length + max_response_length``) whatever its
real length. Packing lays the real tokens of several rows end to end in sequences of ``L = P + R``
tokens (first-fit decreasing; every row fits in one sequence), each row a *segment* (ids 1, 2, ...
per sequence, 0 on padding; positions restart at 0 in each segment, as the padded path's
``cumsum(mask) - 1``), and cuts the sequences into micro-batches by a token budget
(``batch.max_tokens_per_micro_batch``, like verl's ``ppo_max_token_len_per_gpu``) instead of a row
count.

The objective is not computed on the packed layout: each micro-batch also carries ``C`` *row
slots* per shard holding the rows' own ``[R]`` / scalar arrays (every array of the step packed
generically, whatever its keys), and a gather index ``[rows, R]`` into the packed log-probs
(:mod:`luffy_jax.trainer.packed_step`), so every objective term is the padded computation on the
same rows; empty slots are all-zero rows, which add nothing (as the padded path's padded rows).

**Shards.** The micro-batch's rows are split over the mesh's ``data x fsdp`` devices (``shards``,
of which ``local_shards`` on this host); each shard's sequences hold only its own row slots, and
gather indices are local to the shard, so the gather needs no communication.

**Shapes.** Sequences per micro-batch ``S`` are ``shards x 2^k`` up to the budget's ``S_max``
(or ``S_max`` itself), row slots per shard ``C`` a power of two (at most the next power of two of
the rows per host of the mini-batch): a run compiles at most ``(log2 S_max + 2) x (log2 rows +
2)`` programs per jitted function, whatever the lengths (see :func:`shape_set_bound`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np

SEQUENCE_KEYS = ("tokens", "attention_mask")  # [N, P+R] arrays: packed into sequences


@dataclasses.dataclass(frozen=True)
class PackPlan:
    """Where each row goes: ``micro_batches[m][s]`` lists the sequences of local shard ``s`` of
    micro-batch ``m``, each a list of row indices (of this host's rows), and ``seqs[m]`` /
    ``slots[m]`` that micro-batch's sequences and row slots per shard."""

    micro_batches: tuple[tuple[tuple[tuple[int, ...], ...], ...], ...]
    seqs: tuple[int, ...]
    slots: tuple[int, ...]


def _next_pow2(x: int) -> int:
    return 1 << max(0, int(x) - 1).bit_length()


def max_sequences(max_tokens: int, length: int, shards: int) -> int:
    """Sequences per shard of a full micro-batch: ``max_tokens // length / shards``, at least 1."""
    return max(1, max_tokens // length // shards)


def shape_set_bound(max_tokens: int, length: int, shards: int, rows: int) -> int:
    """Upper bound on the distinct ``(sequences, slots)`` shapes of :func:`plan`."""
    s_max = max_sequences(max_tokens, length, shards)
    return (s_max.bit_length() + 1) * (_next_pow2(rows).bit_length() + 1)


def _bucket_sequences(n: int, s_max: int) -> int:
    return s_max if n >= s_max else min(s_max, _next_pow2(n))


def _first_fit_decreasing(lengths: np.ndarray, capacity: int) -> list[list[int]]:
    order = np.argsort(-lengths, kind="stable")
    bins: list[list[int]] = []
    free: list[int] = []
    for i in order:
        n = int(lengths[i])
        for b, f in enumerate(free):
            if n <= f:
                bins[b].append(int(i))
                free[b] -= n
                break
        else:
            bins.append([int(i)])
            free.append(capacity - n)
    return bins


def plan(
    lengths: np.ndarray,
    length: int,
    max_tokens: int,
    shards: int,
    local_shards: int | None = None,
    min_micro_batches: int = 0,
) -> PackPlan:
    """Packs rows of real lengths ``lengths`` (int ``[N]``, each ``<= length``) into sequences of
    ``length`` tokens and micro-batches of at most ``max_tokens`` tokens over ``shards`` shards
    (``local_shards`` of them this host's: default all).

    ``min_micro_batches``: at least this many micro-batches (empty ones are all padding), so that
    hosts packing different rows run the same number (:func:`agree_micro_batches`).
    """
    local_shards = shards if local_shards is None else local_shards
    lengths = np.asarray(lengths, np.int64)
    if lengths.size and (lengths.max() > length or lengths.min() < 0):
        raise ValueError(f"row lengths must lie in 0..{length}")
    s_max = max_sequences(max_tokens, length, shards)
    bins = _first_fit_decreasing(lengths, length)
    per_mb = s_max * local_shards
    n_mb = max(-(-len(bins) // per_mb), min_micro_batches, 1 if lengths.size else 0)
    mbs, seqs, slots = [], [], []
    for m in range(n_mb):
        mine = bins[m * per_mb : (m + 1) * per_mb]
        s = _bucket_sequences(-(-len(mine) // local_shards), s_max)
        # bins round-robin over the shards, longest bins first (balanced tokens)
        shard_bins = tuple(
            tuple(tuple(b) for b in mine[k::local_shards]) for k in range(local_shards)
        )
        rows = max([sum(len(b) for b in sb) for sb in shard_bins] + [1])
        mbs.append(shard_bins)
        seqs.append(s)
        slots.append(_next_pow2(rows))
    return PackPlan(tuple(mbs), tuple(seqs), tuple(slots))


def agree_micro_batches(count: int) -> int:
    """The largest of every host's micro-batch count (a collective when there are several)."""
    from luffy_jax import distributed  # host-only module otherwise

    return max(int(c) for c in distributed.gather_objects(int(count)))


def pack(
    arrays: Mapping[str, np.ndarray],
    plan_: PackPlan,
    m: int,
    prompt_len: int,
) -> tuple[dict[str, np.ndarray], list[list[int]]]:
    """Micro-batch ``m`` of ``plan_`` as host arrays (this host's shards, in order).

    ``arrays``: ``tokens`` int32 / ``attention_mask`` bool ``[N, P+R]`` (left-padded prompts,
    right-padded responses: each row's real tokens contiguous), and any other arrays with leading
    dim ``N`` (``[N]``, ``[N, R]``, ...), packed into row slots.

    Returns ``(mb, slot_rows)``: ``mb`` has ``tokens`` / ``segment_ids`` / ``positions`` int32
    ``[shards*S, L]``, ``gather_index`` int32 ``[shards*C, R]`` (flat index into the shard's
    ``S*L`` packed positions of the hidden state predicting response token ``j``),
    ``gather_valid`` bool ``[shards*C, R]`` and every other array in ``[shards*C, ...]`` row slots;
    ``slot_rows[s]`` the row indices in shard ``s``'s slots (the rest are empty).
    """
    tokens, mask = arrays["tokens"], arrays["attention_mask"].astype(bool)
    length = tokens.shape[1]
    r = length - prompt_len
    shard_bins = plan_.micro_batches[m]
    s_cnt, c_cnt = plan_.seqs[m], plan_.slots[m]
    ns = len(shard_bins)
    tok = np.zeros((ns, s_cnt, length), np.int32)
    seg = np.zeros((ns, s_cnt, length), np.int32)
    pos = np.zeros((ns, s_cnt, length), np.int32)
    gidx = np.zeros((ns, c_cnt, r), np.int32)
    gval = np.zeros((ns, c_cnt, r), bool)
    others = {k: v for k, v in arrays.items() if k not in SEQUENCE_KEYS}
    slotted = {k: np.zeros((ns, c_cnt) + v.shape[1:], v.dtype) for k, v in others.items()}
    slot_rows: list[list[int]] = []
    cols = np.arange(r)
    for s, bins in enumerate(shard_bins):
        rows_here: list[int] = []
        for q, rows in enumerate(bins):
            off = 0
            for seg_id, i in enumerate(rows, start=1):
                real = np.flatnonzero(mask[i])
                n = real.size
                if n:
                    c0 = int(real[0])
                    tok[s, q, off : off + n] = tokens[i, c0 : c0 + n]
                    seg[s, q, off : off + n] = seg_id
                    pos[s, q, off : off + n] = np.arange(n)
                else:
                    c0 = prompt_len
                k = len(rows_here)
                # response token j (column P+j) is predicted by the hidden state at column P-1+j
                src = prompt_len - 1 + cols - c0
                valid = mask[i, prompt_len:] & (src >= 0) & (src < n)
                gidx[s, k] = np.where(valid, q * length + off + src, 0)
                gval[s, k] = valid
                for key, v in others.items():
                    slotted[key][s, k] = v[i]
                rows_here.append(i)
                off += n
        slot_rows.append(rows_here)
    flat = lambda x: x.reshape((ns * x.shape[1],) + x.shape[2:])  # noqa: E731
    mb = {"tokens": flat(tok), "segment_ids": flat(seg), "positions": flat(pos)}
    mb["gather_index"], mb["gather_valid"] = flat(gidx), flat(gval)
    mb.update({k: flat(v) for k, v in slotted.items()})
    return mb, slot_rows


def micro_batch_tokens(shape) -> int:
    """A :class:`~luffy_jax.trainer.config.RunShape`'s packed micro-batch token budget
    (``batch.max_tokens_per_micro_batch``; 0: ``micro_batch_rows`` padded rows' worth)."""
    width = shape.max_prompt_length + shape.max_response_length
    return shape.max_tokens_per_micro_batch or shape.micro_batch_rows * width


def real_lengths(attention_mask: np.ndarray) -> np.ndarray:
    """int64 ``[N]`` real tokens per row."""
    return np.asarray(attention_mask, bool).sum(axis=1)
