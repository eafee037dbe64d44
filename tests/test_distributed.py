"""The cross-process helpers: their single-process paths here (8 devices), their multi-process
paths in two processes x 4 CPU devices started by ``luffy_jax.launch``; and the launcher's own
rules (prefixes, exit status, ending processes that do not stop)."""

import io
import os
import pathlib
import textwrap

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from luffy_jax import distributed, sharding
from luffy_jax.launch import free_port, launch, process_env

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_share_positions_split_every_block_evenly():
    p0 = distributed.share_positions(8, 4, 0, 2)
    p1 = distributed.share_positions(8, 4, 1, 2)
    np.testing.assert_array_equal(p0, [0, 1, 4, 5])
    np.testing.assert_array_equal(p1, [2, 3, 6, 7])
    np.testing.assert_array_equal(distributed.share_positions(6, 6, 0, 1), np.arange(6))
    with pytest.raises(ValueError, match="equal shares"):
        distributed.share_positions(8, 4, 0, 3)
    with pytest.raises(ValueError, match="equal shares"):
        distributed.share_positions(6, 4, 0, 2)


def test_one_process_holds_every_row_and_helpers_are_local():
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=2, tensor=2))
    share = distributed.row_share(mesh)
    assert (share.index, share.count, share.of_process) == (0, 1, (0,))
    x = np.arange(24, dtype=np.float32).reshape(8, 3)
    g = distributed.to_global(x, mesh)
    assert g.sharding == sharding.batch_sharding(mesh, 2)
    np.testing.assert_array_equal(distributed.local_rows(g), x)
    np.testing.assert_array_equal(distributed.fetch(g), x)
    np.testing.assert_array_equal(distributed.gather(x), x[None])
    np.testing.assert_array_equal(distributed.gather_shares(x, mesh), x)
    assert distributed.any_process(True) and not distributed.any_process(False)
    assert distributed.agree_min(3) == 3 and distributed.agree_min(None) is None
    assert distributed.gather_objects({"a": 1}) == [{"a": 1}]
    assert distributed.split_map(lambda xs: [v * 2 for v in xs], [1, 2, 3]) == [2, 4, 6]
    keys = jax.vmap(lambda r: jax.random.fold_in(jax.random.key(0), r))(jnp.arange(8))
    placed = distributed.put(keys, sharding.batch_sharding(mesh, 1))
    np.testing.assert_array_equal(jax.random.key_data(placed), jax.random.key_data(keys))


def test_initialize_does_nothing_without_a_cluster(monkeypatch):
    for k in distributed.CLUSTER_ENV_VARS:
        monkeypatch.delenv(k, raising=False)
    assert distributed.initialize() is False
    assert distributed.initialize(num_processes=1) is False
    assert distributed.initialize(auto=False) is False


HELPERS_CHECK = textwrap.dedent(
    """
    import sys
    import jax, jax.numpy as jnp, numpy as np
    from luffy_jax import distributed, sharding

    flags = dict(a[2:].split("=", 1) for a in sys.argv[1:])
    distributed.initialize(
        flags["coordinator_address"], int(flags["num_processes"]), int(flags["process_id"]),
        heartbeat_timeout_s=20,
    )
    me = jax.process_index()
    assert (jax.process_count(), jax.device_count(), jax.local_device_count()) == (2, 8, 4)
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=-1, tensor=1))
    share = distributed.row_share(mesh)
    assert (share.index, share.count, share.of_process) == (me, 2, (0, 1)), share
    local = np.arange(12, dtype=np.float32).reshape(4, 3) + 100 * me
    g = distributed.to_global(local, mesh)
    assert g.shape == (8, 3) and not g.is_fully_addressable
    np.testing.assert_array_equal(distributed.local_rows(g), local)
    both = np.concatenate([np.arange(12).reshape(4, 3), np.arange(12).reshape(4, 3) + 100])
    np.testing.assert_array_equal(distributed.fetch(g), both)
    np.testing.assert_array_equal(distributed.gather_shares(local, mesh), both)
    total = jax.jit(jnp.sum, out_shardings=sharding.replicated(mesh))(g)
    assert float(total) == both.sum()
    assert distributed.any_process(me == 1) and not distributed.any_process(False)
    assert distributed.agree_min(10 + me) == 10 and distributed.agree_min(None if me else 1) is None
    assert distributed.gather_objects({"p": me, "s": "x" * me}) == [{"p": 0, "s": ""}, {"p": 1, "s": "x"}]
    assert distributed.split_map(lambda xs: [v * 2 for v in xs], list(range(5))) == [0, 2, 4, 6, 8]
    keys = jax.vmap(lambda r: jax.random.fold_in(jax.random.key(3), r))(jnp.arange(8))
    placed = distributed.put(keys, sharding.batch_sharding(mesh, 1))
    np.testing.assert_array_equal(
        distributed.fetch(jax.random.key_data(placed)), np.asarray(jax.random.key_data(keys))
    )
    print(f"helpers ok on process {me}")
    """
)


# The launcher's children die with it (PR_SET_PDEATHSIG, set between fork and exec); JAX, imported
# by this test process (not by the launcher's CLI), warns about any fork.
FORK_WARNING = "ignore:os.fork:RuntimeWarning"


@pytest.mark.filterwarnings(FORK_WARNING)
def test_helpers_across_two_processes(tmp_path):
    (tmp_path / "helpers_check.py").write_text(HELPERS_CHECK)
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{REPO}")
    out = io.StringIO()
    status = launch(2, [], module="helpers_check", env=env, out=out, grace_s=60)
    log = "\n".join(line for line in out.getvalue().splitlines() if "[Gloo]" not in line)
    assert status == 0, log[-6000:]
    assert "[p0] helpers ok on process 0" in log and "[p1] helpers ok on process 1" in log


STUBBORN = textwrap.dedent(
    """
    import signal, sys, time
    index = int([a for a in sys.argv if a.startswith("--process_id=")][0].split("=")[1])
    print("started", index, flush=True)
    if index == 1:
        sys.exit(3)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a process that hangs and ignores SIGTERM
    time.sleep(600)
    """
)


@pytest.mark.filterwarnings(FORK_WARNING)
def test_launch_ends_the_others_when_one_fails_and_reports_its_status(tmp_path):
    (tmp_path / "stubborn.py").write_text(STUBBORN)
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    out = io.StringIO()
    status = launch(2, [], module="stubborn", env=env, out=out, grace_s=0.5, kill_after_s=0.5)
    log = out.getvalue()
    assert status == 3, log
    assert "[p0] started 0" in log and "[p1] started 1" in log
    assert "[launch] process 1 exited with status 3" in log
    assert "SIGKILL" in log and "[launch] process 0 exited with status 137" in log


def test_process_env_sets_the_device_count_and_cpu():
    env = process_env({"XLA_FLAGS": "--foo --xla_force_host_platform_device_count=8"}, 4)
    assert env["XLA_FLAGS"] == "--foo --xla_force_host_platform_device_count=4"
    assert env["JAX_PLATFORMS"] == "cpu" and env["PYTHONUNBUFFERED"] == "1"
    assert 0 < free_port() < 65536
