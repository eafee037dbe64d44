"""The equivalence judge: ``math_equal(prediction, gold)`` on two extracted answers.

Why not math-verify underneath: math-verify (what LUFFY uses) has failure modes that cost
accuracy on real golds -- it reads ``4.5e33`` as ``4.5*e*33``, compares numbers rounded to 6
decimals (so ``1/2^{99}`` equals ``1/2^{98}`` and ``1.414`` may pass for ``\\sqrt{2}``), strips
unit letters that are physics symbols, accepts an answer found as "the last number" of a text,
and relies on ``signal.alarm`` for time limits (main thread only). This judge therefore does its
own extraction (``extract.py``), normalisation, structural comparison and proofs; sympy sees
only scalars, after the guards (``guards.py``), through a fast parser (``latex_parse.py``;
``latex2sympy2_extended`` only as a bounded fallback, ``symbolic.py``).

**False-positive discipline**: an equivalence is accepted only when it is *proved* -- exact
arithmetic on rationals, exact unit factors, canonical sympy sets, or a symbolic rewriting that
turns the difference into 0 (``symbolic.proves_zero``). Numerical agreement alone never accepts;
it only rejects early.

Decision procedure for two normalised answers (``normalize.normalize_answer``):

1. Identical strings (spaces ignored) -> equal.
2. Multiple choice: a gold that is one letter A-E (``C``, ``(C)``, ``\\text{(C)}``) equals a
   prediction that names the same letter (``C``, ``(C)``, ``C) 42``, ``\\textbf{C}``).
3. Structure (``structure.parse_node``): lists, sets, tuples/intervals, matrices, equations,
   inequalities.

   * Equations: ``x = 3`` (left side a plain name, or ``(x, y) = (1, 2)``) is compared by its
     right side with a non-equation. Two equations with the same plain name on the left compare
     their right sides; otherwise they are equal when ``lhs - rhs`` of one is a nonzero
     constant multiple of the other's (``2y = 4x + 2`` is ``y = 2x + 1``; ``x = 5`` is not
     ``y = 5``). Systems are unordered lists of equations.
   * Sets of reals (``realsets``): intervals, unions, ``and``/``or`` of inequalities,
     ``|x| > 1``, ``x \\ne 3``, ``\\mathbb{R} \\setminus ...``, set-builder notation are compared
     as exact sympy sets whenever one side is unambiguously such a set.
   * Lists and sets ignore order (``\\pm`` is a list of two); tuples (``seq``) keep order and
     bracket kinds; a column matrix equals the same tuple.
   * Inequalities that are not intervals (``a^2 + b^2 \\geq 2ab``) are equal when their sides'
     differences are a *positive* constant multiple of each other with the same strictness.
4. Scalars: units (``units.split_quantity``) -- both sides with known units must have the same
   dimension and agree after the exact conversion factor (``2.5 kJ`` = ``2500 J``, ``15 mm`` !=
   ``15 cm``); a unit on one side only is dropped; percentages (``50%`` equals ``50`` and
   ``0.5``); base subscripts (``4343_6`` vs ``4343``); plain numbers compared **exactly** as
   fractions (``0.5`` = ``\\frac12``, ``4.5e33`` = ``4.5\\times10^{33}``; ``0.5`` != ``0.50001``).
   Otherwise sympy: a proof of equality (``symbolic.proves_equal``). A decimal in the
   *prediction* is the exact rational it writes, so an approximation of an exact gold is wrong
   (``1.414`` vs ``\\sqrt{2}``); an exact prediction for a decimal *gold* is right when it rounds
   to the gold at the gold's last written digit (``\\sqrt{2}`` for ``1.41``).
5. Text answers compare case-insensitively with spaces and ``\\text`` removed.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from fractions import Fraction

from luffy_jax.rewards import guards
from luffy_jax.rewards.extract import last_boxed
from luffy_jax.rewards.normalize import Number, normalize_answer, parse_number
from luffy_jax.rewards.realsets import interval_like, real_set, sets_equal
from luffy_jax.rewards.structure import (
    INEQ_RE,
    Node,
    is_name,
    is_name_eq,
    parse_node,
    strip_name,
    tuple_eq_as_list,
)
from luffy_jax.rewards.symbolic import (
    constant_ratio,
    may_be_equal,
    numeric,
    proves_equal,
    sympy_module,
    to_sympy,
)
from luffy_jax.rewards.symbolic import warm_up as _warm_up_symbolic
from luffy_jax.rewards.units import split_quantity

logger = logging.getLogger(__name__)

_LETTER_GOLD_RE = re.compile(r"^\(?([A-Ea-e])\)?$")
_LETTER_PRED_RE = re.compile(r"^(?:option|choice)?\s*\(?([A-Ea-e])\)?(?:$|[\s:.)])", re.IGNORECASE)
_BASE_RE = re.compile(r"^([0-9A-Za-z]+)_\{?(\d+)\}?$")
_OPS_RE = re.compile(r"(\\leq|\\geq|<|>)")


# ----------------------------------------------------------------------------- scalars


def _compact(s: str) -> str:
    return s.replace(" ", "").replace("{", "").replace("}", "")


def _text_key(s: str) -> str:
    s = re.sub(r"\\text\s*", "", s)
    return re.sub(r"[\s{}\\]", "", s).lower()


def _is_text(s: str) -> bool:
    """A word answer (``\\text{East}``, ``Evelyn``), compared without case."""
    plain = re.sub(r"\\text\s*\{([^{}]*)\}", r"\1", s).strip()
    return re.fullmatch(r"[A-Za-z][A-Za-z .,'-]*", plain) is not None and len(plain) >= 2


def _has_decimal(s: str) -> bool:
    return re.search(r"\d\.\d|(?<!\d)\.\d", s) is not None


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


def _sympy_equal(pred: str, gold: str, gold_number: Number | None, scale: Fraction) -> bool:
    ep, eg = to_sympy(pred), to_sympy(gold)
    if ep is None or eg is None:
        return False
    if scale != 1:
        ep = ep * sympy_module().Rational(scale.numerator, scale.denominator)
    if proves_equal(ep, eg):
        return True
    if not ep.free_symbols and not eg.free_symbols and gold_number is not None:
        # an exact prediction for a decimal gold: right when it rounds to the gold
        value = numeric(ep)
        if value is not None and abs(value.imag) < 1e-12:
            return _rounds_to_gold(value.real, _has_decimal(pred), gold_number)
    return False


def _value_equal(pred: str, gold: str, scale: Fraction = Fraction(1)) -> bool:
    """Two unit-free scalars, the prediction multiplied by ``scale`` (a unit conversion)."""
    if scale == 1 and _compact(pred) == _compact(gold):
        return True
    if not pred or not gold:
        return False
    if "%" in pred or "%" in gold:
        p, g = pred.replace("%", "").strip(), gold.replace("%", "").strip()
        if _value_equal(p, g, scale):
            return True
        if "%" in pred and "%" in gold:
            return False
        ep, eg = to_sympy(p), to_sympy(g)
        if ep is None or eg is None:
            pn, gn = parse_number(p), parse_number(g)
            if pn is None or gn is None:
                return False
            pv, gv = pn.value * scale, gn.value
            return pv == gv / 100 if "%" in gold else pv / 100 == gv
        sp = sympy_module()
        ep = ep * sp.Rational(scale.numerator, scale.denominator)
        return proves_equal(ep, eg / 100) if "%" in gold else proves_equal(ep / 100, eg)
    pn, gn = parse_number(pred), parse_number(gold)
    if pn is not None and gn is not None:
        if pn.value * scale == gn.value:
            return True
        written_as_decimal = pn.ulp_exp is not None or "overline" in pred
        return _rounds_to_gold(float(pn.value * scale), written_as_decimal, gn)
    mb = _BASE_RE.match(gold)
    if mb and not mb.group(1).isalpha() and scale == 1:
        return _compact(pred) in (mb.group(1), _compact(gold))
    if scale == 1 and _is_text(pred) and _is_text(gold) and _text_key(pred) == _text_key(gold):
        return True
    return _sympy_equal(pred, gold, gn, scale)


def _scalar_equal(pred: str, gold: str) -> bool:
    if _compact(pred) == _compact(gold):
        return True
    pv, pu = split_quantity(pred)
    gv, gu = split_quantity(gold)
    if pu is None and gu is None:
        return _value_equal(pred, gold)
    ratio = (pu.scale if pu else Fraction(1)) / (gu.scale if gu else Fraction(1))
    p_dim = pu is not None and not pu.ignored and not pu.dimensionless
    g_dim = gu is not None and not gu.ignored and not gu.dimensionless
    if p_dim and g_dim:
        if pu.dim != gu.dim:
            return False
        ratio *= pu.factor / gu.factor
    # a unit on one side only is dropped (the gold's unit is assumed); scale words still count
    return _value_equal(pv, gv, ratio)


# ----------------------------------------------------------------------------- structure


def _flatten(node: Node) -> tuple[Node, ...]:
    items: list[Node] = []
    for item in node.items:
        if item.kind == "list":
            items.extend(_flatten(item))
        else:
            items.append(item)
    return tuple(items)


def _prefilter(p: Node, g: Node) -> bool:
    """Cheap rejection of a list pair: two plain scalars (no decimal, which may round to a
    decimal gold) whose values at a shared point differ cannot be proved equal."""
    if p.kind != "scalar" or g.kind != "scalar" or "." in p.text or "." in g.text:
        return True
    return may_be_equal(p.text, g.text)


def _unordered_equal(preds: tuple[Node, ...], golds: tuple[Node, ...]) -> bool:
    """A one-to-one matching (greedy: equality is an equivalence) -- identical texts first,
    then pairs that survive the cheap prefilter, so a long permuted list costs O(n) proofs."""
    if len(preds) != len(golds):
        return False
    remaining = list(golds)
    unmatched = []
    for p in preds:
        key = _compact(p.text) if p.kind == "scalar" else None
        j = next(
            (
                j
                for j, g in enumerate(remaining)
                if key and g.kind == "scalar" and _compact(g.text) == key
            ),
            None,
        )
        if j is None:
            unmatched.append(p)
        else:
            del remaining[j]
    for p in unmatched:
        for j, g in enumerate(remaining):
            if _prefilter(p, g) and _nodes_equal(p, g, in_list=True):
                del remaining[j]
                break
        else:
            return False
    return True


def _eq_sides(node: Node):
    """``lhs - rhs`` of a scalar equation as sympy, or None."""
    lhs, rhs = node.items
    if lhs.kind != "scalar" or rhs.kind != "scalar":
        return None
    left, right = to_sympy(lhs.text), to_sympy(rhs.text)
    if left is None or right is None:
        return None
    return left - right


def _mentions(node: Node, names: tuple[str, ...]) -> bool:
    """Whether the scalar ``node`` uses one of the symbols ``names`` (unparsable: assume so)."""
    if node.kind != "scalar":
        return True
    expr = to_sympy(node.text)
    if expr is None:
        return True
    return any(sym.name in names for sym in expr.free_symbols)


def _equations_equal(pred: Node, gold: Node, in_list: bool = False) -> bool:
    (pl, pr), (gl, gr) = pred.items, gold.items
    if is_name(pl) and is_name(gl):
        if _compact(pl.text) == _compact(gl.text):
            return _nodes_equal(pr, gr)
        # one named quantity under two names (m vs m_{max}): the values decide -- but only for
        # names with the same letter, not in a system (where names pair the values), and not
        # when a right side uses the names
        names = tuple(_compact(n.text).replace("\\", "") for n in (pl, gl))
        same_base = names[0][:1] == names[1][:1]  # m and m_{max}; never x and y
        if same_base and not in_list and not _mentions(pr, names) and not _mentions(gr, names):
            return _nodes_equal(pr, gr)
    if _nodes_equal(pl, gl) and _nodes_equal(pr, gr):
        return True
    if _nodes_equal(pl, gr) and _nodes_equal(pr, gl):
        return True
    dp, dg = _eq_sides(pred), _eq_sides(gold)
    if dp is None or dg is None:
        return False
    return constant_ratio(dp, dg) is not None


def _ineq_difference(text: str):
    """(``big - small`` as sympy, strict) for a one-operator inequality, or None."""
    parts = _OPS_RE.split(text)
    if len(parts) != 3:
        return None
    left, op, right = parts
    a, b = to_sympy(left.strip()), to_sympy(right.strip())
    if a is None or b is None:
        return None
    if op in (">", "\\geq"):
        return a - b, op == ">"
    return b - a, op == "<"


def _ineqs_equal(pred: Node, gold: Node) -> bool:
    if _compact(pred.text) == _compact(gold.text):
        return True
    dp, dg = _ineq_difference(pred.text), _ineq_difference(gold.text)
    if dp is None or dg is None or dp[1] != dg[1]:
        return False
    ratio = constant_ratio(dp[0], dg[0])
    return ratio is not None and ratio.is_positive is True


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


def _sets_of_reals_equal(pred: Node, gold: Node) -> bool | None:
    """Compare as sets of reals when one side is unambiguously one; None when not applicable."""
    if not (interval_like(pred) or interval_like(gold)):
        return None
    if pred.kind == "seq" and gold.kind == "seq" and pred.brackets == gold.brackets:
        if len(pred.items) == len(gold.items) and all(
            _nodes_equal(p, g) for p, g in zip(pred.items, gold.items)
        ):
            return True
    sp_, sg = real_set(pred), real_set(gold)
    if sp_ is None or sg is None:
        return None
    return sets_equal(sp_, sg)


def _nodes_equal(pred: Node, gold: Node, in_list: bool = False) -> bool:
    if pred.kind == "eq" and gold.kind == "eq":
        return _equations_equal(pred, gold, in_list)
    if pred.kind == "eq" and gold.kind == "set" and len(gold.items) == 1:
        return _nodes_equal(pred, gold.items[0], in_list)
    if pred.kind == "eq":
        as_list = tuple_eq_as_list(pred)
        if as_list is not None and gold.kind == "list" and all(is_name_eq(n) for n in gold.items):
            return _nodes_equal(as_list, gold)
        stripped = strip_name(pred)
        return _nodes_equal(stripped, gold) if stripped is not pred else False
    if gold.kind == "eq":
        as_list = tuple_eq_as_list(gold)
        if as_list is not None and pred.kind == "list" and all(is_name_eq(n) for n in pred.items):
            return _nodes_equal(pred, as_list)
        stripped = strip_name(gold)
        return _nodes_equal(pred, stripped) if stripped is not gold else False
    as_sets = _sets_of_reals_equal(pred, gold)
    if as_sets is not None:
        return as_sets
    # a one-element set is its element: {2} and x = 2
    if gold.kind == "set" and len(gold.items) == 1 and pred.kind not in ("list", "set"):
        return _nodes_equal(pred, gold.items[0], in_list)
    if pred.kind == "set" and len(pred.items) == 1 and gold.kind not in ("list", "set"):
        return _nodes_equal(pred.items[0], gold, in_list)
    if pred.kind in ("list", "set") and gold.kind in ("list", "set"):
        p_items, g_items = _flatten(pred), _flatten(gold)
        p_eqs = any(n.kind == "eq" for n in p_items)
        g_eqs = any(n.kind == "eq" for n in g_items)
        if p_eqs and not g_eqs:
            p_items = tuple(strip_name(n) for n in p_items)
        if g_eqs and not p_eqs:
            g_items = tuple(strip_name(n) for n in g_items)
        return _unordered_equal(p_items, g_items)
    if pred.kind == "list" and gold.kind == "seq" and gold.brackets == "()":
        if all(is_name_eq(n) for n in pred.items) and len(pred.items) == len(gold.items):
            return all(_nodes_equal(p.items[1], g) for p, g in zip(pred.items, gold.items))
    if gold.kind == "list" and pred.kind == "seq" and pred.brackets == "()":
        if all(is_name_eq(n) for n in gold.items) and len(pred.items) == len(gold.items):
            return all(_nodes_equal(p, g.items[1]) for p, g in zip(pred.items, gold.items))
    if pred.kind == "seq" and gold.kind == "seq":
        if len(pred.items) != len(gold.items) or pred.brackets != gold.brackets:
            return False
        return all(_nodes_equal(p, g) for p, g in zip(pred.items, gold.items))
    if pred.kind == "matrix" or gold.kind == "matrix":
        return _matrix_equal(pred, gold)
    if pred.kind == "ineq" and gold.kind == "ineq":
        return _ineqs_equal(pred, gold)
    if pred.kind == "scalar" and gold.kind == "scalar":
        return _scalar_equal(pred.text, gold.text)
    if pred.kind == "list" and gold.kind != "list" and len(pred.items) > 1:
        # several different answers for one gold: a hedge, wrong; the same answer repeated is fine
        return all(_nodes_equal(p, gold) for p in pred.items)
    return False


def _choice_letter(s: str) -> str | None:
    s = re.sub(r"\\text(?:bf)?\s*\{([^{}]*)\}", r"\1", s).strip()
    m = _LETTER_PRED_RE.match(s)
    return m.group(1).upper() if m else None


# one pair per proof path, so a worker's first real answers do not pay for sympy's lazy
# imports and caches (the first expand_log, minimal_polynomial, trig expansion, ...)
_WARM_UP_PAIRS = (
    ("\\frac{1}{x-1}+\\frac{1}{x+1}", "\\frac{2x}{x^2-1}"),
    ("\\ln 2 + \\ln 3", "\\ln 6"),
    ("1 - 2\\sin^2 x", "\\cos 2x"),
    ("\\frac{2\\tan x}{1-\\tan^2 x}", "\\tan 2x"),
    ("\\sqrt{3+2\\sqrt{2}}", "1+\\sqrt{2}"),
    ("\\frac{2}{3+\\sqrt{5}}", "\\frac{3-\\sqrt{5}}{2}"),
    ("(e^x)^2", "e^{2x}"),
    ("\\binom{n+1}{2}", "\\frac{n(n+1)}{2}"),
    ("x \\ne 3", "(-\\infty, 3) \\cup (3, \\infty)"),
    ("|x| \\ge 2", "(-\\infty, -2] \\cup [2, \\infty)"),
    ("2y = 4x + 2", "y = 2x + 1"),
    ("2ab \\le a^2 + b^2", "a^2 + b^2 \\geq 2ab"),
    ("2.5 \\text{ kJ}", "2500 \\text{ J}"),
    ("\\$1,200", "1200"),
    ("\\frac{\\sqrt{2}}{2}", "0.71"),
)


def warm_up() -> None:
    """Import sympy and the LaTeX parsers and run every proof path once (worker start-up)."""
    _warm_up_symbolic()
    for prediction, gold in _WARM_UP_PAIRS:
        _math_equal.__wrapped__(prediction, gold)


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


__all__ = ["INEQ_RE", "Node", "math_equal", "parse_node"]
