"""Quantities: a value followed (or, for currency, preceded) by a unit, with exact conversions.

:func:`split_quantity` splits one normalised scalar answer into its value text and a
:class:`Unit` (``"2.5 \\text{ kJ}"`` -> ``("2.5", kJ)``, ``"\\dollar 1200"`` -> dollars,
``"60 \\text{ kilometers per hour}"`` -> km/h). A unit is a dimension (exponents of length,
mass, time, current, temperature, amount, money, angle) and an exact factor to the base unit
(``fractions.Fraction``: 1 inch = 0.0254 m, 1 eV = 1.602176634e-19 J, 1 cent = 1/100 dollar).
Scale words (``thousand``, ``million``, ``billion``) are factors without dimension. Words the
table does not know (``nickels``, ``square units``, ``apples``) make an *ignored* unit: the value
is compared alone, as before.

Units are read only when they are separated from the value -- by a space or by ``\\text{}`` --
so ``3m`` stays the product of 3 and ``m`` (a physics symbol), while ``3 m`` and
``3 \\text{ m}`` are 3 metres; a few unambiguous abbreviations may be glued to a number
(``5cm``, ``3kg``, ``60km/h``). After a value with symbols in it (``\\pi r^2 h``) only a unit in
``\\text{}`` counts. Affine scales (degrees Celsius/Fahrenheit) are not converted.

Comparison (in ``equivalence``): two known units must have the same dimension and the values
agree after scaling by the exact factor ratio (``0.15 m`` = ``15 cm``; ``15 mm`` != ``15 cm``);
when only one side has a unit, the values are compared as they are.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from fractions import Fraction

# dimension axes: length, mass, time, current, temperature, amount, money, angle
_AXES = 8
_L, _M, _T, _I, _K, _N, _MONEY, _ANGLE = range(_AXES)


@dataclasses.dataclass(frozen=True)
class Unit:
    """A unit: ``dim`` exponents per axis, ``factor`` to the base unit; ``scale`` the product
    of scale words (``million``), kept apart so it applies even when the unit is dropped;
    ``ignored`` for words the table does not know (compared as no unit); ``text`` as written."""

    dim: tuple[int, ...]
    factor: Fraction
    ignored: bool = False
    text: str = ""
    scale: Fraction = Fraction(1)

    @property
    def dimensionless(self) -> bool:
        return not any(self.dim)


def _dim(**axes: int) -> tuple[int, ...]:
    names = {"L": _L, "M": _M, "T": _T, "I": _I, "K": _K, "N": _N, "money": _MONEY, "angle": _ANGLE}
    dim = [0] * _AXES
    for name, power in axes.items():
        dim[names[name]] = power
    return tuple(dim)


_BASE: dict[str, tuple[tuple[int, ...], Fraction]] = {}


def _add(names: str, dim: tuple[int, ...], factor: Fraction | int | str) -> None:
    for name in names.split():
        _BASE[name] = (dim, Fraction(factor))


_SI_PREFIXES = {"k": 10**3, "M": 10**6, "G": 10**9, "c": Fraction(1, 100), "m": Fraction(1, 1000),
                "u": Fraction(1, 10**6), "µ": Fraction(1, 10**6), "\\mu": Fraction(1, 10**6),
                "n": Fraction(1, 10**9), "d": Fraction(1, 10)}  # fmt: skip


def _add_prefixed(symbol: str, dim: tuple[int, ...], factor: Fraction | int, prefixes: str) -> None:
    _add(symbol, dim, factor)
    for prefix in prefixes.split():
        _add(prefix + symbol, dim, Fraction(factor) * _SI_PREFIXES[prefix])


_LENGTH, _MASS, _TIME = _dim(L=1), _dim(M=1), _dim(T=1)
_add_prefixed("m", _LENGTH, 1, "k c m u µ n d")
_add("meter meters metre metres", _LENGTH, 1)
_add("kilometer kilometers kilometre kilometres", _LENGTH, 1000)
_add("centimeter centimeters centimetre centimetres", _LENGTH, Fraction(1, 100))
_add("millimeter millimeters millimetre millimetres", _LENGTH, Fraction(1, 1000))
_add("in inch inches", _LENGTH, "0.0254")
_add("ft foot feet", _LENGTH, "0.3048")
_add("yd yard yards", _LENGTH, "0.9144")
_add("mi mile miles", _LENGTH, "1609.344")
_add_prefixed("g", _MASS, Fraction(1, 1000), "k m u µ")
_add("gram grams", _MASS, Fraction(1, 1000))
_add("kilogram kilograms", _MASS, 1)
_add("milligram milligrams", _MASS, Fraction(1, 10**6))
_add("lb lbs pound pounds", _MASS, "0.45359237")
_add("oz ounce ounces", _MASS, "0.028349523125")
_add_prefixed("s", _TIME, 1, "m u µ n")
_add("sec secs second seconds", _TIME, 1)
_add("millisecond milliseconds", _TIME, Fraction(1, 1000))
_add("min mins minute minutes", _TIME, 60)
_add("h hr hrs hour hours", _TIME, 3600)
_add("day days", _TIME, 86400)
_add("week weeks", _TIME, 604800)
_add_prefixed("L", _dim(L=3), Fraction(1, 1000), "m d")
_add("l liter liters litre litres", _dim(L=3), Fraction(1, 1000))
_add("ml milliliter milliliters millilitre millilitres cc", _dim(L=3), Fraction(1, 10**6))
_add_prefixed("A", _dim(I=1), 1, "m k")
_add("amp amps ampere amperes", _dim(I=1), 1)
_add_prefixed("C", _dim(I=1, T=1), 1, "m u µ n")
_add("coulomb coulombs", _dim(I=1, T=1), 1)
_ENERGY = _dim(M=1, L=2, T=-2)
_add_prefixed("J", _ENERGY, 1, "k M G m")
_add("joule joules", _ENERGY, 1)
_add("kilojoule kilojoules", _ENERGY, 1000)
_EV = Fraction("1.602176634e-19")
_add("eV", _ENERGY, _EV)
_add("keV", _ENERGY, _EV * 10**3)
_add("MeV", _ENERGY, _EV * 10**6)
_add("GeV", _ENERGY, _EV * 10**9)
_add_prefixed("W", _dim(M=1, L=2, T=-3), 1, "k M G m")
_add("watt watts", _dim(M=1, L=2, T=-3), 1)
_add_prefixed("N", _dim(M=1, L=1, T=-2), 1, "k m")
_add("newton newtons", _dim(M=1, L=1, T=-2), 1)
_add_prefixed("Pa", _dim(M=1, L=-1, T=-2), 1, "k M G")
_add("atm", _dim(M=1, L=-1, T=-2), 101325)
_add_prefixed("Hz", _dim(T=-1), 1, "k M G")
_add_prefixed("V", _dim(M=1, L=2, T=-3, I=-1), 1, "k m")
_add("volt volts", _dim(M=1, L=2, T=-3, I=-1), 1)
_add("ohm ohms \\Omega Ω", _dim(M=1, L=2, T=-3, I=-2), 1)
_add("K kelvin", _dim(K=1), 1)
_add("mol mole moles", _dim(N=1), 1)
_add("dollar dollars USD \\dollar", _dim(money=1), 1)
_add("cent cents", _dim(money=1), Fraction(1, 100))
_add("degree degrees deg", _dim(angle=1), 1)
_add("mph", _dim(L=1, T=-1), Fraction("1609.344") / 3600)
_add("kph kmh", _dim(L=1, T=-1), Fraction(1000, 3600))
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}

_PREFIX_WORDS = {"square": 2, "sq": 2, "cubic": 3}
_SUFFIX_WORDS = {"squared": 2, "cubed": 3}
_UNIT_TOKEN_RE = re.compile(
    r"\\Omega|\\mu|\\dollar|[A-Za-zµΩ]+|\^\s*\{?\s*-?\d+\s*\}?|/|\\cdot|\*|·|\(|\)"
)


def _token_power(token: str) -> int:
    return int(re.sub(r"[\^\s{}]", "", token))


@functools.lru_cache(maxsize=4096)
def parse_unit(text: str) -> Unit | None:
    """The unit written in ``text`` (``"km/h"``, ``"m/s^2"``, ``"kilometers per hour"``,
    ``"square centimeters"``, ``"N \\cdot m"``); an *ignored* unit for plain words the table
    does not know; None when ``text`` is not a unit at all (symbols such as ``v^2``)."""
    raw = text
    text = re.sub(r"\\(?:text|mathrm|mbox)\s*(?=\{)", " ", text)
    text = text.replace("{", " ").replace("}", " ").replace("~", " ").strip()
    if not text:
        return None
    tokens = _UNIT_TOKEN_RE.findall(text)
    if re.sub(r"\s", "", "".join(tokens)) != re.sub(r"[\s.]", "", text):
        return None  # characters outside the unit grammar (digits, operators, ...)
    dim = [0] * _AXES
    factor = Fraction(1)
    scale = Fraction(1)
    sign = 1  # +1 numerator, -1 after "/" or "per"
    pending_power = 1
    last: tuple[tuple[int, ...], Fraction] | None = None
    unknown = 0
    known = 0
    for token in tokens:
        if token in ("/", "per"):
            sign = -1
            continue
        if token in ("\\cdot", "*", "·", "(", ")"):
            continue
        if token.startswith("^"):
            if last is None:
                return None
            power = _token_power(token)
            base_dim, base_factor = last
            for axis in range(_AXES):
                dim[axis] += sign * base_dim[axis] * (power - 1)
            factor *= base_factor ** (sign * (power - 1))
            continue
        if token in _PREFIX_WORDS:
            pending_power = _PREFIX_WORDS[token]
            continue
        if token in _SUFFIX_WORDS and last is not None:
            base_dim, base_factor = last
            power = _SUFFIX_WORDS[token]
            for axis in range(_AXES):
                dim[axis] += sign * base_dim[axis] * (power - 1)
            factor *= base_factor ** (sign * (power - 1))
            continue
        if token in _SCALES:
            scale *= _SCALES[token]
            known += 1
            last = None
            continue
        entry = _BASE.get(token)
        if entry is None and token.lower() != token and token.lower() in _BASE and len(token) > 3:
            entry = _BASE[token.lower()]  # "Meters", "Hours"
        if entry is None:
            if len(token) == 1:
                return None  # a lone unknown letter is a symbol, not a word
            unknown += 1
            last = None
            continue
        known += 1
        base_dim, base_factor = entry
        for axis in range(_AXES):
            dim[axis] += sign * base_dim[axis] * pending_power
        factor *= base_factor ** (sign * pending_power)
        last = (base_dim, base_factor**pending_power)
        pending_power = 1
    if known == 0 and unknown == 0:
        return None
    if unknown:
        # words the table does not know: the value is compared alone (scales still apply)
        if known and any(dim):
            return Unit(tuple([0] * _AXES), Fraction(1), ignored=True, text=raw)
        return Unit(tuple([0] * _AXES), Fraction(1), ignored=True, text=raw, scale=scale)
    return Unit(tuple(dim), factor, text=raw, scale=scale)


_UNIT_START_RE = re.compile(
    r"\\text\s*\{|\\mathrm\s*\{|(?<=\s)(?:[A-Za-zµΩ]|\\Omega|\\mu|\\dollar)"
)
_VALUE_END_RE = re.compile(r"[\d})]\s*$")
_MACRO_RE = re.compile(r"\\[a-zA-Z]+")
_LETTER_RE = re.compile(r"[a-zA-Z]")
# units written without a space that cannot be read as products of physics symbols
_GLUED_RE = re.compile(
    r"^(?P<value>[-+]?\d+(?:\.\d+)?)(?P<unit>cm|mm|km|kg|mL|ml|kPa|kJ|kW|kN|mph|km/h|cm\^\{?[23]\}?)$"
)


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def _split_unit(s: str) -> tuple[str, Unit | None]:
    """Split at the leftmost place where the rest of ``s`` reads as a unit."""
    glued = _GLUED_RE.match(s)
    if glued:
        return glued.group("value"), parse_unit(glued.group("unit"))
    for m in _UNIT_START_RE.finditer(s):
        value = s[: m.start()].strip()
        if not value or not _balanced(value):
            continue
        explicit = m.group(0).startswith("\\") and m.group(0).endswith("{")
        if not explicit and (
            not _VALUE_END_RE.search(value) or _LETTER_RE.search(_MACRO_RE.sub("", value))
        ):
            continue  # after an expression with symbols (pi r^2 h) a bare letter is a symbol
        unit = parse_unit(s[m.start() :])
        if unit is not None:
            return value, unit
    return s, None


@functools.lru_cache(maxsize=8192)
def split_quantity(text: str) -> tuple[str, Unit | None]:
    """``(value, unit)`` for one normalised scalar; ``(text, None)`` when it has no unit."""
    s = text.strip()
    if not s:
        return s, None
    currency = False
    if s.startswith("\\dollar"):
        currency = True
        s = s[len("\\dollar") :].strip()
    elif s.startswith("-\\dollar"):
        currency = True
        s = "-" + s[len("-\\dollar") :].strip()
    s, unit = _split_unit(s)
    if currency:
        money = Unit(_dim(money=1), Fraction(1), text="\\dollar")
        if unit is None:
            unit = money
        elif unit.ignored or unit.dimensionless:
            unit = dataclasses.replace(money, scale=unit.scale)
        elif unit.dim != money.dim:
            return text, None
    return s, unit


__all__ = ["Unit", "parse_unit", "split_quantity"]
