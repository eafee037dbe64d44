"""String normalisation of one extracted answer, and exact parsing of plain numbers.

:func:`normalize_answer` rewrites an answer (prediction or gold) into a canonical LaTeX-ish
string: math delimiters (``$``, ``\\(``, ``\\[``) dropped, ``\\left``/``\\right``, spacing
macros, ``\\displaystyle`` removed, ``\\dfrac``/``\\tfrac`` -> ``\\frac``, ``\\frac12`` ->
``\\frac{1}{2}``, ``\\sqrt2`` -> ``\\sqrt{2}``, degree marks (``^\\circ``, ``°``, ``\\deg``)
removed, ``\\mbox``/``\\textbf``/``\\mathrm`` -> ``\\text``, a whole-answer ``\\text{...}``
unwrapped, ``\\le``/``≤``/``<=`` -> ``\\leq``, ``\\langle a, b \\rangle`` -> ``(a, b)``, unicode
minus/times, ``+\\infty`` / ``infinity`` / ``infinitely many`` -> ``\\infty``, ``all real numbers``
-> ``\\mathbb{R}``, ``percent`` -> ``%``, thousands separators (``10,080``, ``10{,}080``,
``10\\,080``) collapsed for a lone number (also with a currency sign or a unit), trailing
punctuation removed. ``\\%`` becomes ``%``. Units are *kept* (``units.split_quantity`` reads
them); an escaped dollar sign becomes the marker ``\\dollar`` in front of its value.

:func:`parse_number` reads a *plain number* exactly (``fractions.Fraction``): integers with
leading zeros or ``.0`` (``025``, ``142.0``), decimals (``.35625``), scientific notation
(``4.5e33``, ``4.5\\times10^{33}``, ``10^{-5}``), fractions (``\\frac{3}{2}``, ``-3/2``),
mixed numbers (``2\\frac{1}{2}``, ``2 1/2``), repeating decimals (``0.\\overline{3}`` = 1/3).
It returns None for anything else; exponents are bounded so it never builds a huge number.
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

_TEXT_MACROS_RE = re.compile(
    r"\\(?:mbox|textbf|textrm|textit|textnormal|textsf|texttt|mathrm|mathbf|mathit|mathsf|"
    r"operatorname\*?|mathnormal|boldsymbol|bm)\s*\{"
)
_SPACING_RE = re.compile(
    r"(?<!\\)\\[!,;:> ]|\\q?quad\b|~|\\hspace\*?\{[^{}]*\}|\\(?:thin|med|thick)space"
)
_DEGREE_RE = re.compile(
    r"\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree|\\deg(?![a-zA-Z])|\^\s*\{\s*o\s*\}"
)
_SIZING_RE = re.compile(
    r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)\s*(?=[(\[{|.)\]}\\])"
)
_THOUSANDS_RE = re.compile(
    r"^(?P<lead>-?(?:\\dollar\s*)?)(?P<num>[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?)"
    r"(?P<tail>\s*(?:\\text\s*\{|[a-zA-Z]).*)?$"
)
_BRACKETED_MATRIX_RE = re.compile(
    r"^[\[(]\s*(\\begin\{(?:[pbBvV]?matrix|array)\}.*\\end\{(?:[pbBvV]?matrix|array)\})\s*[\])]$",
    re.DOTALL,
)
_SPACED_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(?: \d{3})+(?:\.\d+)?$")
_INFINITY_WORDS = ("infinity", "infinitely many", "infinite", "infinitely many solutions")
_REALS_WORDS = ("all real numbers", "all reals", "all real values", "all real x")
_MAX_SCI_EXPONENT = 400


def _unwrap_text(s: str) -> str:
    """``\\text{abc}`` -> ``abc`` everywhere (braces matched, one level at a time)."""
    for _ in range(8):
        idx = s.find("\\text{")
        if idx == -1:
            return s
        depth, j = 0, idx + 5
        for j in range(idx + 5, len(s)):
            if s[j] == "{":
                depth += 1
            elif s[j] == "}":
                depth -= 1
                if depth == 0:
                    break
        else:
            return s
        s = s[:idx] + s[idx + 6 : j] + s[j + 1 :]
    return s


def _fix_short_args(s: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac{a}b`` -> ``\\frac{a}{b}``, ``\\sqrt2`` -> ``\\sqrt{2}``."""
    s = re.sub(r"\\sqrt\s*([0-9a-zA-Z])", r"\\sqrt{\1}", s)
    s = re.sub(r"\\(frac|binom)\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])", r"\\\1{\2}{\3}", s)
    s = re.sub(r"\\(frac|binom)\s*(\{[^{}]*\})\s*([0-9a-zA-Z])", r"\\\1\2{\3}", s)
    s = re.sub(r"\\(frac|binom)\s*([0-9a-zA-Z])\s*(\{)", r"\\\1{\2}\3", s)
    return s


