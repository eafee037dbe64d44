"""Several JAX processes as one run (the hosts of a TPU pod slice, the nodes of a GPU cluster, or
local CPU processes started by ``luffy_jax.launch``): starting the distributed system, and moving
data between a process's numpy arrays and global ``jax.Array`` s.

Every process runs the same program and must reach every collective -- a jitted function of
global arrays, or one of the gathers here -- in the same order with the same shapes; a process
that skips one, or passes another shape, hangs the others. The helpers here are the only places
outside jitted code where processes exchange data. With one process each is a local operation
without any collective, so single-process runs are unchanged.

Rows of a batch are sharded over the mesh's ``data x fsdp`` devices. A process holds the rows of
its own devices: one contiguous block of every batch-sharded array, its *share*
(:func:`row_share`). Processes whose devices hold the same rows (a ``tensor`` axis spanning
processes) have the same share index and must pass the same rows.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import logging
import os
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from luffy_jax import sharding

log = logging.getLogger("luffy_jax.distributed")

# Environment variables by which jax.distributed.initialize() finds the cluster by itself.
CLUSTER_ENV_VARS = (
    "JAX_COORDINATOR_ADDRESS",
    "SLURM_JOB_ID",
    "OMPI_COMM_WORLD_SIZE",
    "TPU_WORKER_HOSTNAMES",
    "MEGASCALE_COORDINATOR_ADDRESS",
)


def initialize(
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    auto: bool | None = None,
    heartbeat_timeout_s: int | None = None,
    initialization_timeout_s: int | None = None,
) -> bool:
    """Starts the JAX distributed system when this is a multi-process run; returns whether it did.

    With any of ``coordinator_address`` / ``num_processes`` / ``process_id`` given, JAX is started
    with them (unless ``num_processes == 1``). Otherwise it is started with cluster
    auto-detection (Cloud TPU, SLURM, Open MPI) when ``auto`` is True, or when ``auto`` is None
    and one of :data:`CLUSTER_ENV_VARS` is set. Must run before any JAX computation.

    ``heartbeat_timeout_s``: a process that sends no heartbeat for this long is declared dead and
    every other process is terminated (JAX's default is 100 s). On CPU (``JAX_PLATFORMS=cpu``)
    cross-process collectives use gloo.
    """
    explicit = any(v is not None for v in (coordinator_address, num_processes, process_id))
    if explicit and num_processes == 1:
        return False
    if not explicit:
        detected = any(k in os.environ for k in CLUSTER_ENV_VARS)
        if not (auto or (auto is None and detected)):
            return False
    platforms = os.environ.get("JAX_PLATFORMS", "") or (jax.config.jax_platforms or "")
    if platforms.split(",")[0].strip().lower() == "cpu":
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    wanted = {
        "heartbeat_timeout_seconds": heartbeat_timeout_s,
        "initialization_timeout": initialization_timeout_s,
    }
    accepted = inspect.signature(jax.distributed.initialize).parameters
    kwargs: dict[str, Any] = {}
    for name, value in wanted.items():
        if value and name not in accepted:  # a JAX version that renamed or dropped it
            log.warning("jax.distributed.initialize takes no %s: JAX's default applies", name)
        elif value:
            kwargs[name] = int(value)
    jax.distributed.initialize(coordinator_address, num_processes, process_id, **kwargs)
    log.info(
        "process %d of %d: %d local / %d global devices",
        jax.process_index(),
        jax.process_count(),
        jax.local_device_count(),
        jax.device_count(),
    )
    return True


def is_primary() -> bool:
    """True on process 0, the one that writes the run's files (metrics, config)."""
    return jax.process_index() == 0


@dataclasses.dataclass(frozen=True)
class RowShare:
    """Which rows of a batch-sharded array this process holds.

    ``index``: this process's block (of ``count`` equal contiguous blocks of the rows);
    ``of_process``: the block of every process (by process index).
    """

    index: int
    count: int
    of_process: tuple[int, ...]


@functools.lru_cache(maxsize=16)
def row_share(mesh: Mesh) -> RowShare:
    """This process's share of the rows of a ``[batch, ...]`` array sharded over ``data x fsdp``.

    Raises ValueError when a process's devices hold rows that are not one contiguous block (a
    mesh whose device order interleaves processes along the batch axes).
    """
    rows = sharding.batch_divisor(mesh)
    held: dict[int, set[int]] = {}
    for device, index in sharding.batch_sharding(mesh, 1).devices_indices_map((rows,)).items():
        held.setdefault(device.process_index, set()).update(range(rows)[index[0]])
    blocks = sorted({(min(r), max(r) + 1) for r in held.values()})
    size = blocks[0][1] - blocks[0][0]
    for p, r in held.items():
        if max(r) + 1 - min(r) != len(r):
            raise ValueError(
                f"process {p} holds batch rows {sorted(r)} of {rows}: not one contiguous block; "
                "order the mesh's devices by process along the data/fsdp axes"
            )
    if any(b - a != size for a, b in blocks) or [a for a, _ in blocks] != list(
        range(0, rows, size)
    ):
        raise ValueError(f"the processes' batch rows {blocks} are not equal disjoint blocks")
    of_process = tuple(min(held[p]) // size for p in sorted(held))
    return RowShare(of_process[jax.process_index()], rows // size, of_process)


def to_global(local: np.ndarray, mesh: Mesh) -> jax.Array:
    """One global ``[batch, ...]`` array sharded over ``data x fsdp`` from every process's rows.

    ``local``: this process's block (its share, :func:`row_share`) of the global rows; every
    process passes the same shape. With one process this is ``jax.device_put``.
    """
    target = sharding.batch_sharding(mesh, local.ndim)
    if jax.process_count() == 1:
        return jax.device_put(local, target)
    share = row_share(mesh)
    shape = (local.shape[0] * share.count,) + tuple(local.shape[1:])
    return jax.make_array_from_process_local_data(target, local, shape)


def put(x: Any, target: NamedSharding) -> jax.Array:
    """``jax.device_put(x, target)`` for a value every process holds identically (numpy, a local
    array, a PRNG key array) and a sharding that may span processes: each process places the
    slices its own devices hold."""
    if jax.process_count() == 1:
        return jax.device_put(x, target)
    if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        spec = PartitionSpec(*target.spec, *([None] * (x.ndim - len(target.spec) + 1)))
        data = put(np.asarray(jax.random.key_data(x)), NamedSharding(target.mesh, spec))
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(x))
    value = np.asarray(x)
    return jax.make_array_from_callback(value.shape, target, lambda index: value[index])


def local_rows(x: jax.Array) -> np.ndarray:
    """This process's rows of a global array sharded (or replicated) along dim 0, in order; the
    whole array when every shard is local."""
    if x.is_fully_addressable:
        return np.asarray(x)
    blocks: dict[int, np.ndarray] = {}
    for shard in x.addressable_shards:
        start = (shard.index[0].start or 0) if shard.index else 0
        if start not in blocks:
            blocks[start] = np.asarray(shard.data)
    return np.concatenate([blocks[s] for s in sorted(blocks)])


def fetch(x: Any) -> np.ndarray:
    """The whole value of an array on every process (gathered when it spans other processes)."""
    if isinstance(x, jax.Array) and not (x.is_fully_addressable or x.is_fully_replicated):
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


def gather(local: np.ndarray) -> np.ndarray:
    """``[process_count, *local.shape]``: every process's ``local`` (same shape and dtype)."""
    local = np.asarray(local)
    if jax.process_count() == 1:
        return local[None]
    return np.asarray(multihost_utils.process_allgather(local))


def gather_shares(local: np.ndarray, mesh: Mesh) -> np.ndarray:
    """The shares' ``local`` arrays concatenated along dim 0 in share order (one copy of each
    share when several processes hold it)."""
    share = row_share(mesh)
    if share.count == 1:
        return np.asarray(local)
    everyone = gather(local)
    first = [share.of_process.index(i) for i in range(share.count)]
    return np.concatenate([everyone[p] for p in first])


def any_process(flag: bool) -> bool:
    """True on every process when ``flag`` is True on any (a collective: all must call it)."""
    if jax.process_count() == 1:
        return bool(flag)
    return bool(gather(np.asarray(bool(flag))).any())


def agree_min(value: int | None) -> int | None:
    """The smallest ``value`` over the processes (None when any process has None)."""
    if jax.process_count() == 1:
        return value
    everyone = gather(np.asarray(-1 if value is None else int(value), np.int64))
    return None if (everyone < 0).any() else int(everyone.min())


def gather_objects(obj: Any) -> list[Any]:
    """Every process's ``obj`` (anything JSON can write), by process index."""
    if jax.process_count() == 1:
        return [obj]
    data = np.frombuffer(json.dumps(obj).encode("utf-8"), np.uint8)
    sizes = gather(np.asarray(data.size, np.int64))
    padded = np.zeros(int(sizes.max()), np.uint8)
    padded[: data.size] = data
    everyone = gather(padded)
    return [json.loads(bytes(row[: int(n)]).decode("utf-8")) for row, n in zip(everyone, sizes)]


def split_map(fn: Callable[[Sequence[Any]], Sequence[Any]], items: Sequence[Any]) -> list[Any]:
    """``fn`` applied to ``items`` with the work split over the processes: each maps its
    contiguous block of ``items`` (``fn`` returns one JSON-writable value per item), and every
    process gets the whole result in order."""
    count, index = jax.process_count(), jax.process_index()
    if count == 1:
        return list(fn(items))
    per = -(-len(items) // count)
    mine = list(fn(items[index * per : (index + 1) * per]))
    return [x for block in gather_objects(mine) for x in block]


def share_positions(total: int, block: int, index: int, count: int) -> np.ndarray:
    """Positions (int64) of share ``index`` of ``count`` in a list of ``total`` items: of every
    ``block`` consecutive items, the ``index``-th of ``count`` equal slices.

    With ``block`` the prompts of a mini-batch, every share holds the same part of every
    mini-batch, so a share's rows of mini-batch ``j`` are its own rows ``j*block/count ...``.
    """
    if block < 1 or total % block or block % count:
        raise ValueError(
            f"{total} items in blocks of {block} cannot be split into {count} equal shares "
            "per block"
        )
    part = block // count
    starts = np.arange(0, total, block)[:, None] + index * part
    return (starts + np.arange(part)[None, :]).reshape(-1).astype(np.int64)
