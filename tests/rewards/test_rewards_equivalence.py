"""The judge (math_equal) on hand-written positives and near-miss negatives, and its parts."""

from fractions import Fraction

import pytest
from rewards_cases import NEGATIVE, POSITIVE

from luffy_jax.rewards import math_equal
from luffy_jax.rewards.equivalence import parse_node
from luffy_jax.rewards.normalize import normalize_answer, parse_number

_POS = [(cat, p, g) for cat, cases in POSITIVE.items() for p, g in cases]
_NEG = [(cat, p, g) for cat, cases in NEGATIVE.items() for p, g in cases]


@pytest.mark.parametrize(("category", "prediction", "gold"), _POS)
def test_equal(category, prediction, gold):
    assert math_equal(prediction, gold), (category, prediction, gold)


@pytest.mark.parametrize(("category", "prediction", "gold"), _NEG)
def test_not_equal(category, prediction, gold):
    assert not math_equal(prediction, gold), (category, prediction, gold)


def test_case_count_covers_the_categories():
    assert len(_POS) + len(_NEG) >= 150
    assert len(POSITIVE) + len(NEGATIVE) >= 30


@pytest.mark.parametrize(
    ("text", "value", "is_decimal"),
    [
        ("025", Fraction(25), False),
        ("142.0", Fraction(142), False),
        (".35625", Fraction(35625, 100000), True),
        ("4.5e33", Fraction(45 * 10**32), True),
        ("1.24\\times10^{-8}", Fraction(124, 10**10), True),
        ("\\frac{3}{2}", Fraction(3, 2), False),
        ("-3/2", Fraction(-3, 2), False),
        ("2\\frac{1}{2}", Fraction(5, 2), False),
        ("0.1\\overline{6}", Fraction(1, 6), False),
    ],
)
def test_parse_number(text, value, is_decimal):
    number = parse_number(text)
    assert number is not None and number.value == value and number.is_decimal == is_decimal


@pytest.mark.parametrize("text", ["x", "1e999999", "2^{3}", "\\frac{1}{0}", "1,2", ""])
def test_parse_number_rejects(text):
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("$\\dfrac{1}{2}$", "\\frac{1}{2}"),
        ("\\left( 3, \\frac{\\pi}{2} \\right)", "( 3, \\frac{\\pi}{2} )"),
        ("90^\\circ", "90"),
        ("\\text{Evelyn}", "Evelyn"),
        ("10,\\!080", "10080"),
        ("864 \\mbox{ inches}^2", "864 \\text{ inches}^2"),  # units are kept for units.py
        ("\\$18.90", "\\dollar 18.90"),
        ("\\$1,200", "\\dollar 1200"),
        ("1,200 \\text{ dollars}", "1200 \\text{ dollars}"),
        ("1\\,234\\,567", "1234567"),
        ("\\langle 1, 2 \\rangle", "( 1, 2 )"),
        ("(0, +\\infty)", "(0, \\infty)"),
        ("\\text{infinitely many}", "\\infty"),
        ("\\text{all real numbers}", "\\mathbb{R}"),
        ("25 \\text{ percent}", "25%"),
        ("x <= 3", "x \\leq 3"),
        ("x \\in [-2,7]", "[-2,7]"),
        ("\\frac12", "\\frac{1}{2}"),
    ],
)
def test_normalize_answer(raw, normalized):
    assert normalize_answer(raw) == normalized


def test_parse_node_structures():
    assert parse_node("[0,1)").kind == "seq" and parse_node("[0,1)").brackets == "[)"
    assert parse_node("\\{1,2\\}").kind == "set"
    assert parse_node("1, 2, 3").kind == "list"
    assert parse_node("x > 3").kind == "ineq"  # realsets reads it as the interval (3, oo)
    assert parse_node("y = 2x").kind == "eq"
    assert parse_node("3 \\pm 2").kind == "list"
    assert parse_node("\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}").kind == "matrix"
    assert parse_node("\\frac{1}{2}").kind == "scalar"


def test_math_equal_rejects_non_strings():
    with pytest.raises(TypeError):
        math_equal(3, "3")
