"""Parallel, time-bounded reward scoring in a pool of worker processes.

:class:`RewardPool` keeps ``workers`` processes started with the ``spawn`` context (never
``fork``: the trainer process runs JAX threads). Each worker imports the graders once, runs
every proof path once (``equivalence.warm_up``), freezes the objects it has so far out of the
garbage collector (``gc.freeze``: a full collection over sympy's import-time objects would
otherwise cost some item ~100 ms), says "ready", then grades one item at a time. The parent hands an item to an idle ready worker,
notes the time, and waits on all pipes with ``multiprocessing.connection.wait``; the time limit
is measured by the parent (no signals), so scoring works from any thread. An item that runs
past ``timeout_s`` gets score 0 and is counted as a timeout; its worker is killed and a fresh
one started. A worker that dies mid-item (crash, OOM kill) is counted as a crash, scores 0, and
is replaced. An exception raised by a grader inside a worker scores 0 and is counted as an
error. Results keep the order of the inputs.

:func:`score_batch` uses one module-level pool created lazily on first use (sized by
``workers``; re-created when a different size is asked for) and closed at interpreter exit.
That pool is the rewards package's one piece of state (architecture.md). ``workers=0`` grades
in-process and sequentially, with no time limit beyond the input guards.
"""

from __future__ import annotations

import atexit
import gc
import multiprocessing as mp
import os
import threading
import time
from collections import deque
from multiprocessing.connection import Connection, wait

KINDS = ("math", "math_nothink", "boxed", "math_verify")
_START_TIMEOUT_S = 120.0


def grade_one(kind: str, response: str, gold: str) -> float:
    """Grade one item in this process with the grader named by ``kind`` (see ``KINDS``)."""
    from luffy_jax.rewards.grader import boxed_reward, math_reward

    if kind == "math":
        return math_reward(response, gold, require_think=True)
    if kind == "math_nothink":
        return math_reward(response, gold, require_think=False)
    if kind == "boxed":
        return boxed_reward(response, gold)
    if kind == "math_verify":  # the official judge (optional dependency)
        from luffy_jax.rewards.math_verify_judge import math_verify_reward

        return math_verify_reward(response, gold, require_think=True)
    raise ValueError(f"unknown reward kind {kind!r}; expected one of {KINDS}")


def _worker_main(conn: Connection, grade_fn=None) -> None:
    """Worker loop: import once, report ready, then grade ``(kind, response, gold)`` messages."""
    grade = grade_fn if grade_fn is not None else grade_one
    import luffy_jax.rewards.grader  # noqa: F401 -- warm the imports before reporting ready
    from luffy_jax.rewards.equivalence import warm_up

    warm_up()
    # sympy's ~100k import-time objects never die: keep them out of every garbage collection,
    # or a full collection lands on some item and costs it ~100 ms
    gc.collect()
    gc.freeze()

    conn.send(("ready", None))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        kind, response, gold = msg
        try:
            conn.send(("ok", grade(kind, response, gold)))
        except Exception as exc:  # noqa: BLE001 -- reported to the parent as an error
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class _Worker:
    def __init__(self, ctx, grade_fn) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=_worker_main, args=(child, grade_fn), daemon=True)
        self.process.start()
        child.close()
        self.ready = False
        self.created_at = time.monotonic()
        self.item: int | None = None
        self.started_at = 0.0

    def kill(self) -> None:
        try:
            self.process.kill()
            self.process.join(timeout=5.0)
        finally:
            self.conn.close()


