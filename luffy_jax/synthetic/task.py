"""A verifiable multi-step reasoning task with a programmatic teacher.

A problem is a chain of additions and subtractions of 1..4, evaluated left to right from a start
digit, whose running value stays in 0..9, e.g. ``3+4+2-1``. The answer is a digit. The teacher's
trace works one operation per line, each line starting from the previous line's result, and boxes
the last one::

    3+4=7
    7+2=9
    9-1=8
    </think>
    \\boxed{8}

(after the ``<think>\\n`` that ends the generation prompt). The reproduction's base policy has a
weaker habit (:func:`short_trace`): it works the first operation, then jumps to the boxed
answer -- often right on two-operation chains, rarely on longer ones. It is pretrained mostly on
such short solutions plus a few (``Scale.full_fraction``) of the teacher's full traces, so it
knows the better way but rarely takes it on its own: the paper's setting, where the base already
solves a share of the problems and the teacher's traces show a way it seldom takes.
:func:`guessed_trace` (the layout with random results) and :func:`plain_answer` are kept as
alternative bases for probes.

Splits: in-distribution problems have ``2..4`` operations; out-of-distribution ones ``5..6``
(longer chains than any seen in training).

(An earlier version wrapped values modulo 5: a tiny model trained for minutes does not learn
modular addition -- after 1,200 supervised steps on the teacher's traces its results were right
a third of the time -- while addition within 0..9 is learned perfectly in a few hundred.)
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Sequence

DIGITS = 10  # values stay in 0..DIGITS-1
MAX_STEP = 4  # operands are 1..MAX_STEP


def apply_op(x: int, op: str, v: int) -> int:
    """``x + v`` or ``x - v``."""
    return x + v if op == "+" else x - v


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
            x = apply_op(x, op, v)
            out.append(x)
        return out

    @property
    def answer(self) -> int:
        return self.values[-1]


def sample_problem(rng: random.Random, num_ops: int) -> Problem:
    """A random chain of ``num_ops`` operations whose running value stays in ``0..DIGITS-1``
    (each operation uniform over the ones that keep it there)."""
    start = x = rng.randrange(DIGITS)
    ops = []
    for _ in range(num_ops):
        allowed = [
            (op, v)
            for op in "+-"
            for v in range(1, MAX_STEP + 1)
            if 0 <= apply_op(x, op, v) < DIGITS
        ]
        op, v = rng.choice(allowed)
        x = apply_op(x, op, v)
        ops.append((op, v))
    return Problem(start, tuple(ops))


def _worked_lines(p: Problem, results: Sequence[int]) -> list[str]:
    """One line per operation, ``x{op}v=y``, where ``x`` is the previous line's result."""
    lines, x = [], p.start
    for (op, v), y in zip(p.ops, results, strict=True):
        lines.append(f"{x}{op}{v}={y}")
        x = y
    return lines


def _answer_tail(answer: int) -> str:
    return "</think>\n\\boxed{" + str(answer) + "}"


def _with_answer(lines: list[str], answer: int) -> str:
    return "\n".join(lines) + "\n" + _answer_tail(answer)


def teacher_trace(p: Problem) -> str:
    """The worked solution: one operation per line with its result (``3+4=2``; the next line
    starts from that result), then ``</think>`` and the boxed answer."""
    return _with_answer(_worked_lines(p, p.values), p.answer)


def guessed_trace(p: Problem, rng: random.Random) -> str:
    """The teacher's layout with every result replaced by a uniformly random digit (the next
    line starts from the guess; the boxed answer is the last guess): a derivation that looks
    right but whose arithmetic is a guess. Pretraining on these gives a base policy that knows
    how to lay out a worked solution but not how to compute it (its accuracy is chance,
    ``1 / DIGITS``)."""
    guesses = [rng.randrange(DIGITS) for _ in p.ops]
    return _with_answer(_worked_lines(p, guesses), guesses[-1])


def short_trace(p: Problem, worked: int = 1) -> str:
    """The base's habit: the first ``worked`` operations worked as in :func:`teacher_trace`, then
    straight to the boxed answer (the rest done "in the head"). On a chain of at most ``worked``
    operations this is the teacher's trace."""
    return _with_answer(_worked_lines(p, p.values)[:worked], p.answer)


def is_worked_fully(response: str, num_ops: int) -> bool:
    """Whether a response (the text after ``<think>\\n``) works every operation: at least
    ``num_ops`` lines of the form ``x{op}v=y`` before ``</think>``."""
    body = response.split("</think>")[0]
    steps = [line for line in body.split("\n") if "=" in line and line[:1].isdigit()]
    return len(steps) >= num_ops


def plain_answer(p: Problem) -> str:
    """The answer-only format (no worked steps; a probe, not used by the presets)."""
    return _answer_tail(p.answer)


def make_split(
    seed: int,
    count: int,
    ops_range: tuple[int, int],
    exclude: Sequence[Problem] = (),
) -> list[Problem]:
    """``count`` distinct problems with ``ops_range[0]..ops_range[1]`` operations, none of them in
    ``exclude`` (if that many exist; there are only 60 one-operation chains)."""
    rng = random.Random(seed)
    seen, out = {q.text for q in exclude}, []
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
    seed: int = 0,
    full_fraction: float = 0.0,
) -> str:
    """Writes ``problem``/``answer``/``num_ops``/``trace`` rows (``trace``: "teacher", "short",
    "guessed", "plain" or "none"; with "short", each row is the teacher's full trace with
    probability ``full_fraction``; ``seed`` drives that draw and the guessed values)."""
    if trace not in ("teacher", "short", "guessed", "plain", "none"):
        raise ValueError(f"write_jsonl: unknown trace kind {trace!r}")
    rng = random.Random(seed)
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        for i, p in enumerate(problems):
            row = {
                "problem": p.text,
                "answer": str(p.answer),
                "num_ops": len(p.ops),
                "index": i,
                "data_source": source,
            }
            if trace == "short":
                full = rng.random() < full_fraction
                row["trace"] = teacher_trace(p) if full else short_trace(p)
            elif trace == "teacher":
                row["trace"] = teacher_trace(p)
            elif trace == "guessed":
                row["trace"] = guessed_trace(p, rng)
            elif trace == "plain":
                row["trace"] = plain_answer(p)
            f.write(json.dumps(row) + "\n")
    return path
