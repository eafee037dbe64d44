"""The shape of one normalised answer: :func:`parse_node` turns it into a small :class:`Node` tree.

Kinds, tried in this order (separators count only outside brackets):

* ``list`` -- parts joined by ``\\cup`` (joiner ``cup``), ``or``/``and``/``;`` (joiner ``or`` /
  ``and``; ``and`` between inequalities is an intersection) or bare commas (joiner ``,``;
  ``1, 2, and 3`` included). Nested lists are flattened where they mean one list (``0, \\pm 1``).
* ``matrix`` -- ``pmatrix``/``bmatrix``/``array``..., rows of ``seq`` nodes; a scalar factor
  written before it multiplies every entry (``\\frac12 \\begin{pmatrix}..``).
* ``set`` -- ``\\{a, b\\}`` (order ignored); ``\\{x \\mid x < 3\\}`` is a ``setbuilder``.
* ``seq`` -- bracketed ``(a, b)`` / ``[a, b)`` ...: tuples and intervals; ``brackets`` holds the
  pair, which must match on both sides.
* ``setminus`` -- ``A \\setminus B``; ``reals`` -- ``\\mathbb{R}``.
* ``eq`` -- ``lhs = rhs``; a right side with one ``\\pm`` is the list of both signs.
* ``ineq`` -- anything with ``<``, ``>``, ``\\leq``, ``\\geq``, ``\\ne``; ``text`` holds it,
  ``realsets`` reads it as a set of reals where it can.
* ``scalar`` -- everything else; one ``\\pm``/``\\mp`` anywhere in a scalar makes the list of
  both signs (``\\frac{-1 \\pm \\sqrt5}{2}``).

Depth and item counts are bounded (``_MAX_DEPTH``, ``_MAX_ITEMS``); longer answers stay scalars.
"""

from __future__ import annotations

import dataclasses
import functools
import re

from luffy_jax.rewards import guards

_MAX_ITEMS = 24
_MAX_DEPTH = 5
SIMPLE_LHS_RE = re.compile(
    r"^[a-zA-Z](?:_\{?[a-zA-Z0-9 ,]*\}?)?'*(?:\([a-zA-Z, ]*\))?$|^\\[a-zA-Z]+(?:_\{?[a-zA-Z0-9]*\}?)?$"
)
INEQ_RE = re.compile(r"\\leq|\\geq|<|>|\\ne(?![a-zA-Z])")
_MATRIX_RE = re.compile(
    r"^(?P<coef>.*?)\s*\\begin\{(?P<env>[pbBvV]?matrix|array)\}(?:\{[^{}]*\})?(?P<body>.*)"
    r"\\end\{(?P=env)\}$",
    re.DOTALL,
)
_REALS_RE = re.compile(r"^(?:\\mathbb\s*\{?\s*R\s*\}?|\\R|\\Bbb\s*\{?R\}?|\\mathbf\{R\})$")
_SETMINUS_RE = re.compile(r"\\setminus|\\backslash")
_SETBUILDER_RE = re.compile(r"^\\\{\s*([a-zA-Z])\s*(?:\\mid|\||:)\s*(.+)\\\}$", re.DOTALL)
_LEADING_JOIN_RE = re.compile(r"^(?:and|or)\s+")
_LIST_JOIN_RE = re.compile(r",\s*(?:and|or)\s+")


@dataclasses.dataclass(frozen=True)
class Node:
    """One parsed answer (see the module docstring for ``kind``).

    ``text``: the scalar / inequality text; ``items``: children (matrix rows are seqs);
    ``brackets``: a seq's bracket pair; ``joiner``: how a list's items were joined."""

    kind: str
    text: str = ""
    items: tuple[Node, ...] = ()
    brackets: str = ""
    joiner: str = ""


def split_top(s: str, seps: tuple[str, ...]) -> list[str]:
    """Split ``s`` at separators that are outside all brackets."""
    parts, depth, start, i = [], 0, 0, 0
    n = len(s)
    while i < n:
        ch = s[i]
        if ch == "\\" and i + 1 < n and s[i + 1] in "{}":
            depth += 1 if s[i + 1] == "{" else -1
            i += 2
            continue
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            for sep in seps:
                if s.startswith(sep, i):
                    parts.append(s[start:i])
                    i += len(sep)
                    start = i
                    break
            else:
                i += 1
                continue
            continue
        i += 1
    parts.append(s[start:])
    return [p.strip() for p in parts]


def enclosed(s: str, open_chars: str, close_chars: str) -> bool:
    """Whether s[0] (one of open_chars) is closed exactly by s[-1] (one of close_chars)."""
    if len(s) < 2 or s[0] not in open_chars or s[-1] not in close_chars:
        return False
    depth = 0
    for i, ch in enumerate(s):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0 and i != len(s) - 1:
                return False
    return depth == 0


def _list(parts: list[str], joiner: str, depth: int) -> Node:
    items: list[Node] = []
    for part in parts:
        sub = parse_node(part, depth + 1)
        if sub.kind == "list" and (sub.joiner == joiner or sub.joiner == "pm" or joiner == ","):
            items.extend(sub.items)
        else:
            items.append(sub)
    return Node("list", items=tuple(items), joiner=joiner)


def expand_pm(s: str) -> Node | None:
    """One ``\\pm``/``\\mp`` anywhere: the list of the two signs; None otherwise."""
    count = s.count("\\pm") + s.count("\\mp")
    if count != 1:
        return None
    plus, minus = ("+", "-") if "\\pm" in s else ("-", "+")
    macro = "\\pm" if "\\pm" in s else "\\mp"
    first, second = s.replace(macro, plus), s.replace(macro, minus)
    if not first.strip(" +-") or not second.strip(" +-"):
        return None
    return Node(
        "list",
        items=(Node("scalar", _tidy_sign(first)), Node("scalar", _tidy_sign(second))),
        joiner="pm",
    )


