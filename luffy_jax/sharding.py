"""The device mesh and the logical-to-mesh axis rules: the one place where sharding is decided.

The mesh always has the three axes ``('data', 'fsdp', 'tensor')``:

- ``data``: pure data parallelism (parameters replicated),
- ``fsdp``: data parallelism with parameters and optimizer state sharded along their ``embed`` dim,
- ``tensor``: tensor (model) parallelism over attention heads, the MLP width and the vocabulary.

Modules annotate parameters and key activations with *logical* axis names (``'batch'``,
``'embed'``, ``'heads'``, ...); :data:`LOGICAL_AXIS_RULES` maps them to mesh axes. Nothing else in
the library names a mesh axis directly.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

MESH_AXES: tuple[str, str, str] = ("data", "fsdp", "tensor")

# Logical axis name -> mesh axis (or axes, or None for replicated).
LOGICAL_AXIS_RULES: tuple[tuple[str, Any], ...] = (
    ("batch", ("data", "fsdp")),
    ("length", None),
    ("kv_length", None),
    ("embed", "fsdp"),
    ("vocab", "tensor"),
    ("mlp", "tensor"),
    ("heads", "tensor"),
    ("kv_heads", "tensor"),
    ("head_dim", None),
    ("layers", None),
    ("norm", None),
)


@dataclasses.dataclass(frozen=True)
class MeshConfig:
    """Shape of the device mesh. ``-1`` on one axis means "all remaining devices"."""

    data: int = 1
    fsdp: int = -1
    tensor: int = 1

    def resolve(self, num_devices: int) -> tuple[int, int, int]:
        """Returns the concrete ``(data, fsdp, tensor)`` sizes for ``num_devices`` devices."""
        sizes = [self.data, self.fsdp, self.tensor]
        if sizes.count(-1) > 1:
            raise ValueError(f"mesh: at most one axis may be -1, got {sizes}")
        known = math.prod(s for s in sizes if s != -1)
        if any(s == 0 or s < -1 for s in sizes):
            raise ValueError(f"mesh: axis sizes must be positive or -1, got {sizes}")
        if -1 in sizes:
            if num_devices % known:
                raise ValueError(
                    f"mesh: {num_devices} devices cannot be split as data={self.data}, "
                    f"fsdp={self.fsdp}, tensor={self.tensor}"
                )
            sizes[sizes.index(-1)] = num_devices // known
        if math.prod(sizes) != num_devices:
            raise ValueError(
                f"mesh: data*fsdp*tensor = {math.prod(sizes)} but there are {num_devices} devices"
            )
        return tuple(sizes)  # type: ignore[return-value]


def make_mesh(config: MeshConfig | None = None, devices: Sequence[Any] | None = None) -> Mesh:
    """Builds the ``('data', 'fsdp', 'tensor')`` mesh over ``devices`` (default: all devices)."""
    config = config or MeshConfig()
    devices = list(devices) if devices is not None else jax.devices()
    shape = config.resolve(len(devices))
    return Mesh(np.asarray(devices).reshape(shape), MESH_AXES)


def logical_to_sharding(logical_axes: Any, mesh: Mesh, shapes: Any = None) -> Any:
    """Maps a pytree of logical ``PartitionSpec``s (or name tuples) to ``NamedSharding``s.

    With ``shapes`` (a matching pytree of arrays or ``ShapeDtypeStruct``s), a dimension that the
    mesh axes assigned to it do not divide evenly is replicated instead (e.g. 2 KV heads on a
    4-way ``tensor`` axis).
    """

    def one(spec: Any, shape: tuple[int, ...] | None = None) -> NamedSharding:
        names = tuple(spec) if spec is not None else ()
        mesh_spec = _drop_unit_axes(nn.logical_to_mesh_axes(names, LOGICAL_AXIS_RULES), mesh)
        if shape is not None:
            mesh_spec = _drop_indivisible(mesh_spec, shape, mesh)
        return NamedSharding(mesh, mesh_spec)

    if shapes is None:
        return jax.tree.map(one, logical_axes, is_leaf=_is_spec_leaf)
    flat_specs, treedef = jax.tree.flatten(logical_axes, is_leaf=_is_spec_leaf)
    flat_shapes = treedef.flatten_up_to(shapes)
    return treedef.unflatten([one(sp, tuple(x.shape)) for sp, x in zip(flat_specs, flat_shapes)])


def batch_sharding(mesh: Mesh, ndim: int) -> NamedSharding:
    """Sharding of a ``[batch, ...]`` array: dim 0 over ``('data', 'fsdp')``, the rest replicated."""
    spec = nn.logical_to_mesh_axes(("batch",) + (None,) * (ndim - 1), LOGICAL_AXIS_RULES)
    return NamedSharding(mesh, _drop_unit_axes(spec, mesh))


def replicated(mesh: Mesh) -> NamedSharding:
    """A fully replicated sharding on ``mesh``."""
    return NamedSharding(mesh, PartitionSpec())


def batch_divisor(mesh: Mesh) -> int:
    """How many ways the batch dimension is split on ``mesh`` (``data * fsdp``)."""
    return mesh.shape["data"] * mesh.shape["fsdp"]


def logical_rules_context():
    """Context manager that activates :data:`LOGICAL_AXIS_RULES` for ``nn.with_logical_constraint``."""
    return nn.logical_axis_rules(LOGICAL_AXIS_RULES)


def _is_spec_leaf(x: Any) -> bool:
    return (
        x is None
        or isinstance(x, PartitionSpec)
        or (isinstance(x, tuple) and all(isinstance(n, (str, type(None))) for n in x))
    )


def _drop_indivisible(spec: PartitionSpec, shape: tuple[int, ...], mesh: Mesh) -> PartitionSpec:
    out = []
    for dim, entry in zip(shape, tuple(spec) + (None,) * (len(shape) - len(spec))):
        if entry is None:
            out.append(None)
            continue
        names = (entry,) if isinstance(entry, str) else tuple(entry)
        size = math.prod(mesh.shape[n] for n in names)
        out.append(entry if dim % size == 0 else None)
    return PartitionSpec(*out)


def _drop_unit_axes(spec: PartitionSpec, mesh: Mesh) -> PartitionSpec:
    """Removes mesh axes of size 1 from ``spec`` (keeps shardings readable and equal across meshes)."""

    def keep(entry: Any) -> Any:
        if entry is None:
            return None
        names = (entry,) if isinstance(entry, str) else tuple(entry)
        names = tuple(n for n in names if mesh.shape[n] > 1)
        if not names:
            return None
        return names[0] if len(names) == 1 else names

    return PartitionSpec(*(keep(e) for e in spec))
