"""Cheap input guards that run before any sympy work, so hostile text can never hang the judge.

Every check here is a linear scan over a bounded string. The judge calls :func:`clean_text`
on whole responses and :func:`safe_for_sympy` on each candidate answer before it builds a sympy
expression; a candidate that fails the guard is still compared as a normalised *string*, it is
just never handed to sympy. The limits:

* ``MAX_RESPONSE_CHARS``: longer responses keep only their last ``MAX_RESPONSE_CHARS``
  characters (the answer is at the end; a 1 MB response costs one slice).
* ``MAX_ANSWER_CHARS``: longer answer candidates are compared as strings only.
* ``MAX_NESTING``: deeper ``{}``/``()``/``[]`` nesting is compared as strings only.
* ``MAX_DIGITS``: an integer literal with more digits is compared as a string only.
* ``MAX_EXPONENT``: ``a^b`` where ``b`` is a literal above this bound, or where the exponent
  itself holds a power (towers such as ``9^{9^{9^{9}}}``), is never evaluated.
* ``MAX_FACTORIAL``: ``n!`` with ``n`` above this bound, and any chained factorial
  (``1000!!!``, ``(5!)!``), is never evaluated.
"""

from __future__ import annotations

import re

MAX_RESPONSE_CHARS = 32_768
MAX_ANSWER_CHARS = 400
MAX_NESTING = 24
MAX_DIGITS = 200
MAX_EXPONENT = 2_000
MAX_FACTORIAL = 500

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_INT_RE = re.compile(r"\d+")
_POW_RE = re.compile(r"(\^|\*\*)\s*(\{|\()?\s*(-?\s*\d+)")
_FACT_RE = re.compile(r"(\d+)\s*!")
_CHAINED_FACT_RE = re.compile(r"!\s*!|\)\s*!|\}\s*!|\\right\)\s*!")


def clean_text(text: str) -> str:
    """Drop control characters (null bytes included) and keep the last MAX_RESPONSE_CHARS chars."""
    if not isinstance(text, str):
        raise TypeError(f"expected a response string, got {type(text).__name__}")
    if len(text) > MAX_RESPONSE_CHARS:
        text = text[-MAX_RESPONSE_CHARS:]
    return _CONTROL_RE.sub("", text)


def max_nesting(text: str) -> int:
    """Deepest nesting of ``{}``, ``()`` and ``[]`` in ``text`` (unbalanced closers ignored)."""
    depth = best = 0
    for ch in text:
        if ch in "{([":
            depth += 1
            if depth > best:
                best = depth
        elif ch in "})]" and depth > 0:
            depth -= 1
    return best


def _exponent_holds_power(text: str, start: int) -> bool:
    """True when the exponent beginning at ``text[start]`` (after ``^``) contains another power."""
    if start >= len(text):
        return False
    if text[start] != "{":
        return False
    depth = 0
    for j in range(start, min(len(text), start + MAX_ANSWER_CHARS)):
        ch = text[j]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return False
        elif ch == "^" or text.startswith("**", j) or text.startswith("\\exp", j):
            return True
    return True


def safe_for_sympy(text: str) -> bool:
    """Whether ``text`` (one normalised answer candidate) may be handed to sympy.

    False for anything long, deeply nested, with huge integer literals, huge or stacked
    exponents, or huge or chained factorials.
    """
    if len(text) > MAX_ANSWER_CHARS:
        return False
    if max_nesting(text) > MAX_NESTING:
        return False
    for match in _INT_RE.finditer(text):
        if match.end() - match.start() > MAX_DIGITS:
            return False
    for match in _POW_RE.finditer(text):
        exponent = match.group(3).replace(" ", "").lstrip("-")
        if len(exponent) > 6 or int(exponent) > MAX_EXPONENT:
            return False
    idx = text.find("^")
    while idx != -1:
        rest = text[idx + 1 :].lstrip()
        if rest.startswith("{") and _exponent_holds_power(text, len(text) - len(rest)):
            return False
        idx = text.find("^", idx + 1)
    if "**" in text and text.count("**") > 1:
        return False
    if "!" in text:
        if _CHAINED_FACT_RE.search(text):
            return False
        for match in _FACT_RE.finditer(text):
            if int(match.group(1)[-7:]) > MAX_FACTORIAL or len(match.group(1)) > 6:
                return False
    if "\\exp" in text and "^" in text:
        return False
    return True
