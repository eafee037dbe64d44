"""The equivalence judge: ``math_equal(prediction, gold)`` on two extracted answers.

Why not math-verify underneath: math-verify (what LUFFY uses) has failure modes that cost
accuracy on real golds -- it reads ``4.5e33`` as ``4.5*e*33``, compares numbers rounded to 6
decimals (so ``1/2^{99}`` equals ``1/2^{98}`` and ``1.414`` may pass for ``\\sqrt{2}``), strips
unit letters that are physics symbols, accepts an answer found as "the last number" of a text,
and relies on ``signal.alarm`` for time limits (main thread only). This judge therefore does its
own extraction (``extract.py``), normalisation and structural comparison, and uses sympy only
for scalar expressions. LaTeX is turned into sympy by ``latex2sympy2_extended`` (the ANTLR LaTeX
parser math-verify is built on; pinned in requirements.txt, math-verify itself is not installed)
-- only after the guards in ``guards.py`` pass.

Decision procedure for two normalised answers (``normalize.normalize_answer``):

1. Identical strings (spaces ignored) -> equal.
2. Multiple choice: a gold that is one letter A-E (``C``, ``(C)``, ``\\text{(C)}``) equals a
   prediction that names the same letter (``C``, ``(C)``, ``C) 42``, ``\\textbf{C}``).
3. Structure: both sides are parsed into a small tree: unions (``\\cup``), ``or``/``and``
   lists, ``\\pm`` (``a \\pm b`` is the list ``a+b, a-b``), matrices (``pmatrix``/``bmatrix``),
   sets ``\\{..\\}`` (order ignored), bracketed sequences ``(..)``/``[..)`` (tuples and
   intervals: order and bracket kinds must match), bare comma lists (order ignored),
   inequalities (``x > 3``, ``-1 < x \\leq 2``) turned into intervals, and equations. An
   equation ``x = 3`` whose left side is a plain name (``x``, ``m_{max}``, ``f(n)``) is compared
   by its right side with a non-equation; two equations are equal side by side, or when
   ``lhs - rhs`` agree up to sign. A single-column matrix equals the same tuple.
4. Scalars: percentages (``50%`` equals ``50`` and ``0.5``), a trailing unit word is dropped
   when the other side is a plain number, base subscripts (``4343_6`` vs ``4343``), then plain
   numbers are compared **exactly** as fractions (``0.5`` = ``\\frac12`` = ``50/100``,
   ``4.5e33`` = ``4.5\\times10^{33}``, ``025`` = ``25``, ``142.0`` = ``142``; ``0.5`` !=
   ``0.50001``). Otherwise both sides go to sympy (if ``guards.safe_for_sympy``) and are
   compared at 40 significant digits (constants) or at three random points (expressions with
   free symbols); the symbol ``i`` is the imaginary unit. A decimal in the *prediction* is taken
   as the exact rational it writes, so an approximation of an exact gold is wrong
   (``1.414`` vs ``\\sqrt{2}``); an exact prediction for a decimal *gold* is right when it rounds
   to the gold at the gold's last written digit (``\\sqrt{2}`` for ``1.41``).
5. Text answers compare case-insensitively with spaces and ``\\text`` removed.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import random
import re

from luffy_jax.rewards import guards
from luffy_jax.rewards.extract import last_boxed
from luffy_jax.rewards.normalize import UNIT_WORDS, Number, normalize_answer, parse_number

logger = logging.getLogger(__name__)

_MAX_ITEMS = 24
_MAX_DEPTH = 4
_LETTER_GOLD_RE = re.compile(r"^\(?([A-Ea-e])\)?$")
_LETTER_PRED_RE = re.compile(r"^(?:option|choice)?\s*\(?([A-Ea-e])\)?(?:$|[\s:.)])", re.IGNORECASE)
_SIMPLE_LHS_RE = re.compile(
    r"^[a-zA-Z](?:_\{?[a-zA-Z0-9 ,]*\}?)?'*(?:\([a-zA-Z, ]*\))?$|^\\[a-zA-Z]+(?:_\{?[a-zA-Z0-9]*\}?)?$"
)
_INEQ_RE = re.compile(r"\\leq|\\geq|<|>|\\ne(?![a-zA-Z])")
_BASE_RE = re.compile(r"^([0-9A-Za-z]+)_\{?(\d+)\}?$")
_MATRIX_RE = re.compile(
    r"^\\begin\{([pbBvV]?matrix|array)\}(?:\{[^{}]*\})?(.*)\\end\{\1\}$", re.DOTALL
)


@dataclasses.dataclass(frozen=True)
class Node:
    """One parsed answer. ``kind``: scalar | seq | set | list | matrix | eq | ineq.

    ``text`` holds the scalar text; ``items`` the children (rows of a matrix are seqs);
    ``brackets`` the opening/closing bracket of a seq."""

    kind: str
    text: str = ""
    items: tuple[Node, ...] = ()
    brackets: str = ""


def _split_top(s: str, seps: tuple[str, ...]) -> list[str]:
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


def _enclosed(s: str, open_chars: str, close_chars: str) -> bool:
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


def _ineq_to_interval(s: str) -> Node | None:
    """``x > 3`` -> ``(3, \\infty)``, ``-1 < x \\leq 2`` -> ``(-1, 2]``; None otherwise."""
    parts = re.split(r"(\\leq|\\geq|<|>)", s)
    if len(parts) not in (3, 5):
        return None
    terms = [p.strip() for p in parts[0::2]]
    ops = parts[1::2]
    if not all(terms):
        return None
    if len(parts) == 3:
        left, op, right = terms[0], ops[0], terms[1]
        if _SIMPLE_LHS_RE.match(left) and not _SIMPLE_LHS_RE.match(right):
            var, bound, op = left, right, op
        elif _SIMPLE_LHS_RE.match(right):
            var, bound = right, left
            op = {"<": ">", ">": "<", "\\leq": "\\geq", "\\geq": "\\leq"}[op]
        else:
            return None
        del var
        if op in ("<", "\\leq"):
            return Node(
                "seq",
                items=(Node("scalar", "-\\infty"), Node("scalar", bound)),
                brackets="(" + (")" if op == "<" else "]"),
            )
        return Node(
            "seq",
            items=(Node("scalar", bound), Node("scalar", "\\infty")),
            brackets=("(" if op == ">" else "[") + ")",
        )
    low, var, high = terms
    if not _SIMPLE_LHS_RE.match(var):
        return None
    if ops[0] in ("<", "\\leq") and ops[1] in ("<", "\\leq"):
        return Node(
            "seq",
            items=(Node("scalar", low), Node("scalar", high)),
            brackets=("(" if ops[0] == "<" else "[") + (")" if ops[1] == "<" else "]"),
        )
    if ops[0] in (">", "\\geq") and ops[1] in (">", "\\geq"):
        return Node(
            "seq",
            items=(Node("scalar", high), Node("scalar", low)),
            brackets=("(" if ops[1] == ">" else "[") + (")" if ops[0] == ">" else "]"),
        )
    return None


@functools.lru_cache(maxsize=8192)
def parse_node(s: str, depth: int = 0) -> Node:
    """Parse a normalised answer into a :class:`Node` tree (see the module docstring)."""
    s = s.strip()
    if depth >= _MAX_DEPTH or len(s) > guards.MAX_ANSWER_CHARS:
        return Node("scalar", s)
    parts = _split_top(s, ("\\cup",))
    if len(parts) > 1 and len(parts) <= _MAX_ITEMS:
        return Node("list", items=tuple(parse_node(p, depth + 1) for p in parts))
    parts = [p for p in _split_top(s, (" or ", " and ", ";")) if p]
    if len(parts) > 1 and len(parts) <= _MAX_ITEMS:
        items = []
        for p in parts:
            sub = parse_node(p, depth + 1)
            items.extend(sub.items if sub.kind == "list" else (sub,))
        return Node("list", items=tuple(items))
    m = _MATRIX_RE.match(s)
    if m:
        rows = [r for r in re.split(r"\\\\", m.group(2)) if r.strip()]
        if 0 < len(rows) <= _MAX_ITEMS:
            return Node(
                "matrix",
                items=tuple(
                    Node(
                        "seq",
                        items=tuple(parse_node(c, depth + 1) for c in r.split("&")),
                        brackets="()",
                    )
                    for r in rows
                ),
            )
    if s.startswith("\\{") and s.endswith("\\}"):
        inner = s[2:-2]
        parts = _split_top(inner, (",",))
        if len(parts) <= _MAX_ITEMS:
            return Node("set", items=tuple(parse_node(p, depth + 1) for p in parts if p))
    if _enclosed(s, "([", ")]"):
        parts = _split_top(s[1:-1], (",",))
        if len(parts) == 1:
            if s[0] == "(" and s[-1] == ")":
                return parse_node(s[1:-1], depth + 1)
        elif len(parts) <= _MAX_ITEMS:
            return Node(
                "seq", items=tuple(parse_node(p, depth + 1) for p in parts), brackets=s[0] + s[-1]
            )
    parts = _split_top(s, (",",))
    if len(parts) > 1 and len(parts) <= _MAX_ITEMS and all(parts):
        return Node("list", items=tuple(parse_node(p, depth + 1) for p in parts))
    pm = _split_top(s, ("\\pm", "\\mp"))
    if len(pm) == 2 and pm[1]:
        a, b = pm
        if a:
            return Node("list", items=(Node("scalar", f"{a}+{b}"), Node("scalar", f"{a}-({b})")))
        return Node("list", items=(Node("scalar", b), Node("scalar", f"-({b})")))
    if _INEQ_RE.search(s):
        interval = _ineq_to_interval(s)
        if interval is not None:
            return interval
        return Node("ineq", s)
    if "=" in s:
        sides = _split_top(s, ("=",))
        if len(sides) >= 2 and sides[0] and sides[-1]:
            return Node(
                "eq", items=(parse_node(sides[0], depth + 1), parse_node(sides[-1], depth + 1))
            )
    return Node("scalar", s)


# ----------------------------------------------------------------------------- scalars


def _compact(s: str) -> str:
    return s.replace(" ", "").replace("{", "").replace("}", "")


def _text_key(s: str) -> str:
    s = re.sub(r"\\text\s*", "", s)
    return re.sub(r"[\s{}\\]", "", s).lower()


def _strip_unit(s: str) -> str:
    """Drop a trailing plain unit word (``5 cm`` -> ``5``)."""
    m = re.match(r"^(.*?\S)\s+([a-zA-Z]+)(?:\s*/\s*[a-zA-Z]+)?(?:\^\{?-?\d\}?)?$", s)
    if m and m.group(1) and (m.group(2) in UNIT_WORDS or len(m.group(2)) >= 2):
        return m.group(1).strip()
    return s


@functools.lru_cache(maxsize=8192)
def _to_sympy(s: str):
    """Sympy expression for a scalar answer, or None when unsafe or unparsable."""
    if not s or not guards.safe_for_sympy(s):
        return None
    import sympy  # imported here, not in the try: a missing parser must fail loudly
    from latex2sympy2_extended import latex2sympy

    try:
        expr = latex2sympy(s)
        if not isinstance(expr, sympy.Expr):
            return None
        symbol_i = sympy.Symbol("i")
        if symbol_i in expr.free_symbols:
            expr = expr.subs(symbol_i, sympy.I)
        if not _tree_is_tame(expr):
            return None
        floats = expr.atoms(sympy.Float)
        if floats:
            expr = expr.xreplace({f: sympy.Rational(str(f)) for f in floats})
        return expr
    except Exception:  # noqa: BLE001 -- any parser failure means "not parsable"
        return None


_MAX_TREE_NODES = 600


def _tree_is_tame(expr) -> bool:
    """Reject sympy trees whose numeric evaluation could blow up: too many nodes, or an
    exponential whose exponent holds another exponential, a symbolic power or a factorial
    (``exp(exp(exp(100)))``, ``e^{e^{x}}``)."""
    import sympy

    nodes = 0
    for node in sympy.preorder_traversal(expr):
        nodes += 1
        if nodes > _MAX_TREE_NODES:
            return False
        exponent = None
        if isinstance(node, sympy.exp):
            exponent = node.args[0]
        elif isinstance(node, sympy.Pow) and not node.exp.is_Number:
            exponent = node.exp
        if exponent is None:
            continue
        for sub in sympy.preorder_traversal(exponent):
            if isinstance(sub, (sympy.exp, sympy.factorial, sympy.gamma, sympy.factorial2)):
                return False
            if isinstance(sub, sympy.Pow) and not sub.exp.is_Number:
                return False
            if isinstance(sub, sympy.Integer) and abs(sub) > 10**6:
                return False
    return True


def _numeric(expr, subs=None):
    import sympy

    try:
        value = expr.evalf(40, subs=subs, maxn=200) if subs else expr.evalf(40, maxn=200)
        value = complex(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, sympy.SympifyError):
        return None
    except Exception:  # noqa: BLE001 -- sympy raises assorted errors on odd inputs
        return None
    if value != value or abs(value) == float("inf"):
        return None
    return value


def _close(a: complex, b: complex, rel: float) -> bool:
    """Relative closeness (absolute only below 1e-30, i.e. evaluation noise around zero)."""
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), 1e-30)


def _sympy_equal(pred: str, gold: str, gold_number: Number | None) -> bool:
    ep, eg = _to_sympy(pred), _to_sympy(gold)
    if ep is None or eg is None:
        return False
    symbols = sorted(ep.free_symbols | eg.free_symbols, key=lambda x: x.name)
    if len(symbols) > 8:
        return False
    if not symbols:
        try:
            if (ep - eg) == 0:
                return True
        except Exception:  # noqa: BLE001
            pass
        vp, vg = _numeric(ep), _numeric(eg)
        if vp is None or vg is None:
            return False
        if _close(vp, vg, 1e-20):
            return True
        # an exact prediction for a decimal gold: right when it rounds to the gold
        if abs(vp.imag) < 1e-12 and gold_number is not None:
            return _rounds_to_gold(vp.real, _has_decimal(pred), gold_number)
        return False
    if set(ep.free_symbols) != set(eg.free_symbols):
        return False
    rng = random.Random(1234)
    agree = 0
    for _ in range(4):
        subs = {sym: sympyify_rational(rng) for sym in symbols}
        vp, vg = _numeric(ep, subs), _numeric(eg, subs)
        if vp is None or vg is None:
            continue
        if not _close(vp, vg, 1e-10):
            return False
        agree += 1
    return agree >= 2


def _rounds_to_gold(pred_value: float, pred_is_decimal: bool, gold: Number) -> bool:
    """An exact prediction for a non-integer decimal gold: equal when it rounds to the gold at
    the gold's last written digit (``\\frac13`` for ``0.33``; the gold needs two significant
    digits). Predictions written as decimals never round."""
    if pred_is_decimal or not gold.is_decimal or gold.ulp_exp is None:
        return False
    gold_value = float(gold.value)
    if gold_value == 0 or math.floor(math.log10(abs(gold_value))) - gold.ulp_exp + 1 < 2:
        return False  # a one-significant-digit gold is too coarse to round to
    half_ulp = 0.5 * 10.0**gold.ulp_exp
    return abs(pred_value - float(gold.value)) <= half_ulp * (1 + 1e-9)


def sympyify_rational(rng: random.Random):
    import sympy

    return sympy.Rational(rng.randint(113, 997), rng.randint(101, 499))


def _has_decimal(s: str) -> bool:
    return re.search(r"\d\.\d|(?<!\d)\.\d", s) is not None


def _scalar_equal(pred: str, gold: str) -> bool:
    if _compact(pred) == _compact(gold):
        return True
    if not pred or not gold:
        return False
    if "%" in pred or "%" in gold:
        p, g = pred.replace("%", "").strip(), gold.replace("%", "").strip()
        if _scalar_equal(p, g):
            return True
        pn, gn = parse_number(p), parse_number(g)
        if pn is not None and gn is not None:
            if "%" in gold and "%" not in pred and pn.value == gn.value / 100:
                return True
            if "%" in pred and "%" not in gold and pn.value / 100 == gn.value:
                return True
        return False
    pn, gn = parse_number(pred), parse_number(gold)
    if pn is None and gn is not None:
        stripped = _strip_unit(pred)
        if stripped != pred:
            return _scalar_equal(stripped, gold)
    if gn is None and pn is not None:
        stripped = _strip_unit(gold)
        if stripped != gold:
            return _scalar_equal(pred, stripped)
    if pn is not None and gn is not None:
        if pn.value == gn.value:
            return True
        written_as_decimal = pn.ulp_exp is not None or "overline" in pred
        return _rounds_to_gold(float(pn.value), written_as_decimal, gn)
    mb = _BASE_RE.match(gold)
    if mb and not mb.group(1).isalpha():
        return _compact(pred) in (mb.group(1), _compact(gold))
    if _text_key(pred) == _text_key(gold) and re.search(r"[a-zA-Z]{2,}", _text_key(gold)):
        return True
    return _sympy_equal(pred, gold, gn)


# ----------------------------------------------------------------------------- structure


def _unordered_equal(preds: tuple[Node, ...], golds: tuple[Node, ...]) -> bool:
    if len(preds) != len(golds):
        return False
    remaining = list(golds)
    for p in preds:
        for j, g in enumerate(remaining):
            if _nodes_equal(p, g):
                del remaining[j]
                break
        else:
            return False
    return True


def _strip_simple_lhs(node: Node) -> Node:
    if (
        node.kind == "eq"
        and node.items[0].kind == "scalar"
        and _SIMPLE_LHS_RE.match(node.items[0].text)
    ):
        return node.items[1]
    return node


def _nodes_equal(pred: Node, gold: Node) -> bool:
    if pred.kind == "eq" and gold.kind != "eq":
        return (
            _nodes_equal(_strip_simple_lhs(pred), gold)
            if _strip_simple_lhs(pred) is not pred
            else False
        )
    if gold.kind == "eq" and pred.kind != "eq":
        stripped = _strip_simple_lhs(gold)
        return _nodes_equal(pred, stripped) if stripped is not gold else False
    if pred.kind in ("list", "set") and gold.kind in ("list", "set"):
        p_items = tuple(_strip_simple_lhs(n) if not _any_eq(gold) else n for n in pred.items)
        g_items = tuple(_strip_simple_lhs(n) if not _any_eq(pred) else n for n in gold.items)
        return _unordered_equal(p_items, g_items)
    if pred.kind == "list" and gold.kind == "seq" and gold.brackets == "()":
        if all(_is_name_eq(n) for n in pred.items) and len(pred.items) == len(gold.items):
            return all(_nodes_equal(p.items[1], g) for p, g in zip(pred.items, gold.items))
    if gold.kind == "list" and pred.kind == "seq" and pred.brackets == "()":
        if all(_is_name_eq(n) for n in gold.items) and len(pred.items) == len(gold.items):
            return all(_nodes_equal(p, g.items[1]) for p, g in zip(pred.items, gold.items))
    if pred.kind == "seq" and gold.kind == "seq":
        if len(pred.items) != len(gold.items):
            return False
        if pred.brackets != gold.brackets:
            return False
        return all(_nodes_equal(p, g) for p, g in zip(pred.items, gold.items))
    if pred.kind == "matrix" or gold.kind == "matrix":
        return _matrix_equal(pred, gold)
    if pred.kind == "eq" and gold.kind == "eq":
        (pl, pr), (gl, gr) = pred.items, gold.items
        if _is_name(pl) and _is_name(gl):
            return _nodes_equal(pr, gr)
        if _nodes_equal(pl, gl) and _nodes_equal(pr, gr):
            return True
        if _nodes_equal(pl, gr) and _nodes_equal(pr, gl):
            return True
        if all(n.kind == "scalar" for n in (pl, pr, gl, gr)):
            diff_p = f"{pl.text}-({pr.text})"
            return _scalar_equal(diff_p, f"{gl.text}-({gr.text})") or _scalar_equal(
                diff_p, f"{gr.text}-({gl.text})"
            )
        return False
    if pred.kind == "ineq" and gold.kind == "ineq":
        return _compact(pred.text) == _compact(gold.text)
    if pred.kind == "scalar" and gold.kind == "scalar":
        return _scalar_equal(pred.text, gold.text)
    if pred.kind == "list" and gold.kind != "list" and len(pred.items) > 1:
        # several different answers for one gold: a hedge, wrong; the same answer repeated is fine
        return all(_nodes_equal(p, gold) for p in pred.items)
    return False


def _is_name(node: Node) -> bool:
    return node.kind == "scalar" and _SIMPLE_LHS_RE.match(node.text) is not None


def _is_name_eq(node: Node) -> bool:
    return node.kind == "eq" and _is_name(node.items[0])


def _any_eq(node: Node) -> bool:
    return any(n.kind == "eq" for n in node.items)


def _matrix_equal(pred: Node, gold: Node) -> bool:
    def flat(node: Node) -> tuple[tuple[Node, ...], tuple[int, int]] | None:
        if node.kind == "matrix":
            rows = [r.items for r in node.items]
            if len({len(r) for r in rows}) != 1:
                return None
            return tuple(c for r in rows for c in r), (len(rows), len(rows[0]))
        if node.kind == "seq" and node.brackets in ("()", "[]"):
            return node.items, (-1, -1)
        return None

    fp, fg = flat(pred), flat(gold)
    if fp is None or fg is None:
        return False
    (ip, sp), (ig, sg) = fp, fg
    if len(ip) != len(ig):
        return False
    if sp != (-1, -1) and sg != (-1, -1) and sp != sg:
        return False
    if (sp == (-1, -1)) != (sg == (-1, -1)):
        shape = sg if sp == (-1, -1) else sp
        if 1 not in shape:
            return False
    return all(_nodes_equal(p, g) for p, g in zip(ip, ig))


def _choice_letter(s: str) -> str | None:
    s = re.sub(r"\\text(?:bf)?\s*\{([^{}]*)\}", r"\1", s).strip()
    m = _LETTER_PRED_RE.match(s)
    return m.group(1).upper() if m else None


def warm_up() -> None:
    """Import sympy and the LaTeX parser and parse one expression (worker start-up)."""
    _to_sympy.__wrapped__("\\frac{\\sqrt{2}}{2}+x")


def math_equal(prediction: str, gold: str) -> bool:
    """Whether the extracted answer ``prediction`` equals the ``gold`` answer (module rules).

    Both are answer strings (not whole responses); either may carry ``$...$``. Never raises on
    string input; anything the judge cannot decide counts as not equal.
    """
    if not isinstance(prediction, str) or not isinstance(gold, str):
        raise TypeError("math_equal expects two strings")
    try:
        return _math_equal(guards.clean_text(prediction), guards.clean_text(gold))
    except RecursionError:
        return False


@functools.lru_cache(maxsize=16384)
def _math_equal(prediction: str, gold: str) -> bool:
    if "\\boxed" in prediction or "\\fbox" in prediction:
        prediction = last_boxed(prediction) or ""
    if "\\boxed" in gold or "\\fbox" in gold:
        gold = last_boxed(gold) or gold
    pred = normalize_answer(prediction)
    gold_n = normalize_answer(gold)
    if not pred or not gold_n:
        return False
    if _compact(pred) == _compact(gold_n):
        return True
    gm = _LETTER_GOLD_RE.match(re.sub(r"\\text(?:bf)?\s*\{([^{}]*)\}", r"\1", gold_n).strip())
    if gm and gold_n.strip("()").isupper():
        return _choice_letter(pred) == gm.group(1).upper()
    if len(pred) > guards.MAX_ANSWER_CHARS or len(gold_n) > 4 * guards.MAX_ANSWER_CHARS:
        return False
    return _nodes_equal(parse_node(pred), parse_node(gold_n))


__all__ = ["Node", "math_equal", "parse_node"]
