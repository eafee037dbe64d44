"""Proofs of equality: accepted only when an exact rewriting gives 0 -- never on numerical
agreement alone -- and every rewriting skipped when its input is over its bound."""

import pytest
import sympy as sp

from luffy_jax.rewards import symbolic
from luffy_jax.rewards.symbolic import (
    constant_ratio,
    numerically_equal,
    proves_equal,
    proves_zero,
    to_sympy,
    tree_is_tame,
)


def _both(a: str, b: str):
    return to_sympy(a), to_sympy(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("(x-1)(x+1)", "x^2-1"),
        ("\\frac{1}{x-1}+\\frac{1}{x+1}", "\\frac{2x}{x^2-1}"),
        ("\\sin 2x", "2\\sin x\\cos x"),
        ("\\sin^2 x + \\cos^2 x", "1"),
        ("\\frac{2\\tan x}{1-\\tan^2 x}", "\\tan 2x"),
        ("\\ln 2 + \\ln 3", "\\ln 6"),
        ("\\sqrt{3+2\\sqrt{2}}", "1+\\sqrt{2}"),
        ("\\frac{2}{3+\\sqrt{5}}", "\\frac{3-\\sqrt{5}}{2}"),
        ("\\sqrt[3]{7+5\\sqrt{2}}", "1+\\sqrt{2}"),
        ("(e^x)^2", "e^{2x}"),
        ("\\cos\\frac{\\pi}{5}", "\\frac{1+\\sqrt5}{4}"),
    ],
)
def test_proved(a, b):
    assert proves_equal(*_both(a, b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("e^{\\pi\\sqrt{163}}", "640320^3+744"),  # equal to 12 digits, not equal
        ("\\frac{355}{113}", "\\pi"),  # equal to 6 digits
        ("1.4142135623730951", "\\sqrt{2}"),  # equal to 16 digits
        ("\\ln(xy)", "\\ln x + \\ln y"),  # true only for positive x, y
        ("\\sqrt{x^2}", "x"),  # true only for x >= 0
        ("x^2+2x", "x^2-2x"),
    ],
)
def test_not_proved(a, b):
    assert not proves_equal(*_both(a, b))


def test_numbers_only_reject():
    a, b = _both("e^{\\pi\\sqrt{163}}", "640320^3+744")
    assert numerically_equal(a, b) is True  # they agree at 20 digits ...
    assert not proves_zero(a - b)  # ... and still are not accepted


def test_expansion_bound_trips_before_expanding(monkeypatch):
    x, y, z = sp.symbols("x y z")
    big = (x + y + z + 1) ** 40 - (1 + x + y + z) ** 39 * (x + y + z + 2)

    def no_expand(*args, **kwargs):
        raise AssertionError("expand called on an expression over MAX_EXPAND_TERMS")

    monkeypatch.setattr(sp, "expand", no_expand)
    assert symbolic._expand_terms_bound(big) > symbolic.MAX_EXPAND_TERMS
    assert proves_zero(big) is False


def test_trig_multiple_bound_trips_before_expand_trig(monkeypatch):
    x = sp.Symbol("x")

    def no_expand_trig(*args, **kwargs):
        raise AssertionError("expand_trig called on a large multiple angle")

    monkeypatch.setattr(sp, "expand_trig", no_expand_trig)
    assert symbolic._trig_zero(sp.cos(40 * x) - sp.cos(x)) is False


def test_constant_ratio():
    x, y = sp.symbols("x y")
    assert constant_ratio(2 * y - 4 * x - 2, y - 2 * x - 1) == 2
    assert constant_ratio(x - 5, y - 5) is None
    assert constant_ratio(x, sp.Integer(0)) is None


@pytest.mark.parametrize(
    "text",
    ["9^{9^{9^{9}}}", "1000!!!", "x" * 500, "{" * 100 + "1" + "}" * 100, "e^{e^{e^{x}}}"],
)
def test_to_sympy_refuses_hostile_input(text):
    assert to_sympy(text) is None


def test_fallback_parser_only_for_short_latex():
    # the fast parser refuses macros it does not know; the ANTLR fallback reads short ones
    assert to_sympy("\\gcd(4, 6)") == 2
    assert symbolic._fallback("speed of light") is None  # words are text
    assert symbolic._fallback("\\sum_{k=1}^{10} k") is None  # never evaluated
    assert symbolic._fallback("\\frac{1}{2}" * 20) is None  # over MAX_FALLBACK_CHARS


def test_tree_is_tame():
    x = sp.Symbol("x")
    assert tree_is_tame(x**2 + 1)
    assert not tree_is_tame(sp.exp(sp.exp(x)))
    assert not tree_is_tame(sp.Sum(x, (x, 1, 10**12)))
    assert not tree_is_tame(sp.Add(*[sp.Symbol(f"a{i}") for i in range(700)]))


def test_signature_only_rejects():
    from luffy_jax.rewards.symbolic import may_be_equal, signature

    assert signature("x^2+1") == signature("1+x^{2}")  # the same point for the same name
    assert may_be_equal("(x+1)^2", "x^2+2x+1")
    assert not may_be_equal("x^2", "x^3")
    assert may_be_equal("5 \\text{ cm}", "0.05 \\text{ m}")  # no signature: never rejected


def test_step_functions_are_checked_at_integers_and_not_simplified(monkeypatch):
    a, b = _both("\\lfloor\\frac{2n-2}{5}\\rfloor", "\\lfloor\\frac{2n-1}{5}\\rfloor")
    assert numerically_equal(a, b) is False  # they agree at the rational points, not at n = 1

    def no_simplify(*args, **kwargs):
        raise AssertionError("simplify called on a floor expression")

    monkeypatch.setattr(sp, "simplify", no_simplify)
    assert proves_zero(a - b + 0 * sp.Symbol("n")) is False


def test_high_powers_do_not_look_equal_at_the_sample_points():
    a, b = _both("(x^{50}+1)^2", "x^{100}-1")
    assert numerically_equal(a, b) is False  # points on both sides of 1, not only large ones
    assert not proves_zero(a - b)


def test_a_nonzero_polynomial_stops_the_proof_early(monkeypatch):
    def no_simplify(*args, **kwargs):
        raise AssertionError("simplify called although expansion decided")

    monkeypatch.setattr(sp, "simplify", no_simplify)
    x = sp.Symbol("x")
    assert proves_zero((x + 1) ** 3 - x**3 - 1) is False
