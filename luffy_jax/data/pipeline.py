"""A Grain pipeline of rollout batches whose position is checkpointable.

Batch ``s`` (a global step) is a pure function of ``(seed, s)``: epoch ``e = s // steps_per_epoch``
uses the permutation ``default_rng([seed, e])`` of this host's shard of the examples (a fresh order
each epoch, the last partial batch dropped, as the official ``drop_last`` sampler), so a run
restored at step ``k`` continues with exactly batch ``k``. The iterator's state
(``{"next_index": k}``) is a small JSON object the trainer saves with orbax (``ocp.args.JsonSave``).

Each batch is a dict:

- ``prompt_ids``: list of ``B`` int32 arrays (unpadded prompt token ids),
- ``trace_ids``: list of ``B`` lists of int32 arrays (each example's traces, possibly empty),
- ``gold``: list of ``B`` gold-answer strings; ``data_source``: list of ``B`` strings,
- ``index``: int64 ``[B]`` problem ids; ``group_id``: int64 ``[B]`` ids unique over the run
  (``step * B * host_count + host * B + i``),
- ``step``, ``epoch``: ints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grain
import numpy as np

from luffy_jax.data.tokenize import TokenizedExample

_FOREVER_EPOCHS = 1_000_000


def host_shard(items: Sequence[Any], shard_index: int, shard_count: int) -> list[Any]:
    """This host's share: every ``shard_count``-th item starting at ``shard_index``."""
    if not 0 <= shard_index < shard_count:
        raise ValueError(f"shard_index {shard_index} not in [0, {shard_count})")
    return list(items[shard_index::shard_count])


def rollout_batches(
    examples: Sequence[TokenizedExample],
    batch_size: int,
    *,
    seed: int,
    shard_index: int = 0,
    shard_count: int = 1,
    num_epochs: int | None = None,
) -> grain.MapDataset:
    """A ``grain.MapDataset`` of rollout batches (see the module docstring)."""
    shard = host_shard(examples, shard_index, shard_count)
    steps_per_epoch = len(shard) // batch_size
    if steps_per_epoch == 0:
        raise ValueError(
            f"batch size {batch_size} is larger than this host's {len(shard)} examples "
            f"(data has {len(examples)} examples over {shard_count} host(s))"
        )
    epochs = num_epochs or _FOREVER_EPOCHS

    def make(step: int) -> dict[str, Any]:
        epoch, pos = divmod(int(step), steps_per_epoch)
        order = np.random.default_rng([seed, epoch]).permutation(len(shard))
        chosen = [shard[i] for i in order[pos * batch_size : (pos + 1) * batch_size]]
        first = (step * shard_count + shard_index) * batch_size
        return {
            "prompt_ids": [np.asarray(e.prompt_ids, np.int32) for e in chosen],
            "trace_ids": [[np.asarray(t, np.int32) for t in e.trace_ids] for e in chosen],
            "gold": [e.gold for e in chosen],
            "data_source": [e.data_source for e in chosen],
            "index": np.asarray([e.index for e in chosen], np.int64),
            "group_id": np.arange(first, first + batch_size, dtype=np.int64),
            "step": int(step),
            "epoch": epoch,
        }

    return grain.MapDataset.range(steps_per_epoch * epochs).map(make)


class BatchIterator:
    """Iterates a :func:`rollout_batches` dataset; ``get_state``/``set_state`` give its position."""

    def __init__(self, dataset: grain.MapDataset):
        self._dataset = dataset
        self._it = iter(dataset.to_iter_dataset())

    def __iter__(self) -> BatchIterator:
        return self

    def __next__(self) -> dict[str, Any]:
        return next(self._it)

    def get_state(self) -> dict[str, Any]:
        return dict(self._it.get_state())

    def set_state(self, state: dict[str, Any]) -> None:
        self._it.set_state(dict(state))
