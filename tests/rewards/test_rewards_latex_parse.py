"""The fast LaTeX parser: readings of the constructions answers use, and refusals (size
limits trip on the inputs they are for, before any large number is built)."""

import pytest
import sympy as sp

from luffy_jax.rewards.latex_parse import Unsupported, parse_latex

x, y, g, h, m, theta = sp.symbols("x y g h m theta")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\\frac{1}{2}", sp.Rational(1, 2)),
        ("0.35", sp.Rational(35, 100)),
        ("3\\frac{1}{2}", sp.Rational(7, 2)),  # a mixed number
        ("-3\\frac{1}{2}", sp.Rational(-7, 2)),
        ("2\\frac{x}{3}", 2 * x / 3),  # not mixed: the fraction is not numeric
        ("mgh", m * g * h),
        ("1/2x", 1 / (2 * x)),  # juxtaposition binds tighter, as in latex2sympy
        ("x^2y", x**2 * y),
        ("\\sin 2x \\cos x", sp.sin(2 * x) * sp.cos(x)),
        ("\\sin^2 x", sp.sin(x) ** 2),
        ("\\sin^{-1} x", sp.asin(x)),
        ("\\log_2 8", sp.Integer(3)),
        ("\\log 100", sp.Integer(2)),
        ("\\ln e^{2}", sp.Integer(2)),
        ("e^{2x}", sp.exp(2 * x)),
        ("\\sqrt[3]{-8}", sp.Integer(-2)),  # the real cube root
        ("\\sqrt{8}", 2 * sp.sqrt(2)),
        ("|x-1|", sp.Abs(x - 1)),
        ("\\binom{n+1}{2}", sp.Symbol("n") * (sp.Symbol("n") + 1) / 2),
        ("5!", sp.Integer(120)),
        ("\\frac{1}{1+i}", (1 - sp.I) / 2),
        ("v_0^2", sp.Symbol("v_0") ** 2),
        ("m_{max}", sp.Symbol("m_max")),
        ("\\varepsilon_0", sp.Symbol("epsilon_0")),
        ("\\theta", theta),
        ("\\lfloor 2.5 \\rfloor", sp.Integer(2)),
        ("\\pi r^2", sp.pi * sp.Symbol("r") ** 2),
        ("\\infty", sp.oo),
        ("G M m", sp.Symbol("G") * sp.Symbol("M") * m),  # case kept: M is not m
        ("y^{\\prime} + y", sp.Symbol("y'") + y),  # primes belong to the name
        ("\\dot{x}_{0}", sp.Symbol("dot(x)_0")),
    ],
)
def test_parse(text, expected):
    got = parse_latex(text)
    assert got == expected or sp.simplify(got - expected) == 0


@pytest.mark.parametrize(
    "text",
    [
        "2 3",  # two numbers side by side
        "area",  # a word, not a*r*e*a
        "9^{99999}",  # exponent above guards.MAX_EXPONENT
        "9^{9^{9}}",  # result above MAX_RESULT_BITS: refused before it is built
        "1000!",  # above guards.MAX_FACTORIAL
        "x!",
        "\\binom{2000}{1000}",
        "\\frac{1}{0}",
        "0^{-1}",
        "\\sum_{k=1}^{n} k",
        "1,2",
        "\\angle B",  # a macro outside the subset
        "(1",
        "a" * 500,
    ],
)
def test_refused(text):
    with pytest.raises(Unsupported):
        parse_latex(text)


def test_refusals_are_cached_and_repeatable():
    for _ in range(2):
        with pytest.raises(Unsupported, match="word"):
            parse_latex("speed")
