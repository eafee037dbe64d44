"""Sets of reals: intervals, unions, inequalities and complements in canonical form."""

import pytest
import sympy as sp

from luffy_jax.rewards.normalize import normalize_answer
from luffy_jax.rewards.realsets import RealSet, interval_like, real_set, sets_equal
from luffy_jax.rewards.structure import parse_node


def _set(text: str):
    return real_set(parse_node(normalize_answer(text)))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("x \\neq 3", "(-\\infty, 3) \\cup (3, \\infty)"),
        ("\\mathbb{R} \\setminus \\{3\\}", "(3,\\infty)\\cup(-\\infty,3)"),
        ("|x| > 1", "x < -1 \\text{ or } x > 1"),
        ("|x - 2| \\le 1", "[1, 3]"),
        ("m > -1 \\text{ and } m < 3", "(-1, 3)"),
        ("\\{x \\mid x < 3\\}", "(-\\infty, 3)"),
        ("[0, 1) \\cup [1, 2]", "[0, 2]"),
        ("(-\\infty, 1] \\cup [1, \\infty)", "\\mathbb{R}"),
        ("3 \\geq x > -2", "(-2, 3]"),
        ("[0, 0.5]", "[0, \\frac{1}{2}]"),
    ],
)
def test_equal_sets(a, b):
    sa, sb = _set(a), _set(b)
    assert sa is not None and sb is not None and sets_equal(sa, sb)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("[2, 5)", "(2, 5)"),
        ("(0, 1.57)", "(0, \\frac{\\pi}{2})"),
        ("|x| \\ge 1", "|x| > 1"),
        ("(-\\infty, 3]\\cup(3,\\infty)", "x \\ne 3"),
    ],
)
def test_different_sets(a, b):
    assert not sets_equal(_set(a), _set(b))


def test_canonical_form_merges_and_sorts():
    one, two, three = sp.Integer(1), sp.Integer(2), sp.Integer(3)
    merged = RealSet.union(
        RealSet.interval(two, three, True, True), RealSet.interval(one, two, True, False)
    )
    assert len(merged.pieces) == 1 and merged.pieces[0].lo == 1 and merged.pieces[0].hi == 3
    assert RealSet.interval(three, one, True, True).pieces == ()  # reversed: empty
    assert RealSet.points([two]).complement().complement() == RealSet.points([two])


def test_interval_like_and_unreadable():
    assert interval_like(parse_node("[0, 1)"))
    assert not interval_like(parse_node("(1, 2)"))  # a pair, unless the other side is a set
    assert real_set(parse_node("x^2 < 4")) is None  # not read (no solving)
    assert real_set(parse_node("(a, b)")) is None  # symbolic ends
