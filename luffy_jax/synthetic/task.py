"""A verifiable multi-step reasoning task with a programmatic teacher.

A problem is a chain of additions and subtractions applied left to right to a start value, written
with explicit parentheses, e.g. ``((7+5)-3)+8``. The answer is an integer. The teacher's trace
works one operation per line and boxes the result::

    7+5=12
    12-3=9
    9+8=17
    </think>
    \\boxed{17}

(after the ``<think>\\n`` that ends the generation prompt). The base policy is pretrained on the
*plain* format, ``</think>\\n\\boxed{17}``, with no worked steps, so it must compute the whole chain
in one go: easy for one operation, hard for three, which is where off-policy guidance should help.

Splits: in-distribution problems have ``2..3`` operations; out-of-distribution ones ``4..5``
(longer chains than any seen in training). Values stay within ``[0, 99]``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Sequence


@dataclasses.dataclass(frozen=True)
class Problem:
    start: int
    ops: tuple[tuple[str, int], ...]  # ("+", 5) or ("-", 3)

    @property
    def text(self) -> str:
        expr = str(self.start)
        for i, (op, v) in enumerate(self.ops):
            expr = f"({expr}{op}{v})" if i < len(self.ops) - 1 else f"{expr}{op}{v}"
        return expr

    @property
    def values(self) -> list[int]:
        out, x = [], self.start
        for op, v in self.ops:
            x = x + v if op == "+" else x - v
            out.append(x)
        return out

    @property
    def answer(self) -> int:
        return self.values[-1]


def sample_problem(rng: random.Random, num_ops: int, max_value: int = 99) -> Problem:
    """A random chain of ``num_ops`` operations whose intermediate values stay in [0, max_value]."""
    x = rng.randint(1, 20)
    start, ops = x, []
    for _ in range(num_ops):
        while True:
            op = rng.choice("+-")
            v = rng.randint(1, 20)
            y = x + v if op == "+" else x - v
            if 0 <= y <= max_value:
                break
        ops.append((op, v))
        x = y
    return Problem(start, tuple(ops))


def teacher_trace(p: Problem) -> str:
    """The worked solution (one line per operation), ``</think>``, then the boxed answer."""
    lines, x = [], p.start
    for (op, v), y in zip(p.ops, p.values):
        lines.append(f"{x}{op}{v}={y}")
        x = y
    return "\n".join(lines) + "\n</think>\n\\boxed{" + str(p.answer) + "}"


def plain_answer(p: Problem) -> str:
    """The answer-only format the base policy is pretrained on."""
    return "</think>\n\\boxed{" + str(p.answer) + "}"


def make_split(seed: int, count: int, ops_range: tuple[int, int]) -> list[Problem]:
    """``count`` distinct problems with ``ops_range[0]..ops_range[1]`` operations."""
    rng = random.Random(seed)
    seen, out = set(), []
    while len(out) < count:
        p = sample_problem(rng, rng.randint(*ops_range))
        if p.text not in seen:
            seen.add(p.text)
            out.append(p)
    return out


def write_jsonl(
    path: str | os.PathLike,
    problems: Sequence[Problem],
    *,
    trace: str = "teacher",
    source: str = "synthetic",
) -> str:
    """Writes ``problem``/``answer``/``trace`` rows (``trace``: "teacher", "plain" or "none")."""
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        for i, p in enumerate(problems):
            row = {"problem": p.text, "answer": str(p.answer), "index": i, "data_source": source}
            if trace == "teacher":
                row["trace"] = teacher_trace(p)
            elif trace == "plain":
                row["trace"] = plain_answer(p)
            f.write(json.dumps(row) + "\n")
    return path
