"""Sets of real numbers: intervals, unions, inequalities and complements as sympy sets.

:func:`real_set` reads a :class:`~luffy_jax.rewards.structure.Node` as a sympy set when it is
one: an interval ``[a, b)`` (``(a, b)`` too, when the other side is a set), a union (``\\cup``,
``or``), an intersection (``and``), ``\\mathbb{R}``, ``A \\setminus B``, a set-builder
``\\{x \\mid ...\\}``, or an inequality in one variable: ``x > 3``, ``3 \\le x``,
``-1 < x \\le 2``, ``x \\ne 3``, ``|x| \\ge 2``, ``|x - 1| < 3``. Endpoints are exact sympy
numbers (``\\frac{\\pi}{2}``, ``\\sqrt2``), so ``(0, 1.57)`` is not ``(0, \\frac{\\pi}{2})``.
Two such sets are equal when sympy's canonical forms are equal (``(-\\infty, 3) \\cup (3,
\\infty)`` is ``x \\ne 3`` is ``\\mathbb{R} \\setminus \\{3\\}``); that comparison is exact.

:func:`interval_like` says whether a node is unambiguously a set of reals (an infinite or
half-open end, a union, an inequality, ...): only then is a plain ``(a, b)`` on the other side
read as an open interval rather than a pair.
"""

from __future__ import annotations

import re

from luffy_jax.rewards.structure import SIMPLE_LHS_RE, Node, parse_node
from luffy_jax.rewards.symbolic import sympy_module, to_sympy

_OPS_RE = re.compile(r"(\\leq|\\geq|<|>|\\ne(?![a-zA-Z]))")
_FLIP = {"<": ">", ">": "<", "\\leq": "\\geq", "\\geq": "\\leq", "\\ne": "\\ne"}


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


def _interval(lo, hi, left_open: bool, right_open: bool):
    sp = sympy_module()
    try:
        if lo.is_infinite:
            left_open = True
        if hi.is_infinite:
            right_open = True
        if not (lo < hi) and not (lo == hi and not left_open and not right_open):
            return None
        return sp.Interval(lo, hi, left_open, right_open)
    except TypeError:  # a comparison sympy cannot decide
        return None


def _bound_set(op: str, bound):
    """The set of x with ``x op bound``."""
    sp = sympy_module()
    if op == "<":
        return sp.Interval.open(-sp.oo, bound)
    if op == "\\leq":
        return sp.Interval(-sp.oo, bound, True, False)
    if op == ">":
        return sp.Interval.open(bound, sp.oo)
    if op == "\\geq":
        return sp.Interval(bound, sp.oo, False, True)
    return sp.Union(sp.Interval.open(-sp.oo, bound), sp.Interval.open(bound, sp.oo))


def _abs_set(expr_text: str, op: str, bound):
    """``|x - c| op bound`` for one variable x and numbers c, bound; None otherwise."""
    sp = sympy_module()
    expr = to_sympy(expr_text)
    if expr is None or not isinstance(expr, sp.Abs) or len(expr.free_symbols) != 1:
        return None
    (var,) = expr.free_symbols
    inner = expr.args[0]
    shift = sp.expand(inner - var)
    if shift.free_symbols or not shift.is_real:
        return None
    centre = -shift
    if op == "\\ne" or not bound.is_real:
        return None
    if bound < 0:
        return sp.S.Reals if op in (">", "\\geq") else sp.S.EmptySet
    if op in ("<", "\\leq"):
        return sp.Interval(centre - bound, centre + bound, op == "<", op == "<")
    closed = op == "\\geq"
    return sp.Union(
        sp.Interval(-sp.oo, centre - bound, True, not closed),
        sp.Interval(centre + bound, sp.oo, not closed, True),
    )


def _ineq_set(text: str):
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


def real_set(node: Node, depth: int = 0):
    """The sympy set of reals ``node`` denotes, or None (see the module docstring)."""
    sp = sympy_module()
    if depth > 6:
        return None
    if node.kind == "reals":
        return sp.S.Reals
    if node.kind == "seq" and len(node.items) == 2 and node.brackets[0] in "([":
        lo, hi = _endpoint(node.items[0]), _endpoint(node.items[1])
        if lo is None or hi is None:
            return None
        return _interval(lo, hi, node.brackets[0] == "(", node.brackets[1] == ")")
    if node.kind == "ineq":
        return _ineq_set(node.text)
    if node.kind == "setbuilder":
        return real_set(parse_node(node.text), depth + 1)
    if node.kind == "set":
        values = [_endpoint(item) for item in node.items]
        if any(v is None for v in values):
            return None
        return sp.FiniteSet(*values)
    if node.kind == "setminus":
        a, b = (real_set(item, depth + 1) for item in node.items)
        if a is None or b is None:
            return None
        return sp.Complement(a, b)
    if node.kind == "list" and node.joiner in ("cup", "or", "and"):
        sets = [real_set(item, depth + 1) for item in node.items]
        if any(s is None for s in sets):
            return None
        return sp.Intersection(*sets) if node.joiner == "and" else sp.Union(*sets)
    if node.kind == "scalar" and node.text.strip() in ("\\varnothing", "\\{\\}"):
        return sp.S.EmptySet
    return None


def sets_equal(a, b) -> bool:
    """Exact equality of two sympy sets of reals (canonical forms, then the symmetric
    difference when sympy can decide it)."""
    sp = sympy_module()
    if a == b:
        return True
    try:
        diff = sp.SymmetricDifference(a, b)
        return diff == sp.S.EmptySet
    except Exception:  # noqa: BLE001 -- undecidable comparisons are "not equal"
        return False


__all__ = ["interval_like", "real_set", "sets_equal"]
