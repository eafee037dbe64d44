import jax
import numpy as np
import pytest
from jax.sharding import PartitionSpec

from luffy_jax import sharding


def test_eight_virtual_devices():
    assert len(jax.devices()) == 8


def test_mesh_resolves_minus_one():
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=-1, tensor=2))
    assert dict(mesh.shape) == {"data": 2, "fsdp": 2, "tensor": 2}
    assert mesh.axis_names == sharding.MESH_AXES


@pytest.mark.parametrize(
    "cfg",
    [sharding.MeshConfig(3, -1, 1), sharding.MeshConfig(2, 2, 3), sharding.MeshConfig(-1, -1, 1)],
)
def test_bad_mesh_names_the_problem(cfg):
    with pytest.raises(ValueError, match="mesh"):
        sharding.make_mesh(cfg)


def test_logical_to_sharding_maps_rules_and_drops_unit_axes():
    mesh = sharding.make_mesh(sharding.MeshConfig(data=1, fsdp=4, tensor=2))
    tree = {"w": ("embed", "mlp"), "e": ("vocab", "embed"), "b": ("batch", "length")}
    out = sharding.logical_to_sharding(tree, mesh)
    assert out["w"].spec == PartitionSpec("fsdp", "tensor")
    assert out["e"].spec == PartitionSpec("tensor", "fsdp")
    assert out["b"].spec == PartitionSpec("fsdp", None)


def test_batch_sharding_places_rows():
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=4, tensor=1))
    x = jax.device_put(np.arange(16.0).reshape(8, 2), sharding.batch_sharding(mesh, 2))
    assert len(x.addressable_shards) == 8
    assert x.addressable_shards[0].data.shape == (1, 2)
    assert sharding.batch_divisor(mesh) == 8


def test_indivisible_dimensions_are_replicated_when_shapes_are_given():
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=1, tensor=4))
    tree = {"kv": ("kv_heads", "head_dim"), "q": ("heads", "head_dim")}
    shapes = {"kv": np.zeros((2, 16)), "q": np.zeros((8, 16))}
    out = sharding.logical_to_sharding(tree, mesh, shapes)
    assert out["kv"].spec == PartitionSpec(None, None)
    assert out["q"].spec == PartitionSpec("tensor", None)