def _strip_delimiters(s: str) -> str:
    s = s.strip()
    for _ in range(4):
        before = s
        for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
            if s.startswith(left) and s.endswith(right) and len(s) >= len(left) + len(right):
                s = s[len(left) : len(s) - len(right)].strip()
        if s == before:
            break
    return s.replace("$", " ")


def normalize_answer(answer: str) -> str:
    """Canonical string form of one answer (see the module docstring for the rewrites)."""
    s = answer.strip()
    s = (
        s.replace("\\$", " \\dollar ")
        .replace("\\%", "%")
        .replace("\\{", "\\lbrace ")
        .replace("\\}", " \\rbrace")
    )
    s = _strip_delimiters(s)
    s = s.replace("\\lbrace ", "\\{").replace(" \\rbrace", "\\}")
    s = s.replace("\\displaystyle", " ").replace("\\mathstrut", " ")
    s = _SIZING_RE.sub("", s).replace("\\left.", "").replace("\\right.", "")
    s = s.replace("\\lvert", "|").replace("\\rvert", "|").replace("\\vert", "|")
    s = s.replace("\\langle", "(").replace("\\rangle", ")")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = s.replace("\\dbinom", "\\binom").replace("\\tbinom", "\\binom")
    s = s.replace("\\lt", "<").replace("\\gt", ">").replace("\\leqslant", "\\leq")
    s = s.replace("\\geqslant", "\\geq").replace("≤", "\\leq ").replace("≥", "\\geq ")
    s = s.replace("<=", "\\leq ").replace(">=", "\\geq ")
    s = re.sub(r"\s!=", r" \\ne ", s)
    s = re.sub(r"\\le(?![a-zA-Z])", r"\\leq", s)
    s = re.sub(r"\\ge(?![a-zA-Z])", r"\\geq", s)
    s = (
        s.replace("\\neq", "\\ne ")
        .replace("≠", "\\ne ")
        .replace("−", "-")
        .replace("×", "\\times ")
        .replace("·", "\\cdot ")
    )
    s = s.replace("π", "\\pi ").replace("∞", "\\infty ").replace("√", "\\sqrt")
    s = re.sub(r"[€£¥₹]", " ", s)  # other currencies: the sign is dropped, not converted
    s = s.replace("{,}", ",").replace("\\emptyset", "\\varnothing")
    s = s.replace("\\!", "")
    s = _SPACING_RE.sub(" ", s)
    s = _DEGREE_RE.sub("", s)
    s = _TEXT_MACROS_RE.sub("\\\\text{", s)
    s = re.sub(r"\\text\s*\{\s*(or|and)\s*\}", r" \1 ", s)
    s = re.sub(r"\s*(?:\\text\s*\{\s*percent\s*\}|(?<![a-zA-Z])percent\b)", "%", s)
    s = s.replace("np.", "\\")
    s = re.sub(r"(?<![\\a-zA-Z])sqrt\s*\(([^()]*)\)", r"\\sqrt{\1}", s)
    s = re.sub(r"(?<![\\a-zA-Z])pi(?![a-zA-Z])", r"\\pi", s)
    s = re.sub(r"_\{([^{}]*)\}", lambda m: "_{" + m.group(1).replace("\\", "").strip() + "}", s)
    s = _fix_short_args(s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"(^|[(\[,]\s*)\+\s*\\infty", r"\1\\infty", s)
    s = re.sub(r"^[a-zA-Z]\s*\\in\s*", "", s)
    # a whole-answer \text{...} is the answer itself (units after a value are kept)
    if s.startswith("\\text{") and s.endswith("}") and s.count("\\text{") == 1:
        s = _unwrap_text(s).strip()
    s = s.rstrip(" .;").strip()
    s = _BRACKETED_MATRIX_RE.sub(r"\1", s)
    lowered = s.lower()
    if lowered in _INFINITY_WORDS:
        return "\\infty"
    if lowered in _REALS_WORDS:
        return "\\mathbb{R}"
    m = _THOUSANDS_RE.match(s)
    if m:
        s = m.group("lead") + m.group("num").replace(",", "") + (m.group("tail") or "")
    elif _SPACED_THOUSANDS_RE.match(s):
        s = s.replace(" ", "")
    return s


