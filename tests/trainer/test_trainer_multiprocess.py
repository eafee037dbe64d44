"""Two JAX processes x 4 CPU devices (``luffy_jax.launch``) train like one process x 8 devices:
same metrics, one checkpoint written by both, SIGTERM on one host stops both cleanly, a resumed
run continues exactly, and a killed host makes the other exit with an error in bounded time.

Two tests, so that ``pytest -n 2`` runs them side by side; the launched runs share a persistent
compilation cache, so each program is compiled by the first run that needs it.
"""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from luffy_jax.trainer import read_metrics, run_training

REPO = pathlib.Path(__file__).resolve().parents[2]
VOLATILE = ("timing_s/", "perf/")
# Metrics that follow from the samples, rewards and lengths alone: equal, not close.
EXACT = ("reward", "batch/", "response_length/", "prompt_length/", "on_off_metrics/", "critic/")
WAIT_S = 420  # a bound for every wait, far above the expected time: CI never hangs here


class Launch:
    """``python -m luffy_jax.launch`` in the background; its output collected line by line."""

    def __init__(self, args, cache_dir, grace_s=60):
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(REPO),
            JAX_DEFAULT_MATMUL_PRECISION="highest",  # as tests/conftest.py sets in-process
            JAX_COMPILATION_CACHE_DIR=str(cache_dir),
            JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
        )
        env.pop("XLA_FLAGS", None)
        cmd = [sys.executable, "-m", "luffy_jax.launch", "--local_processes=2"]
        cmd += ["--devices_per_process=4", f"--grace_s={grace_s}", "--", *args]
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self.lines.append("<eof>")
            self._cond.notify_all()

    def wait_for(self, pattern: str, timeout: float = WAIT_S) -> re.Match:
        regex, deadline, seen = re.compile(pattern), time.monotonic() + timeout, 0
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if m := regex.search(line):
                        return m
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.lines and self.lines[-1] == "<eof>"):
                    self.kill()
                    pytest.fail(f"no line matching {pattern!r}:\n{self.tail()}")
                self._cond.wait(timeout=min(left, 1.0))

    def pid(self, index: int) -> int:
        return int(self.wait_for(rf"^\[launch\] process {index}: pid (\d+)").group(1))

    def wait(self, timeout: float = WAIT_S) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"launch did not finish in {timeout} s:\n{self.tail()}")

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def tail(self) -> str:
        return "\n".join(line for line in self.lines if "[Gloo]" not in line)[-8000:]


def _write_config(config, path: pathlib.Path) -> str:
    path.write_text(
        "import json\n\nimport ml_collections\n\n\ndef get_config():\n"
        f"    return ml_collections.ConfigDict(json.loads({config.to_json()!r}))\n"
    )
    return str(path)


def _comparable(record):
    return {k: v for k, v in record.items() if not k.startswith(VOLATILE)}


@pytest.fixture
def setup(tiny_config, tmp_path, tmp_path_factory):
    """The config (2 steps, 2 prompts: one per host), its file, and the compilation cache."""
    config = tiny_config
    config.batch.mini_batch_prompts = 2  # each host takes one whole prompt of the mini-batch
    config.checkpoint.every = 100  # checkpoints: the SIGTERM's and the last step's
    config.eval.files = config.data.train_files  # validation at step 2, graded by both hosts
    config.eval.every = 2
    config.eval.max_examples = 5
    config.eval.max_new_tokens = 8
    base = tmp_path_factory.getbasetemp()
    cache = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "jax_cache"
    return config, _write_config(config, tmp_path / "config.py"), cache, tmp_path