def _tidy_sign(s: str) -> str:
    s = s.strip()
    return s[1:].strip() if s.startswith("+") else s


@functools.lru_cache(maxsize=8192)
def parse_node(s: str, depth: int = 0) -> Node:
    """Parse a normalised answer into a :class:`Node` tree (see the module docstring)."""
    s = s.strip()
    if depth >= _MAX_DEPTH or len(s) > guards.MAX_ANSWER_CHARS:
        return Node("scalar", s)
    s = _LIST_JOIN_RE.sub(", ", s)  # "1, 2, and 3" is the list 1, 2, 3
    parts = split_top(s, ("\\cup",))
    if 1 < len(parts) <= _MAX_ITEMS and all(parts):
        return _list(parts, "cup", depth)
    parts = [p for p in split_top(s, (" or ", ";")) if p]
    if 1 < len(parts) <= _MAX_ITEMS:
        return _list(parts, "or", depth)
    parts = [p for p in split_top(s, (" and ",)) if p]
    if 1 < len(parts) <= _MAX_ITEMS:
        return _list(parts, "and", depth)
    m = _MATRIX_RE.match(s)
    if m and "\\begin" not in m.group("coef"):
        node = _matrix(m.group("body"), m.group("coef").strip(), depth)
        if node is not None:
            return node
    m = _SETBUILDER_RE.match(s)
    if m:
        return Node("setbuilder", text=m.group(2).strip(), items=(Node("scalar", m.group(1)),))
    if s.startswith("\\{") and s.endswith("\\}"):
        parts = split_top(s[2:-2], (",",))
        if len(parts) <= _MAX_ITEMS:
            return Node("set", items=tuple(parse_node(p, depth + 1) for p in parts if p))
    if enclosed(s, "([", ")]"):
        parts = split_top(s[1:-1], (",",))
        if len(parts) == 1:
            if s[0] == "(" and s[-1] == ")":
                return parse_node(s[1:-1], depth + 1)
        elif len(parts) <= _MAX_ITEMS:
            return Node(
                "seq", items=tuple(parse_node(p, depth + 1) for p in parts), brackets=s[0] + s[-1]
            )
    parts = split_top(s, (",",))
    if 1 < len(parts) <= _MAX_ITEMS:
        parts = [_LEADING_JOIN_RE.sub("", p) for p in parts]
        if all(parts):
            return _list(parts, ",", depth)
    if _REALS_RE.match(s):
        return Node("reals")
    parts = [p for p in _SETMINUS_RE.split(s)]
    if len(parts) == 2 and all(p.strip() for p in parts):
        return Node(
            "setminus", items=(parse_node(parts[0], depth + 1), parse_node(parts[1], depth + 1))
        )
    if INEQ_RE.search(s):
        return Node("ineq", s)
    if "=" in s:
        sides = split_top(s, ("=",))
        if len(sides) >= 2 and sides[0] and sides[-1]:
            return Node(
                "eq", items=(parse_node(sides[0], depth + 1), parse_node(sides[-1], depth + 1))
            )
    pm = expand_pm(s)
    if pm is not None:
        return pm
    return Node("scalar", s)


def _matrix(body: str, coef: str, depth: int) -> Node | None:
    rows = [r for r in re.split(r"\\\\", body) if r.strip()]
    if not 0 < len(rows) <= _MAX_ITEMS:
        return None
    cells = [[c.strip() for c in r.split("&")] for r in rows]
    if sum(len(r) for r in cells) > 4 * _MAX_ITEMS:
        return None
    if coef:
        if coef in ("-", "+"):
            factor = "-1" if coef == "-" else "1"
        elif re.search(r"[=<>,&]", coef):
            return None
        else:
            factor = coef
        cells = [[f"({factor})\\cdot({c})" for c in r] for r in cells]
    return Node(
        "matrix",
        items=tuple(
            Node("seq", items=tuple(parse_node(c, depth + 1) for c in r), brackets="()")
            for r in cells
        ),
    )


def is_name(node: Node) -> bool:
    """A scalar that is a plain name (``x``, ``m_{max}``, ``f(n)``, ``\\theta``)."""
    return node.kind == "scalar" and SIMPLE_LHS_RE.match(node.text) is not None


def is_name_eq(node: Node) -> bool:
    return node.kind == "eq" and is_name(node.items[0])


def strip_name(node: Node) -> Node:
    """``x = 3`` -> ``3``; ``(x, y) = (1, 2)`` -> ``(1, 2)``; anything else unchanged."""
    if node.kind != "eq":
        return node
    lhs, rhs = node.items
    if is_name(lhs):
        return rhs
    if (
        lhs.kind == "seq"
        and rhs.kind == "seq"
        and lhs.brackets == "()"
        and len(lhs.items) == len(rhs.items)
        and all(is_name(n) for n in lhs.items)
    ):
        return rhs
    return node


def tuple_eq_as_list(node: Node) -> Node | None:
    """``(x, y) = (1, 2)`` -> the list ``x = 1, y = 2``; None for anything else."""
    if node.kind != "eq":
        return None
    lhs, rhs = node.items
    stripped = strip_name(node)
    if stripped is node or lhs.kind != "seq":
        return None
    return Node(
        "list",
        items=tuple(Node("eq", items=(n, v)) for n, v in zip(lhs.items, rhs.items)),
        joiner=",",
    )


__all__ = [
    "INEQ_RE",
    "SIMPLE_LHS_RE",
    "Node",
    "enclosed",
    "expand_pm",
    "is_name",
    "is_name_eq",
    "parse_node",
    "split_top",
    "strip_name",
    "tuple_eq_as_list",
]