_INT = r"[-+]?\d+"
_DEC = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)"
_SCI_E_RE = re.compile(rf"^({_DEC})\s*[eE]\s*([-+]?\d+)$")
_SCI_TIMES_RE = re.compile(
    rf"^({_DEC})\s*(?:\\times|\\cdot|\*|x)\s*10\s*(?:\^|\*\*)\s*\{{?\s*([-+]?\s*\d+)\s*\}}?$"
)
_POW10_RE = re.compile(r"^([-+]?)10\s*(?:\^|\*\*)\s*\{?\s*([-+]?\s*\d+)\s*\}?$")
_FRAC_RE = re.compile(rf"^([-+]?)\s*\\frac\{{\s*({_DEC})\s*\}}\{{\s*({_DEC})\s*\}}$")
_SLASH_RE = re.compile(rf"^({_DEC})\s*/\s*({_DEC})$")
_MIXED_RE = re.compile(rf"^({_INT})\s*\\frac\{{\s*(\d+)\s*\}}\{{\s*(\d+)\s*\}}$")
_REPEAT_RE = re.compile(r"^([-+]?)(\d*)\.(\d*)\\overline\{(\d+)\}$")
_DEC_RE = re.compile(rf"^{_DEC}$")
_SPACED_MIXED_RE = re.compile(r"^(-?)\s*(\d+)\s+(\d+)\s*/\s*(\d+)$")
_DIGITS_APART_RE = re.compile(r"\d\s+\.?\d")


@dataclasses.dataclass(frozen=True)
class Number:
    """An exactly parsed plain number; ``decimals`` is the count of written decimal places
    (None for exact forms such as integers or fractions), ``ulp_exp`` the power of ten of the
    last written digit for decimal / scientific literals (used for the precision of a gold)."""

    value: Fraction
    is_decimal: bool
    ulp_exp: int | None


def _dec(text: str) -> tuple[Fraction, int | None]:
    text = text.replace(" ", "")
    value = Fraction(text if not text.endswith(".") else text[:-1])
    if "." in text:
        return value, -len(text.split(".", 1)[1])
    return value, None


def parse_number(text: str) -> Number | None:
    """Parse a plain number exactly (see the module docstring), or None."""
    if len(text) > 200:
        return None
    m = _SPACED_MIXED_RE.match(text.strip())
    if m:  # "2 1/2" is two and a half, never 21/2
        whole, num, den = int(m.group(2)), int(m.group(3)), int(m.group(4))
        if den == 0 or num >= den:
            return None
        sign = -1 if m.group(1) else 1
        return Number(sign * (whole + Fraction(num, den)), False, None)
    if _DIGITS_APART_RE.search(text):
        return None
    s = text.strip().replace(" ", "")
    if not s or len(s) > 120:
        return None
    if s.startswith("+"):
        s = s[1:]
    try:
        if _DEC_RE.match(s):
            value, ulp = _dec(s)
            return Number(value, ulp is not None and value.denominator != 1, ulp)
        m = _SCI_E_RE.match(s) or _SCI_TIMES_RE.match(s)
        if m:
            exp = int(m.group(2).replace(" ", ""))
            if abs(exp) > _MAX_SCI_EXPONENT:
                return None
            mant, ulp = _dec(m.group(1))
            return Number(mant * Fraction(10) ** exp, True, (ulp or 0) + exp)
        m = _POW10_RE.match(s)
        if m:
            exp = int(m.group(2).replace(" ", ""))
            if abs(exp) > _MAX_SCI_EXPONENT:
                return None
            sign = -1 if m.group(1) == "-" else 1
            return Number(sign * Fraction(10) ** exp, False, None)
        m = _FRAC_RE.match(s)
        if m:
            num, _ = _dec(m.group(2))
            den, _ = _dec(m.group(3))
            if den == 0:
                return None
            sign = -1 if m.group(1) == "-" else 1
            return Number(sign * num / den, False, None)
        m = _SLASH_RE.match(s)
        if m:
            num, _ = _dec(m.group(1))
            den, _ = _dec(m.group(2))
            if den == 0:
                return None
            return Number(num / den, False, None)
        m = _MIXED_RE.match(s)
        if m:
            whole = int(m.group(1))
            frac = Fraction(int(m.group(2)), int(m.group(3)) or 1)
            if frac >= 1 or int(m.group(3)) == 0:
                return None
            sign = -1 if m.group(1).startswith("-") else 1
            return Number(whole + sign * frac, False, None)
        m = _REPEAT_RE.match(s)
        if m:
            sign = -1 if m.group(1) == "-" else 1
            whole = int(m.group(2) or "0")
            fixed, rep = m.group(3), m.group(4)
            fixed_val = Fraction(int(fixed), 10 ** len(fixed)) if fixed else Fraction(0)
            rep_val = Fraction(int(rep), (10 ** len(rep) - 1) * 10 ** len(fixed))
            return Number(sign * (whole + fixed_val + rep_val), False, None)
    except (ValueError, ZeroDivisionError):
        return None
    return None
