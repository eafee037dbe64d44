"""Sets of real numbers: intervals, unions, inequalities and complements as sympy sets.

:func:`real_set` reads a :class:`~luffy_jax.rewards.structure.Node` as a sympy set when it is
one: an interval ``[a, b)`` (``(a, b)`` too, when the other side is a set), a union (``\\cup``,
``or``), an intersection (``and``), ``\\mathbb{R}``, ``A \\setminus B``, a set-builder
``\\{x \\mid ...\\}``, or an inequality in one variable: ``x > 3``, ``3 \\le x``,
``-1 < x \\le 2``, ``x \\ne 3``, ``|x| \\ge 2``, ``|x - 1| < 3``. Endpoints are exact sympy
numbers (``\\frac{\\pi}{2}``, ``\\sqrt2``), so ``(0, 1.57)`` is not ``(0, \\frac{\\pi}{2})``.
Sets are kept in a canonical form -- sorted, disjoint, merged intervals (:class:`RealSet`),
built by exact union, intersection and complement -- so two sets are equal when their pieces
are: ``(-\\infty, 3) \\cup (3, \\infty)`` is ``x \\ne 3`` is ``\\mathbb{R} \\setminus \\{3\\}``.
Endpoints are compared exactly (sympy's ordering of real numbers; equality of canonical forms
or a proof of a zero difference); a comparison sympy cannot decide makes the set unreadable,
never equal. (sympy's own ``Union``/``Complement`` give the same answers 5-50x slower.)

:func:`interval_like` says whether a node is unambiguously a set of reals (an infinite or
half-open end, a union, an inequality, ...): only then is a plain ``(a, b)`` on the other side
read as an open interval rather than a pair.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from luffy_jax.rewards.structure import SIMPLE_LHS_RE, Node, parse_node
from luffy_jax.rewards.symbolic import proves_zero, sympy_module, to_sympy

_OPS_RE = re.compile(r"(\\leq|\\geq|<|>|\\ne(?![a-zA-Z]))")
_FLIP = {"<": ">", ">": "<", "\\leq": "\\geq", "\\geq": "\\leq", "\\ne": "\\ne"}


class Undecidable(ValueError):
    """Two endpoints sympy cannot order."""


def _lt(a, b) -> bool:
    result = a < b
    if result not in (True, False):
        raise Undecidable(f"{a} < {b}")
    return bool(result)


def _same(a, b) -> bool:
    if a == b:
        return True
    if a.is_infinite or b.is_infinite:
        return False
    return not _lt(a, b) and not _lt(b, a) and proves_zero(a - b)


@dataclasses.dataclass(frozen=True)
class Piece:
    """One interval of a :class:`RealSet`: ends (sympy numbers or +-oo) and closedness."""

    lo: object
    hi: object
    lo_closed: bool
    hi_closed: bool


@dataclasses.dataclass(frozen=True)
class RealSet:
    """A set of reals as sorted, disjoint, non-touching pieces (the canonical form)."""

    pieces: tuple[Piece, ...]

    @staticmethod
    def interval(lo, hi, lo_closed: bool, hi_closed: bool) -> RealSet:
        lo_closed = lo_closed and not lo.is_infinite
        hi_closed = hi_closed and not hi.is_infinite
        if _lt(lo, hi) or (_same(lo, hi) and lo_closed and hi_closed):
            return RealSet((Piece(lo, hi, lo_closed, hi_closed),))
        return RealSet(())

    @staticmethod
    def points(values) -> RealSet:
        return RealSet.union(*(RealSet.interval(v, v, True, True) for v in values))

    @staticmethod
    def union(*sets: RealSet) -> RealSet:
        pieces = sorted((p for s in sets for p in s.pieces), key=functools.cmp_to_key(_by_start))
        merged: list[Piece] = []
        for piece in pieces:
            if merged:
                last = merged[-1]
                touching = _lt(piece.lo, last.hi) or (
                    _same(piece.lo, last.hi) and (last.hi_closed or piece.lo_closed)
                )
                if touching:
                    if _lt(last.hi, piece.hi):
                        hi, hi_closed = piece.hi, piece.hi_closed
                    elif _same(last.hi, piece.hi):
                        hi, hi_closed = last.hi, last.hi_closed or piece.hi_closed
                    else:
                        hi, hi_closed = last.hi, last.hi_closed
                    merged[-1] = Piece(last.lo, hi, last.lo_closed, hi_closed)
                    continue
            merged.append(piece)
        return RealSet(tuple(merged))

    def complement(self) -> RealSet:
        sp = sympy_module()
        gaps = []
        lo, lo_closed = -sp.oo, False
        for piece in self.pieces:
            gaps.append(RealSet.interval(lo, piece.lo, lo_closed, not piece.lo_closed))
            lo, lo_closed = piece.hi, not piece.hi_closed
        gaps.append(RealSet.interval(lo, sp.oo, lo_closed, False))
        return RealSet.union(*gaps)

    def intersection(self, other: RealSet) -> RealSet:
        return RealSet.union(self.complement(), other.complement()).complement()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RealSet) or len(self.pieces) != len(other.pieces):
            return False
        return all(
            _same(a.lo, b.lo)
            and _same(a.hi, b.hi)
            and a.lo_closed == b.lo_closed
            and a.hi_closed == b.hi_closed
            for a, b in zip(self.pieces, other.pieces)
        )

    __hash__ = None  # type: ignore[assignment]


def _by_start(a: Piece, b: Piece) -> int:
    if _lt(a.lo, b.lo):
        return -1
    if _lt(b.lo, a.lo):
        return 1
    return (0 if a.lo_closed else 1) - (0 if b.lo_closed else 1)


def interval_like(node: Node) -> bool:
    """Whether ``node`` can only be a set of reals (see the module docstring)."""
    if node.kind in ("ineq", "reals", "setminus", "setbuilder"):
        return True
    if node.kind == "seq":
        return len(node.items) == 2 and (
            node.brackets != "()" or any("\\infty" in item.text for item in node.items)
        )
    if node.kind == "list":
        if node.joiner == "cup":
            return True
        if node.joiner in ("or", "and"):
            return all(interval_like(item) for item in node.items)
    return False


def _endpoint(node: Node):
    if node.kind != "scalar":
        return None
    value = to_sympy(node.text)
    if value is None or value.free_symbols or not value.is_extended_real:
        return None
    return value


def _interval(lo, hi, left_open: bool, right_open: bool) -> RealSet | None:
    """``[lo, hi]`` with the given open ends; None for an empty or reversed interval."""
    result = RealSet.interval(lo, hi, not left_open, not right_open)
    return result if result.pieces else None


def _bound_set(op: str, bound) -> RealSet:
    """The set of x with ``x op bound``."""
    sp = sympy_module()
    if op in ("<", "\\leq"):
        return RealSet.interval(-sp.oo, bound, False, op == "\\leq")
    if op in (">", "\\geq"):
        return RealSet.interval(bound, sp.oo, op == "\\geq", False)
    return RealSet.points([bound]).complement()


def _abs_set(expr_text: str, op: str, bound) -> RealSet | None:
    """``|x - c| op bound`` for one variable x and numbers c, bound; None otherwise."""
    sp = sympy_module()
    expr = to_sympy(expr_text)
    if expr is None or not isinstance(expr, sp.Abs) or len(expr.free_symbols) != 1:
        return None
    (var,) = expr.free_symbols
    shift = sp.expand(expr.args[0] - var)
    if shift.free_symbols or not shift.is_real or op == "\\ne" or not bound.is_real:
        return None
    centre = -shift
    inside = RealSet.interval(centre - bound, centre + bound, op == "\\leq", op == "\\leq")
    if op in ("<", "\\leq"):
        return inside
    return RealSet.interval(centre - bound, centre + bound, op == ">", op == ">").complement()


def _ineq_set(text: str) -> RealSet | None:
    parts = _OPS_RE.split(text)
    terms = [p.strip() for p in parts[0::2]]
    ops = parts[1::2]
    if not all(terms):
        return None
    if len(terms) == 2:
        left, right = terms
        op = ops[0]
        if SIMPLE_LHS_RE.match(left) and not SIMPLE_LHS_RE.match(right):
            bound = _endpoint(Node("scalar", right))
            return None if bound is None else _bound_set(op, bound)
        if SIMPLE_LHS_RE.match(right) and not SIMPLE_LHS_RE.match(left):
            bound = _endpoint(Node("scalar", left))
            return None if bound is None else _bound_set(_FLIP[op], bound)
        for side, other, side_op in ((left, right, op), (right, left, _FLIP[op])):
            if side.startswith("|") and side.endswith("|"):
                bound = _endpoint(Node("scalar", other))
                if bound is not None:
                    return _abs_set(side, side_op, bound)
        return None
    if len(terms) == 3 and "\\ne" not in ops:
        low, var, high = terms
        if not SIMPLE_LHS_RE.match(var):
            return None
        lo, hi = _endpoint(Node("scalar", low)), _endpoint(Node("scalar", high))
        if lo is None or hi is None:
            return None
        if all(o in ("<", "\\leq") for o in ops):
            return _interval(lo, hi, ops[0] == "<", ops[1] == "<")
        if all(o in (">", "\\geq") for o in ops):
            return _interval(hi, lo, ops[1] == ">", ops[0] == ">")
    return None


def real_set(node: Node, depth: int = 0) -> RealSet | None:
    """The set of reals ``node`` denotes, or None (see the module docstring)."""
    try:
        return _real_set(node, depth)
    except (Undecidable, TypeError):
        return None


def _real_set(node: Node, depth: int) -> RealSet | None:
    sp = sympy_module()
    if depth > 6:
        return None
    if node.kind == "reals":
        return RealSet.interval(-sp.oo, sp.oo, False, False)
    if node.kind == "seq" and len(node.items) == 2 and node.brackets[0] in "([":
        lo, hi = _endpoint(node.items[0]), _endpoint(node.items[1])
        if lo is None or hi is None:
            return None
        return _interval(lo, hi, node.brackets[0] == "(", node.brackets[1] == ")")
    if node.kind == "ineq":
        return _ineq_set(node.text)
    if node.kind == "setbuilder":
        return _real_set(parse_node(node.text), depth + 1)
    if node.kind == "set":
        values = [_endpoint(item) for item in node.items]
        if any(v is None for v in values):
            return None
        return RealSet.points(values)
    if node.kind == "setminus":
        a, b = (_real_set(item, depth + 1) for item in node.items)
        if a is None or b is None:
            return None
        return a.intersection(b.complement())
    if node.kind == "list" and node.joiner in ("cup", "or", "and"):
        sets = [_real_set(item, depth + 1) for item in node.items]
        if any(s is None for s in sets):
            return None
        if node.joiner == "and":
            result = sets[0]
            for other in sets[1:]:
                result = result.intersection(other)
            return result
        return RealSet.union(*sets)
    if node.kind == "scalar" and node.text.strip() in ("\\varnothing", "\\{\\}"):
        return RealSet(())
    return None


def sets_equal(a: RealSet, b: RealSet) -> bool:
    """Exact equality of two canonical sets (an undecidable endpoint comparison: not equal)."""
    try:
        return a == b
    except (Undecidable, TypeError):
        return False


__all__ = ["Piece", "RealSet", "interval_like", "real_set", "sets_equal"]