class RewardPool:
    """A reusable pool of reward worker processes (see the module docstring).

    Use as a context manager or call :meth:`close`. One ``score`` call runs at a time (a lock
    serialises calls from several threads). ``grade_fn`` replaces :func:`grade_one` as the
    grader run in the workers (a picklable module-level ``(kind, response, gold) -> float``).
    """

    def __init__(
        self, workers: int | None = None, *, start_method: str = "spawn", grade_fn=None
    ) -> None:
        if start_method not in ("spawn", "forkserver"):
            raise ValueError(f"start_method must be 'spawn' or 'forkserver', got {start_method!r}")
        if workers is None:
            workers = max(1, os.cpu_count() or 1)
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.num_workers = workers
        self._ctx = mp.get_context(start_method)
        self._grade_fn = grade_fn
        self._workers: list[_Worker] = [_Worker(self._ctx, grade_fn) for _ in range(workers)]
        self._lock = threading.Lock()
        self._closed = False
        self.restarts = 0

    def __enter__(self) -> RewardPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (idempotent)."""
        if self._closed:
            return
        self._closed = True
        for worker in self._workers:
            try:
                worker.conn.send(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 2.0
        for worker in self._workers:
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5.0)
            worker.conn.close()
        self._workers = []

    def _replace(self, index: int) -> None:
        self._workers[index].kill()
        self._workers[index] = _Worker(self._ctx, self._grade_fn)
        self.restarts += 1

    def score(
        self,
        responses: list[str],
        golds: list[str],
        *,
        kind: str = "math",
        timeout_s: float = 5.0,
    ) -> tuple[list[float], dict]:
        """Scores (in input order) and stats for ``responses`` against ``golds``.

        Stats: ``n``, ``timeouts``, ``crashes``, ``errors``, ``restarts`` (workers replaced),
        ``total_s`` (wall time), ``workers``.
        """
        if self._closed:
            raise RuntimeError("RewardPool is closed")
        _check_inputs(responses, golds, kind, timeout_s)
        with self._lock:
            return self._score(list(responses), list(golds), kind, timeout_s)

    def _score(self, responses, golds, kind, timeout_s):
        start = time.monotonic()
        n = len(responses)
        scores = [0.0] * n
        stats = {"n": n, "timeouts": 0, "crashes": 0, "errors": 0, "restarts": 0}
        errors: list[str] = []
        pending = deque(range(n))
        done = 0
        restarts_before = self.restarts
        while done < n:
            now = time.monotonic()
            for w_index, worker in enumerate(self._workers):
                if worker.ready and worker.item is None and pending:
                    item = pending.popleft()
                    try:
                        worker.conn.send((kind, responses[item], golds[item]))
                    except (OSError, ValueError, BrokenPipeError):
                        pending.appendleft(item)
                        self._replace(w_index)
                        continue
                    worker.item, worker.started_at = item, now
            busy_deadlines = [w.started_at + timeout_s for w in self._workers if w.item is not None]
            wait_s = max(0.0, min(busy_deadlines) - time.monotonic()) if busy_deadlines else 1.0
            conn_to_index = {w.conn: i for i, w in enumerate(self._workers)}
            ready_conns = wait(list(conn_to_index), timeout=min(wait_s, 1.0) + 1e-3)
            for conn in ready_conns:
                w_index = conn_to_index[conn]
                worker = self._workers[w_index]
                try:
                    status, payload = conn.recv()
                except (EOFError, OSError):
                    if worker.item is not None:
                        stats["crashes"] += 1
                        done += 1
                        worker.item = None
                    elif not worker.ready and time.monotonic() - start > _START_TIMEOUT_S:
                        raise RuntimeError("reward workers keep dying at start-up") from None
                    self._replace(w_index)
                    continue
                if status == "ready":
                    worker.ready = True
                    continue
                item = worker.item
                worker.item = None
                if item is None:
                    continue
                done += 1
                if status == "ok":
                    scores[item] = float(payload)
                else:
                    stats["errors"] += 1
                    errors.append(f"item {item}: {payload}")
            now = time.monotonic()
            if not any(w.ready for w in self._workers) and all(
                now - w.created_at > _START_TIMEOUT_S for w in self._workers
            ):
                raise RuntimeError(
                    f"no reward worker became ready within {_START_TIMEOUT_S:.0f} s; with the "
                    "'spawn' start method a script that trains must guard its entry point with "
                    "`if __name__ == '__main__':` (each worker imports the main module)"
                )
            for w_index, worker in enumerate(self._workers):
                if worker.item is not None and now - worker.started_at > timeout_s:
                    stats["timeouts"] += 1
                    done += 1
                    worker.item = None
                    self._replace(w_index)
                elif worker.item is not None and not worker.process.is_alive():
                    if not worker.conn.poll():
                        stats["crashes"] += 1
                        done += 1
                        worker.item = None
                        self._replace(w_index)
        stats["restarts"] = self.restarts - restarts_before
        stats["total_s"] = time.monotonic() - start
        stats["workers"] = self.num_workers
        if errors:
            stats["error_messages"] = errors[:10]
        return scores, stats


def _check_inputs(responses, golds, kind: str, timeout_s: float) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown reward kind {kind!r}; expected one of {KINDS}")
    if len(responses) != len(golds):
        raise ValueError(f"responses ({len(responses)}) and golds ({len(golds)}) differ in length")
    if not timeout_s > 0:
        raise ValueError(f"timeout_s must be > 0, got {timeout_s}")
    for i, (response, gold) in enumerate(zip(responses, golds)):
        if not isinstance(response, str):
            raise TypeError(f"responses[{i}] is {type(response).__name__}, expected str")
        if not isinstance(gold, str):
            raise TypeError(f"golds[{i}] is {type(gold).__name__}, expected str")


_DEFAULT_POOL: RewardPool | None = None
_DEFAULT_LOCK = threading.Lock()


def _close_default_pool() -> None:
    global _DEFAULT_POOL
    if _DEFAULT_POOL is not None:
        _DEFAULT_POOL.close()
        _DEFAULT_POOL = None


atexit.register(_close_default_pool)


def score_batch(
    responses: list[str],
    golds: list[str],
    *,
    kind: str = "math",
    timeout_s: float = 5.0,
    workers: int | None = None,
) -> tuple[list[float], dict]:
    """Score ``responses`` against ``golds`` in parallel; returns ``(scores, stats)``.

    ``kind``: ``"math"`` (LUFFY v3 training reward), ``"math_nothink"`` (the same without the
    ``</think>`` requirement) or ``"boxed"`` (strict evaluation grader). Uses the module-level
    pool (created on first use with ``workers`` processes, default ``os.cpu_count()``);
    ``workers=0`` grades in-process without a time limit. See :class:`RewardPool` for stats.
    """
    global _DEFAULT_POOL
    _check_inputs(responses, golds, kind, timeout_s)
    if workers == 0:
        start = time.monotonic()
        scores, errors = [], 0
        for response, gold in zip(responses, golds):
            try:
                scores.append(grade_one(kind, response, gold))
            except Exception:  # noqa: BLE001 -- counted, scored 0
                scores.append(0.0)
                errors += 1
        stats = {
            "n": len(scores),
            "timeouts": 0,
            "crashes": 0,
            "errors": errors,
            "restarts": 0,
            "total_s": time.monotonic() - start,
            "workers": 0,
        }
        return scores, stats
    with _DEFAULT_LOCK:
        wanted = workers if workers is not None else max(1, os.cpu_count() or 1)
        if _DEFAULT_POOL is not None and _DEFAULT_POOL.num_workers != wanted:
            _DEFAULT_POOL.close()
            _DEFAULT_POOL = None
        if _DEFAULT_POOL is None:
            _DEFAULT_POOL = RewardPool(wanted)
        pool = _DEFAULT_POOL
    return pool.score(responses, golds, kind=kind, timeout_s=timeout_s)
