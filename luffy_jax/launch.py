"""Several local processes as one multi-process JAX run on CPU: a multi-host run debugged on a
laptop or tested in CI.

    python -m luffy_jax.launch --local_processes=2 -- \\
        --config=experiments/smoke.py --workdir=/tmp/luffy_2proc

Process ``i`` runs ``python -m luffy_jax.train <flags after --> --coordinator_address=localhost:PORT
--num_processes=N --process_id=i`` with ``JAX_PLATFORMS=cpu`` (collectives over gloo) and
``--devices_per_process`` virtual CPU devices (``XLA_FLAGS=--xla_force_host_platform_device_count``),
so N x devices_per_process devices form one mesh. Every output line is printed with a ``[pI]``
prefix.

Exit status: 0 when every process exits with 0; otherwise the status of the first process that
failed. A failed process's peers get ``--grace_s`` seconds to exit by themselves (the JAX
distributed system stops them: a collective with a dead peer fails, and the coordinator's
heartbeat times out), then SIGTERM, then SIGKILL ``--kill_after_s`` later: the launcher never
hangs on a stuck process. SIGTERM or SIGINT sent to the launcher is forwarded to every process
(each saves a checkpoint and stops), with the same time limits. If the launcher itself is
killed, Linux stops its processes too (``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import IO

from absl import app, flags

_LOCAL_PROCESSES = flags.DEFINE_integer("local_processes", 2, "Processes to start.")
_DEVICES = flags.DEFINE_integer(
    "devices_per_process", 4, "Virtual CPU devices per process (the mesh spans all of them)."
)
_PORT = flags.DEFINE_integer("port", 0, "Coordinator port on localhost (0: a free one).")
_MODULE = flags.DEFINE_string("module", "luffy_jax.train", "The entry point each process runs.")
_GRACE_S = flags.DEFINE_float(
    "grace_s", 60.0, "After a process fails (or a signal): seconds the others get to exit."
)
_KILL_AFTER_S = flags.DEFINE_float("kill_after_s", 10.0, "Seconds between SIGTERM and SIGKILL.")

_DEVICE_FLAG = re.compile(r"--xla_force_host_platform_device_count=\S+")


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def process_env(base: dict[str, str], devices: int) -> dict[str, str]:
    """``base`` with ``devices`` virtual CPU devices, the CPU platform and unbuffered output."""
    env = dict(base)
    xla = _DEVICE_FLAG.sub("", env.get("XLA_FLAGS", "")).strip()
    env["XLA_FLAGS"] = f"{xla} --xla_force_host_platform_device_count={devices}".strip()
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _load_prctl():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl() if sys.platform.startswith("linux") else None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: nothing but one libc call (loaded beforehand)."""
    _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: SIGKILL when the launcher dies


def _stream(index: int, pipe: IO[bytes], out: IO[str], lock: threading.Lock) -> None:
    for raw in iter(pipe.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\n")
        with lock:
            out.write(f"[p{index}] {line}\n")
            out.flush()
    pipe.close()


def _status(code: int) -> int:
    return 128 - code if code < 0 else code  # killed by signal s: 128 + s, as a shell reports


def launch(
    num_processes: int,
    args: Sequence[str],
    *,
    devices_per_process: int = 4,
    port: int = 0,
    module: str = "luffy_jax.train",
    grace_s: float = 60.0,
    kill_after_s: float = 10.0,
    env: dict[str, str] | None = None,
    out: IO[str] = sys.stdout,
) -> int:
    """Runs ``num_processes`` processes of ``python -m module args`` as one JAX run; returns the
    exit status (0 when every process exits with 0, else the first failure's)."""
    if num_processes < 1 or devices_per_process < 1:
        raise ValueError("num_processes and devices_per_process must be >= 1")
    port = port or free_port()
    child_env = process_env(dict(os.environ if env is None else env), devices_per_process)
    lock = threading.Lock()

    def say(msg: str) -> None:
        with lock:
            out.write(f"[launch] {msg}\n")
            out.flush()

    procs: list[subprocess.Popen] = []
    for i in range(num_processes):
        cmd = [sys.executable, "-u", "-m", module, *args]
        if num_processes > 1:
            cmd += [
                f"--coordinator_address=localhost:{port}",
                f"--num_processes={num_processes}",
                f"--process_id={i}",
            ]
        procs.append(
            subprocess.Popen(
                cmd,
                env=child_env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a terminal's Ctrl-C reaches the launcher only
                preexec_fn=_die_with_parent if _PRCTL is not None else None,
            )
        )
    readers = [
        threading.Thread(target=_stream, args=(i, p.stdout, out, lock), daemon=True)
        for i, p in enumerate(procs)
    ]
    for r in readers:
        r.start()
    for i, p in enumerate(procs):
        say(f"process {i}: pid {p.pid}")
    say(f"{num_processes} processes x {devices_per_process} CPU devices, coordinator port {port}")

    deadline: list[float] = []  # when the processes still running get SIGTERM

    def forward(signum, frame) -> None:
        say(f"received signal {signum}: sending SIGTERM to every process")
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        if not deadline:
            deadline.append(time.monotonic() + grace_s)

    previous = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.signal(sig, forward)
        except ValueError:  # not the main thread
            pass
    first_failure: int | None = None
    reported: set[int] = set()
    terminated_at: float | None = None
    try:
        while True:
            for i, p in enumerate(procs):
                code = p.poll()
                if code is None or i in reported:
                    continue
                reported.add(i)
                say(f"process {i} exited with status {_status(code)}")
                if code != 0 and first_failure is None:
                    first_failure = _status(code)
                    if not deadline:
                        deadline.append(time.monotonic() + grace_s)
            if len(reported) == len(procs):
                break
            now = time.monotonic()
            if deadline and terminated_at is None and now >= deadline[0]:
                say(f"processes still running after {grace_s:.0f} s: SIGTERM")
                for p in procs:
                    if p.poll() is None:
                        p.send_signal(signal.SIGTERM)
                terminated_at = now
            if terminated_at is not None and now >= terminated_at + kill_after_s:
                for i, p in enumerate(procs):
                    if p.poll() is None:
                        say(f"process {i} ignored SIGTERM for {kill_after_s:.0f} s: SIGKILL")
                        p.kill()
                terminated_at = float("inf")
            time.sleep(0.1)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for r in readers:
            r.join(timeout=5)
    if first_failure is None:
        say(f"all {num_processes} processes exited cleanly")
        return 0
    say(f"failed (status {first_failure})")
    return first_failure


def main(argv: Sequence[str]) -> None:
    args = list(argv[1:])
    if args and args[0] == "--":
        args = args[1:]
    status = launch(
        _LOCAL_PROCESSES.value,
        args,
        devices_per_process=_DEVICES.value,
        port=_PORT.value,
        module=_MODULE.value,
        grace_s=_GRACE_S.value,
        kill_after_s=_KILL_AFTER_S.value,
    )
    sys.exit(status)


if __name__ == "__main__":
    app.run(main)
