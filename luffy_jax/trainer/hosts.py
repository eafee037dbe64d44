"""One training step over several hosts (JAX processes), as if it ran on one.

Each host holds its share of a step's prompts (:func:`luffy_jax.distributed.share_positions`:
the same slice of every mini-batch, whole prompts, so a group's rows stay on its host) and the
rows built from them; its devices hold exactly those rows of every batch-sharded array. Around
that:

- the sampler runs once over the global prompt list (every host passes the same list, gathered
  by :func:`global_prompts`), so its static shapes (prompt bucket, waves) agree and each row keeps
  the random stream of its global row index; :func:`own_samples` keeps this host's rows;
- the objective's denominators are summed over the hosts (:func:`global_counts`);
- per-row statistics are gathered in the global order for the metrics (:func:`gather_rows`), and
  counters summed (:func:`sum_over_hosts`).

With one process every function here is local and returns its input's values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from luffy_jax import distributed
from luffy_jax.objectives import accumulate, zero_terms
from luffy_jax.trainer.config import RunShape


def prompt_positions(shape: RunShape, mesh: Mesh) -> np.ndarray:
    """int64 positions of this host's prompts in the step's global batch."""
    share = distributed.row_share(mesh)
    return distributed.share_positions(
        shape.prompts_per_step, shape.mini_batch_prompts, share.index, share.count
    )


def global_prompts(prompt_ids: Sequence[np.ndarray], shape: RunShape, mesh: Mesh) -> list:
    """Every host's prompts (``prompt_ids``: this host's, unpadded) in the global batch order."""
    share = distributed.row_share(mesh)
    if share.count == 1:
        return list(prompt_ids)
    width = shape.max_prompt_length
    local = np.zeros((len(prompt_ids), width + 1), np.int32)
    for i, p in enumerate(prompt_ids):
        p = np.asarray(p, np.int32)
        if len(p) > width:
            raise ValueError(f"prompt {i} has {len(p)} tokens > max_prompt_length {width}")
        local[i, 0] = len(p)
        local[i, 1 : 1 + len(p)] = p
    shares = distributed.gather_shares(local, mesh).reshape(share.count, len(prompt_ids), -1)
    out: list = [None] * shape.prompts_per_step
    for s in range(share.count):
        positions = distributed.share_positions(
            shape.prompts_per_step, shape.mini_batch_prompts, s, share.count
        )
        for pos, row in zip(positions, shares[s]):
            out[pos] = row[1 : 1 + row[0]].copy()
    return out


def own_samples(out: Any, shape: RunShape, mesh: Mesh) -> tuple[np.ndarray, ...]:
    """This host's rows of the sampler's output for the global batch (``n - n_off`` per prompt):
    ``(tokens, logprobs, lengths)`` numpy arrays."""
    arrays = tuple(np.asarray(x) for x in out)
    if distributed.row_share(mesh).count == 1:
        return arrays
    n = shape.n_on
    rows = (prompt_positions(shape, mesh)[:, None] * n + np.arange(n)[None, :]).reshape(-1)
    return tuple(a[rows] for a in arrays)


def global_counts(counts: Mapping[str, jax.Array], mesh: Mesh) -> Mapping[str, Any]:
    """The objective's denominators of a mini-batch from every host's (sums; widths: max)."""
    if jax.process_count() == 1:
        return counts
    keys = sorted(counts)
    local = np.asarray([float(counts[k]) for k in keys], np.float32)
    total = zero_terms()
    for row in distributed.gather_shares(local[None], mesh):  # the objective's own sum/max rule
        total = accumulate(
            total, {**zero_terms(), **{k: jnp.asarray(v) for k, v in zip(keys, row)}}
        )
    return {k: np.asarray(total[k], np.float32) for k in keys}


def gather_rows(rows: Mapping[str, np.ndarray], mesh: Mesh) -> dict[str, np.ndarray]:
    """Per-row ``[N_host]`` arrays of every host, in the global row order (by ``group_ids``,
    which hold the prompts' global positions; a group's rows keep their order)."""
    if distributed.row_share(mesh).count == 1:
        return dict(rows)
    out = {k: distributed.gather_shares(np.asarray(v), mesh) for k, v in rows.items()}
    order = np.argsort(out["group_ids"], kind="stable")
    return {k: v[order] for k, v in out.items()}


def sum_over_hosts(
    values: Mapping[str, float], mesh: Mesh, *, take_max: Sequence[str] = ()
) -> dict[str, float]:
    """Counters (e.g. reward timeouts) summed over the shares, each share counted once (a key
    missing on a host counts 0 there); the keys in ``take_max`` (sizes, e.g. a pool's workers)
    take the largest value instead."""
    share = distributed.row_share(mesh)
    if jax.process_count() == 1:
        return {k: float(v) for k, v in values.items()}
    everyone = distributed.gather_objects({k: float(v) for k, v in values.items()})
    first = [everyone[share.of_process.index(i)] for i in range(share.count)]
    keys = sorted({k for one in first for k in one})
    combine = {k: (max if k in take_max else sum) for k in keys}
    return {k: float(combine[k](one.get(k, 0.0) for one in first)) for k in keys}
