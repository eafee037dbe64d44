"""Units: parsing with exact factors, splitting a quantity, and when letters are not units."""

from fractions import Fraction

import pytest

from luffy_jax.rewards import math_equal
from luffy_jax.rewards.units import parse_unit, split_quantity


@pytest.mark.parametrize(
    ("text", "factor"),
    [
        ("km", Fraction(1000)),
        ("cm", Fraction(1, 100)),
        ("\\text{ m/s}^2", Fraction(1)),
        ("km/h", Fraction(1000, 3600)),
        ("kilometers per hour", Fraction(1000, 3600)),
        ("square centimeters", Fraction(1, 10**4)),
        ("\\text{ cm}^{2}", Fraction(1, 10**4)),
        ("\\text{m s^{-1}}", Fraction(1)),
        ("kJ", Fraction(1000)),
        ("eV", Fraction("1.602176634e-19")),
        ("inches", Fraction("0.0254")),
        ("hours", Fraction(3600)),
        ("cents", Fraction(1, 100)),
    ],
)
def test_known_units(text, factor):
    unit = parse_unit(text)
    assert unit is not None and not unit.ignored and unit.factor == factor


def test_dimensions_distinguish():
    assert parse_unit("km/h").dim == parse_unit("m/s").dim
    assert parse_unit("kg").dim != parse_unit("km").dim
    assert parse_unit("J").dim == parse_unit("N \\cdot m").dim


def test_scale_words_and_unknown_words():
    assert parse_unit("million").scale == 10**6 and parse_unit("million").dimensionless
    apples = parse_unit("apples")
    assert apples.ignored
    assert parse_unit("v^2") is None  # a lone unknown letter is a symbol, not a word


@pytest.mark.parametrize(
    ("text", "value", "unit_text"),
    [
        ("15 \\text{ cm}", "15", "\\text{ cm}"),
        ("2.5 \\times 10^{3} \\text{ J}", "2.5 \\times 10^{3}", "\\text{ J}"),
        ("36 square centimeters", "36", "square centimeters"),
        ("5cm", "5", "cm"),
        ("\\dollar 1200", "1200", "\\dollar"),
    ],
)
def test_split_quantity(text, value, unit_text):
    got_value, unit = split_quantity(text)
    assert got_value == value and unit is not None and unit.text == unit_text


@pytest.mark.parametrize("text", ["3m", "\\pi r^2 h", "\\frac{1}{2} m v^2", "\\sqrt{2 g h}", "x"])
def test_symbols_are_not_units(text):
    assert split_quantity(text)[1] is None


@pytest.mark.parametrize(
    ("prediction", "gold", "equal"),
    [
        ("0.15 \\text{ m}", "15 \\text{ cm}", True),
        ("15 \\text{ mm}", "15 \\text{ cm}", False),  # a wrong unit scale
        ("2.5 \\text{ kJ}", "2500 \\text{ J}", True),
        ("75 \\text{ cents}", "\\$0.75", True),
        ("75", "\\$0.75", False),
        ("\\$2,500,000", "\\$2.5 \\text{ million}", True),
        ("15 \\text{ kg}", "15 \\text{ km}", False),  # another dimension
        ("15 \\text{ apples}", "15", True),
        ("15 \\text{ cm}", "15", True),  # a unit on one side only is dropped
    ],
)
def test_quantities_through_the_judge(prediction, gold, equal):
    assert math_equal(prediction, gold) == equal
