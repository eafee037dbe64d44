"""A Grain pipeline of rollout batches whose position is checkpointable.

Batch ``s`` (a global step) is a pure function of ``(seed, s)``: epoch ``e = s // steps_per_epoch``
uses the permutation ``default_rng([seed, e])`` of the examples (a fresh order each epoch, the
last partial batch dropped, as the official ``drop_last`` sampler), so a run restored at step
``k`` continues with exactly batch ``k``. The iterator's state (``{"next_index": k}``) is a small
JSON object the trainer saves with orbax (``ocp.args.JsonSave``).

With several hosts, batch ``s`` is the same global batch of ``batch_size`` prompts whatever the
number of hosts, and host ``shard_index`` of ``shard_count`` receives its share of it: of every
``block_size`` consecutive prompts (a mini-batch), the ``shard_index``-th of ``shard_count``
equal slices (:func:`luffy_jax.distributed.share_positions`). Whole prompts, so a prompt's group
of rows stays on one host.

Each batch is a dict (``B`` = this host's prompts):

- ``prompt_ids``: list of ``B`` int32 arrays (unpadded prompt token ids),
- ``trace_ids``: list of ``B`` lists of int32 arrays (each example's traces, possibly empty),
- ``gold``: list of ``B`` gold-answer strings; ``data_source``: list of ``B`` strings,
- ``index``: int64 ``[B]`` problem ids; ``group_id``: int64 ``[B]`` ids unique over the run
  (``step * batch_size + position in the global batch``),
- ``position``: int64 ``[B]``, the prompts' positions in the global batch,
- ``step``, ``epoch``: ints.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grain
import numpy as np

from luffy_jax.data.tokenize import TokenizedExample
from luffy_jax.distributed import share_positions

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
    block_size: int | None = None,
    num_epochs: int | None = None,
) -> grain.MapDataset:
    """A ``grain.MapDataset`` of rollout batches (see the module docstring).

    ``batch_size``: prompts per step over all hosts; this host gets its share (``shard_index`` of
    ``shard_count``) of every ``block_size`` (default ``batch_size``) consecutive prompts.
    """
    if not 0 <= shard_index < shard_count:
        raise ValueError(f"shard_index {shard_index} not in [0, {shard_count})")
    steps_per_epoch = len(examples) // batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"batch size {batch_size} is larger than the {len(examples)} examples")
    positions = share_positions(batch_size, block_size or batch_size, shard_index, shard_count)
    epochs = num_epochs or _FOREVER_EPOCHS

    def make(step: int) -> dict[str, Any]:
        epoch, pos = divmod(int(step), steps_per_epoch)
        order = np.random.default_rng([seed, epoch]).permutation(len(examples))
        batch = order[pos * batch_size : (pos + 1) * batch_size]
        chosen = [examples[i] for i in batch[positions]]
        return {
            "prompt_ids": [np.asarray(e.prompt_ids, np.int32) for e in chosen],
            "trace_ids": [[np.asarray(t, np.int32) for t in e.trace_ids] for e in chosen],
            "gold": [e.gold for e in chosen],
            "data_source": [e.data_source for e in chosen],
            "index": np.asarray([e.index for e in chosen], np.int64),
            "group_id": step * batch_size + positions,
            "position": positions.copy(),
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
