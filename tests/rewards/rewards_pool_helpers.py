"""Graders for pool tests (module-level so spawned workers can unpickle them by name)."""

import os
import time


def misbehaving_grader(kind: str, response: str, gold: str) -> float:
    """``HANG`` sleeps for a minute, ``CRASH`` kills the worker, ``RAISE`` raises, else 1/0."""
    if response == "HANG":
        time.sleep(60)
    if response == "CRASH":
        os._exit(3)
    if response == "RAISE":
        raise ValueError("asked to raise")
    return 1.0 if response == gold else 0.0


def _load_after(seconds: float):
    time.sleep(seconds)
    return misbehaving_grader


class SlowToLoadGrader:
    """A grader that a spawned worker unpickles only after ``seconds``: a worker stuck before
    it reports ready (as when a script without a ``__main__`` guard is re-run by every worker)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __reduce__(self):
        return (_load_after, (self.seconds,))
