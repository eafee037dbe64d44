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
