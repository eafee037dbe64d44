"""The device mesh and the logical-to-mesh axis rules: the one place where sharding is decided.

The mesh always has the three axes ``('data', 'fsdp', 'tensor')``:

- ``data``: pure data parallelism (parameters replicated),
- ``fsdp``: data parallelism with parameters and optimizer state sharded along their ``embed`` dim,
- ``tensor``: tensor (model) parallelism over attention heads, the MLP width and the vocabulary.

Modules annotate parameters and key activations with *logical* axis names (``'batch'``,
``'embed'``, ``'heads'``, ...); :data:`LOGICAL_AXIS_RULES` maps them to mesh axes. Nothing else in
the library names a mesh axis directly.

Activation constraints (:func:`constrain`) need to know the mesh while a function is traced.
:func:`activation_sharding` provides it: the model's api functions enter it around every
``apply``, taking the mesh that is already in context (``jax.set_mesh``) or else the one that the
parameters (or inputs) are sharded over, read from their abstract values. Callers therefore get
the activation shardings in every jitted entry point without doing anything; with unsharded
arrays (one device, or eager calls) there is no mesh and the constraints are no-ops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Any

import flax.linen as nn
import jax
import numpy as np
from jax.sharding import AbstractMesh, Mesh, NamedSharding, PartitionSpec

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


def logical_spec(
    names: Sequence[str | None] | PartitionSpec | None,
    mesh: Mesh | AbstractMesh,
    shape: Sequence[int] | None = None,
) -> PartitionSpec:
    """The mesh ``PartitionSpec`` of an array whose dimensions carry logical ``names``.

    Mesh axes of size 1 are left out; with ``shape``, a dimension that its mesh axes do not
    divide evenly is replicated instead (e.g. 2 KV heads on a 4-way ``tensor`` axis).
    """
    names = tuple(names) if names is not None else ()
    spec = _drop_unit_axes(nn.logical_to_mesh_axes(names, LOGICAL_AXIS_RULES), mesh)
    if shape is not None:
        spec = _drop_indivisible(spec, tuple(shape), mesh)
    return spec


def logical_to_sharding(logical_axes: Any, mesh: Mesh, shapes: Any = None) -> Any:
    """Maps a pytree of logical ``PartitionSpec``s (or name tuples) to ``NamedSharding``s.

    With ``shapes`` (a matching pytree of arrays or ``ShapeDtypeStruct``s), a dimension that the
    mesh axes assigned to it do not divide evenly is replicated instead (e.g. 2 KV heads on a
    4-way ``tensor`` axis).
    """

    def one(spec: Any, shape: tuple[int, ...] | None = None) -> NamedSharding:
        return NamedSharding(mesh, logical_spec(spec, mesh, shape))

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
    """Context manager that activates :data:`LOGICAL_AXIS_RULES` for Flax's own
    ``nn.with_logical_constraint``.

    The library does not use it: :func:`constrain` needs no rules context. Do not enter it around
    a model ``apply`` with a mesh in context: Flax then also constrains the value returned by
    the parameter initialisers it evaluates for shape checks, and ``DenseGeneral``'s flattened
    multi-axis kernels fail with a rank mismatch (Flax 0.12).
    """
    return nn.logical_axis_rules(LOGICAL_AXIS_RULES)


def activation_mesh() -> AbstractMesh | None:
    """The (abstract) mesh in context while tracing, or ``None`` (no mesh, or a single device)."""
    mesh = jax.sharding.get_abstract_mesh()
    if mesh.empty or mesh.size == 1:
        return None
    return mesh


def mesh_of(tree: Any) -> AbstractMesh | None:
    """The abstract mesh that the first multi-device-sharded leaf of ``tree`` lives on, if any.

    Reads ``jax.typeof(leaf).sharding``, which inside ``jit`` carries the mesh of the argument's
    ``NamedSharding`` (also for ``Auto`` mesh axes). Leaves that are not JAX values are skipped.
    """
    for leaf in jax.tree.leaves(tree):
        if not isinstance(leaf, (jax.Array, jax.core.Tracer)):
            continue
        named = getattr(jax.typeof(leaf), "sharding", None)
        mesh = getattr(named, "mesh", None)
        if isinstance(mesh, Mesh):
            mesh = mesh.abstract_mesh
        if isinstance(mesh, AbstractMesh) and not mesh.empty and mesh.size > 1:
            return mesh
    return None


@contextlib.contextmanager
def activation_sharding(like: Any = None) -> Iterator[AbstractMesh | None]:
    """Puts the activation sharding rules in force for the code traced inside the block.

    The mesh is the one already in context (``jax.set_mesh`` / ``use_abstract_mesh``) or else
    :func:`mesh_of` ``(like)`` (e.g. the parameters). The abstract mesh is only entered while
    tracing (``like`` holds tracers): eager calls run unconstrained, as JAX cannot constrain a
    committed single-device value to an abstract mesh. Yields the mesh (``None`` when there is
    none: every :func:`constrain` is then a no-op).
    """
    mesh = activation_mesh()
    if mesh is not None:
        yield mesh
        return
    tracing = any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(like))
    mesh = mesh_of(like) if tracing else None
    if mesh is None:
        yield None
        return
    with jax.sharding.use_abstract_mesh(mesh):
        yield mesh


def constrain(x: jax.Array, names: Sequence[str | None]) -> jax.Array:
    """``with_sharding_constraint`` of ``x`` to the mesh axes of its logical dimension ``names``
    (see :func:`logical_spec`); the identity when no mesh is in context (:func:`activation_mesh`)."""
    mesh = activation_mesh()
    if mesh is None:
        return x
    if len(names) != x.ndim:
        raise ValueError(f"constrain: {len(names)} logical names {names} for a {x.ndim}-d array")
    spec = logical_spec(names, mesh, x.shape)
    return jax.lax.with_sharding_constraint(x, NamedSharding(mesh, spec))


def _is_spec_leaf(x: Any) -> bool:
    return (
        x is None
        or isinstance(x, PartitionSpec)
        or (isinstance(x, tuple) and all(isinstance(n, (str, type(None))) for n in x))
    )


def _drop_indivisible(
    spec: PartitionSpec, shape: tuple[int, ...], mesh: Mesh | AbstractMesh
) -> PartitionSpec:
    out = []
    for dim, entry in zip(shape, tuple(spec) + (None,) * (len(shape) - len(spec))):
        if entry is None:
            out.append(None)
            continue
        names = (entry,) if isinstance(entry, str) else tuple(entry)
        size = math.prod(mesh.shape[n] for n in names)
        out.append(entry if dim % size == 0 else None)
    return PartitionSpec(*out)


def _drop_unit_axes(spec: PartitionSpec, mesh: Mesh | AbstractMesh) -> PartitionSpec:
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
