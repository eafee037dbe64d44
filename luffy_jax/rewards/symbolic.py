"""Sympy side of the judge: scalar answers to expressions, and *proofs* that two are equal.

:func:`to_sympy` reads a normalised scalar with the fast parser (``latex_parse``) and falls
back to ``latex2sympy2_extended`` (case-sensitive symbols) only for short texts with one of the
few functions that parser does not read (``FALLBACK_MACROS``: ``\\gcd``, ``\\max``, ...); both run only after ``guards.safe_for_sympy``, and the result must pass
:func:`tree_is_tame`. Parses are cached, so a gold is parsed once per process.

:func:`proves_equal` accepts an equality only when it is *proved*: identical canonical forms,
or a difference that one of a few exact rewritings turns into the literal ``0`` -- polynomial
expansion, rational-function cancellation, logarithm expansion, radical rationalisation and
denesting, the minimal polynomial of an algebraic constant, and, for trigonometric and
exponential terms, expansion followed by cancellation in which every remaining function
application is an independent symbol (a sound test: an identity in independent symbols holds
for any values of them) -- for sines and cosines, modulo ``sin^2 u + cos^2 u = 1``. Numbers alone never prove anything: a numeric evaluation at random
points is only a quick *rejection* test that runs before the proofs. Every rewriting is skipped
when the expression is larger than its bound, so the work per call is bounded.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import zlib

from luffy_jax.rewards import guards
from luffy_jax.rewards.latex_parse import Unsupported, parse_latex

logger = logging.getLogger(__name__)

MAX_TREE_NODES = 600
MAX_FALLBACK_CHARS = 120
# the only macros sent to the (slow) ANTLR parser: functions the fast parser does not read
FALLBACK_MACROS = ("\\gcd", "\\max", "\\min", "\\lcm", "\\arcsec", "\\arccsc", "\\operatorname")
MAX_EXPAND_TERMS = 3_000
MAX_SIMPLIFY_OPS = 18
MAX_MINPOLY_OPS = 40
MAX_TRIG_MULTIPLE = 6
_CHECK_POINTS = 2


@functools.lru_cache(maxsize=1)
def sympy_module():
    """The sympy module, imported on first use (workers import it once, in ``warm_up``)."""
    import sympy

    return sympy


@functools.lru_cache(maxsize=8192)
def to_sympy(text: str):
    """Sympy expression for one normalised scalar answer, or None (unsafe, unparsable, wild)."""
    if not text or not guards.safe_for_sympy(text):
        return None
    sp = sympy_module()
    try:
        expr = parse_latex(text)
    except Unsupported:
        expr = _fallback(text)
    if expr is None or not isinstance(expr, sp.Expr):
        return None
    if not tree_is_tame(expr):
        return None
    return expr


def _fallback(text: str):
    """latex2sympy for the constructions the fast parser refuses, on short texts only."""
    if (
        len(text) > MAX_FALLBACK_CHARS
        or not any(macro in text for macro in FALLBACK_MACROS)
        or re.search(r"(?<![\\a-zA-Z])[a-zA-Z]{4,}", text)
        or any(m in text for m in ("\\sum", "\\prod", "\\int", "\\lim", "\\text", "\\begin"))
    ):
        return None  # words are text, not products; sums/integrals/limits are never evaluated
    sp = sympy_module()
    # imported here, outside the try: a missing parser must fail loudly, not score 0
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    try:
        expr = latex2sympy(text, conversion_config=ConversionConfig(lowercase_symbols=False))
    except Exception:  # noqa: BLE001 -- any parser failure means "not parsable"
        return None
    if not isinstance(expr, sp.Expr) or not tree_is_tame(expr):
        return None
    if expr.has(sp.UnevaluatedExpr):  # latex2sympy wraps some results (gcd, max, ...)
        expr = expr.replace(lambda e: isinstance(e, sp.UnevaluatedExpr), lambda e: e.args[0])
    symbol_i = sp.Symbol("i")
    if symbol_i in expr.free_symbols:
        expr = expr.subs(symbol_i, sp.I)
    floats = expr.atoms(sp.Float)
    if floats:
        expr = expr.xreplace({f: sp.Rational(str(f)) for f in floats})
    return expr


def tree_is_tame(expr) -> bool:
    """Reject trees whose evaluation could blow up: too many nodes, an exponential whose
    exponent holds another exponential, a symbolic power or a factorial, unevaluated sums,
    integrals or limits."""
    sp = sympy_module()
    nodes = 0
    for node in sp.preorder_traversal(expr):
        nodes += 1
        if nodes > MAX_TREE_NODES:
            return False
        if isinstance(node, (sp.Sum, sp.Product, sp.Integral, sp.Limit, sp.Derivative)):
            return False
        if isinstance(node, (sp.factorial, sp.gamma, sp.factorial2, sp.binomial)):
            arg = node.args[0]
            if not arg.is_Integer or abs(arg) > guards.MAX_FACTORIAL:
                return False
        exponent = None
        if isinstance(node, sp.exp):
            exponent = node.args[0]
        elif isinstance(node, sp.Pow) and not node.exp.is_Number:
            exponent = node.exp
        if exponent is None:
            continue
        for sub in sp.preorder_traversal(exponent):
            if isinstance(sub, (sp.exp, sp.factorial, sp.gamma, sp.factorial2)):
                return False
            if isinstance(sub, sp.Pow) and not sub.exp.is_Number:
                return False
            if isinstance(sub, sp.Integer) and abs(sub) > 10**6:
                return False
    return True


# ----------------------------------------------------------------------------- numbers


def numeric(expr, subs=None) -> complex | None:
    """``expr`` (with ``subs`` applied) evaluated to a complex at 20 digits, or None."""
    try:
        value = expr.xreplace(subs) if subs else expr
        value = complex(value.evalf(20, maxn=60))
    except Exception:  # noqa: BLE001 -- sympy raises assorted errors on odd inputs
        return None
    if value != value or abs(value) == float("inf"):
        return None
    return value


def _close(a: complex, b: complex, rel: float = 1e-12) -> bool:
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), 1e-25)


def _points(symbols, count: int, integers: bool = False):
    """Random rational points (and integer points, for step functions such as floor)."""
    sp = sympy_module()
    rng = random.Random(1234)
    # values of moderate size on both sides of 1 (at large values a high power swamps the
    # other terms: (x^50 + 1)^2 and x^100 - 1 agree to 50 digits at x = 9)
    points = [
        {s: sp.Rational(rng.randint(113, 997), rng.randint(101, 499)) for s in symbols}
        if count > 2 and k == 2
        else {
            s: sp.Rational(rng.randint(53, 97), 100)
            if k == 0
            else sp.Rational(rng.randint(103, 167), 100)
            for s in symbols
        }
        for k in range(count)
    ]
    if integers:  # a run of consecutive integers catches differences of period <= 12
        points += [{s: sp.Integer(k + 5 * i) for i, s in enumerate(symbols)} for k in range(-5, 7)]
    return points


def numerically_equal(a, b) -> bool | None:
    """Whether ``a`` and ``b`` agree at random points (constants: their values); None when no
    point could be evaluated. A *rejection* test only: agreement proves nothing."""
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    if not symbols:
        va, vb = numeric(a), numeric(b)
        if va is None or vb is None:
            return None
        return _close(va, vb)
    sp = sympy_module()
    steps = a.has(sp.floor, sp.ceiling, sp.frac, sp.Abs) or b.has(
        sp.floor, sp.ceiling, sp.frac, sp.Abs
    )
    agreed = 0
    for point in _points(symbols, _CHECK_POINTS, integers=steps):
        va, vb = numeric(a, point), numeric(b, point)
        if va is None or vb is None:
            continue
        if not _close(va, vb, 1e-10):
            return False
        agreed += 1
    return True if agreed else None


@functools.lru_cache(maxsize=8192)
def signature(text: str) -> complex | None:
    """The value of a scalar answer with each symbol at a fixed value derived from its name
    (the same in every answer), or None. Used only to *skip* comparisons of list items whose
    values differ; never to accept."""
    expr = to_sympy(text)
    if expr is None:
        return None
    sp = sympy_module()
    point = {
        s: sp.Rational(
            113 + zlib.crc32(s.name.encode()) % 883, 101 + zlib.crc32(s.name[::-1].encode()) % 397
        )
        for s in expr.free_symbols
    }
    return numeric(expr, point)


def may_be_equal(a: str, b: str) -> bool:
    """False only when both signatures exist and differ (cheap rejection of list pairs)."""
    va, vb = signature(a), signature(b)
    if va is None or vb is None:
        return True
    return _close(va, vb, 1e-9)


# ----------------------------------------------------------------------------- proofs


def _expand_terms_bound(expr) -> int:
    """An upper bound on the number of terms ``expand`` can produce (multinomial counts)."""
    sp = sympy_module()
    from math import comb

    total = 1
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.Pow) and node.exp.is_Integer and isinstance(node.base, sp.Add):
            n, k = abs(int(node.exp)), len(node.base.args)
            if n > 200:
                return MAX_EXPAND_TERMS + 1
            total = max(total, comb(n + k - 1, k - 1))
            if total > MAX_EXPAND_TERMS:
                return total
    muls = [len(m.args) for m in sp.preorder_traversal(expr) if isinstance(m, sp.Mul)]
    return total * max(1, max(muls, default=1))


def _as_generic(expr, extra: dict | None = None):
    """``expr`` with every function application and non-integer power replaced by an
    independent symbol (``extra`` first: chosen replacements), or None."""
    sp = sympy_module()
    names = dict(extra or {})
    for app in sorted(
        {a for a in expr.atoms(sp.Function) if not isinstance(a, sp.Abs)}
        | {p for p in expr.atoms(sp.Pow) if not p.exp.is_Integer},
        key=sp.default_sort_key,
    ):
        names.setdefault(app, sp.Dummy())
    try:
        replaced = expr.xreplace(names) if names else expr
    except Exception:  # noqa: BLE001
        return None
    if replaced.atoms(sp.Function):
        return None
    return replaced


def _numerator(expr):
    """``expr`` times every denominator in it, expanded: a polynomial in the symbols, function
    applications and radicals when the denominators clear (sympy merges equal bases), so it
    is 0 exactly when ``expr`` is 0 wherever it is defined. (``together`` would do the same
    through ``gcd_terms`` at several times the cost.)"""
    sp = sympy_module()
    denominators = {}
    for power in expr.atoms(sp.Pow):
        if power.exp.is_Rational and power.exp.is_negative:
            base, exponent = power.base, -power.exp
            if exponent.is_Integer:
                denominators[base] = max(denominators.get(base, 0), int(exponent))
            else:  # 1/sqrt(b): multiply by sqrt(b)
                denominators[base**exponent] = max(denominators.get(base**exponent, 0), 1)
    if not denominators:
        return sp.expand(expr)
    factor = sp.Mul(*[base**exponent for base, exponent in denominators.items()])
    # term by term: each product merges its denominators with the factor's equal bases before
    # anything is expanded (expanding the factor first would hide those bases)
    terms = sp.Add.make_args(
        sp.expand(
            expr,
            deep=False,
            mul=True,
            multinomial=False,
            power_exp=False,
            power_base=False,
            log=False,
        )  # fmt: skip
    )
    return sp.Add(*[sp.expand(term * factor) for term in terms])


def _generic_atoms_zero(expr) -> bool:
    """Zero as a rational function of its symbols, function applications and radicals: the
    numerator over a common denominator expands to 0. Exact algebra (sympy combines
    ``sqrt(2)*sqrt(3)`` to ``sqrt(6)``); every other application is an independent atom, which
    is sound: an identity in independent atoms holds for any values of them."""
    return _numerator(expr) == 0


def _trig_zero(expr) -> bool:
    """Zero after ``expand_trig``, with tan/cot/sec/csc written in sin/cos and, per argument
    u, ``sin u``/``cos u`` as symbols s, c: the numerator reduces to 0 modulo
    ``s^2 + c^2 - 1`` (exact polynomial division; sound as for :func:`_generic_atoms_zero`)."""
    sp = sympy_module()
    for fn in expr.atoms(sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc):
        coeff = fn.args[0].as_coeff_Mul()[0]
        if coeff.is_Rational and abs(coeff) > MAX_TRIG_MULTIPLE:
            return False  # expand_trig(cos 20x) is a degree-20 polynomial: not worth it
    expanded = sp.expand_trig(expr)
    if _expand_terms_bound(expanded) > MAX_EXPAND_TERMS:
        return False
    rewrite = {}
    for fn in expanded.atoms(sp.tan, sp.cot, sp.sec, sp.csc):
        u = fn.args[0]
        rewrite[fn] = {sp.tan: sp.sin(u) / sp.cos(u), sp.cot: sp.cos(u) / sp.sin(u),
                       sp.sec: 1 / sp.cos(u), sp.csc: 1 / sp.sin(u)}[type(fn)]  # fmt: skip
    expanded = expanded.xreplace(rewrite)
    pairs = {}
    for fn in expanded.atoms(sp.sin, sp.cos):
        pairs.setdefault(fn.args[0], (sp.Dummy(), sp.Dummy()))
    chosen = {}
    for u, (sin_u, cos_u) in pairs.items():
        chosen[sp.sin(u)] = sin_u
        chosen[sp.cos(u)] = cos_u
    replaced = _as_generic(expanded, chosen)
    if replaced is None:
        return False
    numerator = _numerator(replaced)
    for sin_u, cos_u in pairs.values():
        if numerator == 0:
            break
        numerator = sp.rem(numerator, sin_u**2 + cos_u**2 - 1, sin_u)
    return sp.expand(numerator) == 0


def _split_integer_logs(expr):
    """``log(15)`` -> ``log(3) + log(5)``: logarithms of positive rationals with small terms
    written over the primes (exact; factoring numbers below 10^12 is cheap)."""
    sp = sympy_module()
    mapping = {}
    for fn in expr.atoms(sp.log):
        arg = fn.args[0]
        if not (arg.is_Rational and arg > 0 and max(arg.p, arg.q) < 10**12):
            continue
        terms = [e * sp.log(p) for p, e in sp.factorint(arg.p).items()]
        terms += [-e * sp.log(p) for p, e in sp.factorint(arg.q).items()]
        mapping[fn] = sp.Add(*terms)
    return expr.xreplace(mapping) if mapping else expr


_SIMPLIFY_FUNCTIONS = ("sin", "cos", "tan", "cot", "sec", "csc", "exp", "log", "asin", "acos",
                       "atan", "sinh", "cosh", "tanh")  # fmt: skip


def _simplify_is_bounded(expr) -> bool:
    """``simplify`` only on elementary functions: on floor, Abs, Max, ... it can take seconds."""
    sp = sympy_module()
    return all(type(f).__name__ in _SIMPLIFY_FUNCTIONS for f in expr.atoms(sp.Function))


def proves_zero(diff) -> bool:
    """Whether ``diff`` is proved to be identically 0 by an exact rewriting (module doc)."""
    sp = sympy_module()
    if diff == 0:
        return True
    if diff.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
        return False
    if _expand_terms_bound(diff) > MAX_EXPAND_TERMS:
        return False
    try:
        numerator = _numerator(diff)
        if numerator == 0:
            return True
        if not numerator.atoms(sp.Function) and all(
            p.exp.is_Integer and p.exp > 0 for p in numerator.atoms(sp.Pow)
        ):
            return False  # expand leaves a polynomial nonzero only when it is nonzero
        if diff.has(sp.sin, sp.cos, sp.tan, sp.cot, sp.sec, sp.csc) and _trig_zero(diff):
            return True
        if diff.has(sp.log):
            # force (log(ab) = log a + log b) is only sound for positive numbers, not symbols
            logs = _split_integer_logs(sp.expand_log(diff, force=diff.is_number))
            if logs == 0 or (
                _expand_terms_bound(logs) <= MAX_EXPAND_TERMS and _generic_atoms_zero(logs)
            ):
                return True
        if diff.is_number and diff.has(sp.I):
            # e^{i pi/6} = cos(pi/6) + i sin(pi/6): real and imaginary parts, both exact
            parts = sp.expand_complex(diff)
            if parts == 0 or _generic_atoms_zero(parts):
                return True
        if diff.has(sp.exp) or any(not p.exp.is_Number for p in diff.atoms(sp.Pow)):
            powers = sp.powsimp(sp.expand_power_exp(sp.expand_power_base(diff, force=False)))
            if powers == 0 or _generic_atoms_zero(powers):
                return True
        ops = sp.count_ops(diff)
        if diff.is_number and not diff.has(sp.I) and ops <= MAX_MINPOLY_OPS:
            for rewrite in (sp.radsimp, sp.sqrtdenest):
                if sp.expand(rewrite(diff)) == 0:
                    return True
            if diff.is_algebraic:
                x = sp.Dummy()
                if sp.minimal_polynomial(diff, x) == x:
                    return True
        if ops <= MAX_SIMPLIFY_OPS and _simplify_is_bounded(diff) and sp.simplify(diff) == 0:
            return True
    except Exception:  # noqa: BLE001 -- a rewriting that fails proves nothing
        logger.debug("proof attempt failed", exc_info=True)
    return False


def proves_equal(a, b) -> bool:
    """``a == b`` proved (see :func:`proves_zero`); numbers only reject."""
    if a == b:
        return True
    agree = numerically_equal(a, b)
    if agree is False:
        return False
    return proves_zero(a - b)


def constant_ratio(a, b):
    """``a / b`` when it is proved to be a nonzero constant (a number), else None."""
    sp = sympy_module()
    if b == 0 or a == 0:
        return None
    symbols = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    ratios = []
    for point in _points(symbols, _CHECK_POINTS):
        try:
            vb = b.xreplace(point)
            if vb == 0:
                continue
            ratios.append(a.xreplace(point) / vb)  # exact at rational points
        except Exception:  # noqa: BLE001
            return None
    if not ratios:
        return None
    ratio = ratios[0]
    if not ratio.is_number or ratio == 0 or ratio.has(sp.oo, sp.zoo, sp.nan):
        return None
    for other in ratios[1:]:  # quick rejection: the ratio changes from point to point
        va, vb = numeric(ratio), numeric(other)
        if va is None or vb is None or not _close(va, vb, 1e-10):
            return None
    if proves_zero(a - ratio * b):  # the candidate, proved over all values
        return ratio
    return None


def warm_up() -> None:
    """Import sympy and both parsers and run one proof (worker start-up); ``simplify``
    imports sympy.physics.units on its first call (0.6 s), so it is called here once."""
    sp = sympy_module()
    a = to_sympy.__wrapped__("\\frac{\\sqrt{2}}{2}+x")
    b = to_sympy.__wrapped__("x+\\frac{1}{\\sqrt{2}}")
    proves_equal(a, b)
    sp.simplify(sp.sin(a) ** 2 + sp.cos(a) ** 2)
    _fallback("\\gcd(4, 6)")


__all__ = [
    "constant_ratio",
    "sympy_module",
    "numeric",
    "numerically_equal",
    "proves_equal",
    "proves_zero",
    "to_sympy",
    "tree_is_tame",
    "warm_up",
]