def _assert_same_metrics(one: list[dict], two: list[dict]) -> None:
    """Steps 1 and 2 of a 1-process run (``one``) and a 2-process run (``two``) agree: counts and
    exact keys to the bit, float32 sums reduced in another order across processes to a few ulps."""
    assert [r["step"] for r in two] == [1, 2]
    for r1, r2 in zip(one, two, strict=True):
        a, b = _comparable(r1), _comparable(r2)
        assert a.keys() == b.keys()
        for k in a:
            if k.startswith(EXACT) or not isinstance(a[k], float):
                assert a[k] == b[k], (r1["step"], k, a[k], b[k])
            else:
                np.testing.assert_allclose(b[k], a[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_two_processes_match_one_and_a_preempted_run_resumes_exactly(setup):
    """One test (one xdist worker) for three checks sharing the uninterrupted 2-process run."""
    config, config_file, cache, root = setup

    # 1. 2 processes x 4 devices == 1 process x 8 devices (this one, meanwhile)
    straight = Launch([f"--config={config_file}", f"--workdir={root / 'straight'}"], cache)
    run_training(config, str(root / "one"), max_steps=2)
    assert straight.wait() == 0, straight.tail()
    one, two = read_metrics(str(root / "one")), read_metrics(str(root / "straight"))
    _assert_same_metrics(one, two)
    assert two[-1]["reward/n"] == 8  # every row scored once, over both hosts
    assert "val/avg_score" in two[-1]

    # 2. SIGTERM to process 1 only: both save step 1 (one checkpoint, both hosts' parts) and exit 0
    workdir = root / "preempted"
    args = [f"--config={config_file}", f"--workdir={workdir}"]
    run = Launch(args, cache)
    pid = run.pid(1)
    run.wait_for(r"^\[p1\] .*training data")  # the handler is installed before this line
    os.kill(pid, signal.SIGTERM)
    assert run.wait() == 0, run.tail()
    run.wait_for(r"^\[p0\] .*another process received SIGTERM: saving step 1")
    run.wait_for(r"^\[launch\] all 2 processes exited cleanly")
    assert [r["step"] for r in read_metrics(str(workdir))] == [1]
    step = workdir / "checkpoints" / "1"
    assert sorted(os.listdir(workdir / "checkpoints")) == ["1"]
    assert {"ocdbt.process_0", "ocdbt.process_1"} <= set(os.listdir(step / "state"))
    data = json.loads((step / "data" / "metadata").read_text())
    assert len(data["hosts"]) == 2  # both hosts' data iterator positions

    # 3. resumed by two new processes: the metrics of the uninterrupted run, exactly
    resumed = Launch(args, cache)
    assert resumed.wait() == 0, resumed.tail()
    records = read_metrics(str(workdir))
    assert [r["step"] for r in records] == [1, 2]
    for got, want in zip(records, two):
        assert _comparable(got) == _comparable(want)


def test_two_processes_pack_like_one(setup):
    """``batch.packing``: each host packs its own rows and the hosts agree on every packed
    micro-batch's shape; 2 processes x 4 devices give the metrics of 1 process x 8 devices."""
    config, _, cache, root = setup
    config.batch.packing = True
    config_file = _write_config(config, root / "packed.py")
    straight = Launch([f"--config={config_file}", f"--workdir={root / 'two'}"], cache)
    run_training(config, str(root / "one"), max_steps=2)
    assert straight.wait() == 0, straight.tail()
    _assert_same_metrics(read_metrics(str(root / "one")), read_metrics(str(root / "two")))


def test_a_killed_process_makes_the_other_exit_with_an_error(setup):
    _, config_file, cache, root = setup
    args = [f"--config={config_file}", f"--workdir={root / 'killed'}", "--heartbeat_timeout_s=20"]
    run = Launch(args, cache, grace_s=120)  # the launcher leaves process 0 alone for 120 s
    pid = run.pid(1)
    run.wait_for(r"^\[p0\] .*step 1/2")
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    status = int(run.wait_for(r"^\[launch\] process 0 exited with status (\d+)").group(1))
    elapsed = time.monotonic() - killed_at
    print(f"process 0 exited with status {status} {elapsed:.1f} s after process 1 was killed")
    assert status != 0 and elapsed < 60, (status, elapsed, run.tail())
    assert run.wait() != 0
