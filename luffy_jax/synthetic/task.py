"""A verifiable multi-step reasoning task with a programmatic teacher.

A problem is a chain of additions and subtractions of digits, evaluated left to right modulo 5,
e.g. ``3+4+2-1`` (mod 5). The answer is a digit in 0..4. The teacher's trace rewrites the chain one operation at a
time and boxes the result::

    3+4+2-1
    2+2-1
    4-1
    3
    </think>
    \\boxed{3}

(after the ``<think>\\n`` that ends the generation prompt). Each step is a lookup in a 5 x 4 table
that a tiny model learns easily; composing three or more lookups in one forward pass is what it
cannot do. The base policy is pretrained on the *plain* format, ``</think>\\n\\boxed{1}``, with no
worked steps: right for one operation, mostly wrong for three, which is where off-policy guidance
should help.

Splits: in-distribution problems have ``2..3`` operations; out-of-distribution ones ``4..6``
(longer chains than any seen in training).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Sequence

MODULUS = 5


@dataclasses.dataclass(frozen=True)
class Problem:
    start: int
    ops: tuple[tuple[str, int], ...]  # ("+", 5) or ("-", 3)

    @property
    def text(self) -> str:
        return str(self.start) + "".join(f"{op}{v}" for op, v in self.ops)

    @property
    def values(self) -> list[int]:
        out, x = [], self.start
        for op, v in self.ops:
            x = (x + v if op == "+" else x - v) % MODULUS
            out.append(x)
        return out

    @property
    def answer(self) -> int:
        return self.values[-1]


def sample_problem(rng: random.Random, num_ops: int) -> Problem:
    """A random chain of ``num_ops`` operations on digits mod ``MODULUS``."""
    start = rng.randint(0, MODULUS - 1)
    ops = tuple((rng.choice("+-"), rng.randint(1, MODULUS - 1)) for _ in range(num_ops))
    return Problem(start, ops)


def teacher_trace(p: Problem) -> str:
    """The worked solution: each line evaluates the first operation of the line above (a
    scratchpad a small model can follow), then ``</think>`` and the boxed answer."""
    lines = [p.text]
    for i, y in enumerate(p.values):
        lines.append(str(y) + "".join(f"{o}{w}" for o, w in p.ops[i + 1 :]))
    return "\n".join(lines) + "\n</think>\n\\boxed{" + str(p.answer) + "}"


def plain_answer(p: Problem) -> str:
    """The answer-only format the base policy is pretrained on."""
    return "</think>\n\\boxed{" + str(p.answer) + "}"


def make_split(seed: int, count: int, ops_range: tuple[int, int]) -> list[Problem]:
    """``count`` distinct problems with ``ops_range[0]..ops_range[1]`` operations (if that many
    exist; one-operation chains number only 5 x 8 = 40)."""
    rng = random.Random(seed)
    seen, out = set(), []
    tries = 0
    while len(out) < count and tries < 100 * count:
        tries += 1
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
