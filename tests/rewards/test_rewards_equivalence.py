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


def test_parse_node_new_kinds():
    assert parse_node("\\mathbb{R}").kind == "reals"
    assert parse_node("\\mathbb{R} \\setminus \\{3\\}").kind == "setminus"
    assert parse_node("\\{x \\mid x < 3\\}").kind == "setbuilder"
    pm = parse_node("\\frac{-1 \\pm \\sqrt{5}}{2}")  # one \pm anywhere: both signs
    assert pm.kind == "list" and [i.text for i in pm.items] == [
        "\\frac{-1 + \\sqrt{5}}{2}",
        "\\frac{-1 - \\sqrt{5}}{2}",
    ]
    assert [i.text for i in parse_node("1, 2, and 3").items] == ["1", "2", "3"]
    joined = parse_node("x > 1 and x < 3")
    assert joined.kind == "list" and joined.joiner == "and"
    scaled = parse_node("2\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}")
    assert scaled.kind == "matrix" and scaled.items[0].items[0].text == "(2)\\cdot(1)"
    tuple_eq = parse_node("(x, y) = (1, 2)")
    assert tuple_eq.kind == "eq" and tuple_eq.items[0].kind == "seq"


@pytest.mark.parametrize(
    ("prediction", "gold", "equal"),
    [
        ("2y = 4x + 2", "y = 2x + 1", True),  # a rescaled equation
        ("x = \\frac{y - 1}{2}", "y = 2x + 1", True),  # solved for the other variable
        ("2y = 2x + 1", "y = 2x + 1", False),
        ("x=-1, y=2", "x = 2, y = -1", False),  # a system pairs names and values
        ("y = 3", "x = 3", False),  # different names, different lines
        ("m = 5", "m_{max} = 5", True),  # one quantity under two names
        ("2ab \\le a^2 + b^2", "a^2 + b^2 \\geq 2ab", True),
        ("a^2 + b^2 > 2ab", "a^2 + b^2 \\geq 2ab", False),
        ("-x^2 \\ge -1", "x^2 \\le 1", True),  # scaled by a negative number, flipped
        ("\\{2\\}", "2", True),
        ("\\{(1,2), (3,4)\\}", "(3, 4), (1, 2)", True),
        ("\\{1, 2\\}", "(1, 2)", False),
    ],
)
def test_structural_equivalences(prediction, gold, equal):
    assert math_equal(prediction, gold) == equal
