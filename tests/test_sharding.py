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


def test_logical_spec_drops_unit_and_indivisible_axes():
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=2, tensor=2))
    names = ("batch", "length", "heads", "head_dim")
    assert sharding.logical_spec(names, mesh) == PartitionSpec(
        ("data", "fsdp"), None, "tensor", None
    )
    assert sharding.logical_spec(names, mesh, (6, 3, 4, 8)) == PartitionSpec(
        None, None, "tensor", None
    )
    unit = sharding.make_mesh(sharding.MeshConfig(data=1, fsdp=8, tensor=1))
    assert sharding.logical_spec(names, unit.abstract_mesh) == PartitionSpec(
        "fsdp", None, None, None
    )


def test_mesh_of_finds_the_mesh_of_sharded_leaves_only():
    mesh = sharding.make_mesh(sharding.MeshConfig(data=1, fsdp=4, tensor=2))
    x = jax.device_put(np.zeros((8, 2)), sharding.batch_sharding(mesh, 2))
    found = sharding.mesh_of({"a": np.zeros(3), "b": jax.numpy.zeros(3), "c": x})
    assert found == mesh.abstract_mesh
    assert sharding.mesh_of({"a": np.zeros(3), "b": jax.numpy.zeros(3), "c": 1.0}) is None


def test_activation_sharding_puts_the_mesh_in_context_while_tracing_only():
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=2, tensor=2))
    x = jax.device_put(np.arange(16.0).reshape(8, 2), sharding.batch_sharding(mesh, 2))
    seen = {}

    @jax.jit
    def f(x):
        with sharding.activation_sharding(x) as m:
            seen["mesh"] = m
            return sharding.constrain(x * 2, ("batch", "embed"))

    text = f.lower(x).as_text()
    assert seen["mesh"] == mesh.abstract_mesh
    assert "sdy.sharding_constraint" in text and '[{"data", "fsdp"}, {}]' in text
    np.testing.assert_array_equal(f(x), np.arange(16.0).reshape(8, 2) * 2)
    with sharding.activation_sharding(x) as m:  # eager: nothing to constrain
        assert m is None and sharding.activation_mesh() is None
        np.testing.assert_array_equal(sharding.constrain(x, ("batch", "embed")), x)
    y = jax.numpy.ones((8, 2))  # unsharded inside jit: no mesh, no constraint
    text = jax.jit(lambda y: sharding.constrain(y, ("batch", "embed"))).lower(y).as_text()
    assert "sharding_constraint" not in text
    with jax.set_mesh(mesh):  # a mesh already in context is used as it is
        text = jax.jit(lambda y: sharding.constrain(y, ("batch", "embed"))).lower(y).as_text()
    assert '[{"data", "fsdp"}, {}]' in text


def test_constrain_checks_the_rank():
    mesh = sharding.make_mesh(sharding.MeshConfig(data=1, fsdp=8, tensor=1))
    with jax.set_mesh(mesh):
        with pytest.raises(ValueError, match="logical names"):
            jax.jit(lambda y: sharding.constrain(y, ("batch",))).lower(jax.numpy.ones((8, 2)))
