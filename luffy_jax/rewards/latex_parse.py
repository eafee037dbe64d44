"""A small, fast recursive-descent parser from normalised LaTeX to a sympy expression.

Why not only ``latex2sympy2_extended``: its ANTLR parser spends 10-300 ms on a 40-character
expression the first time it meets a construction (full-context prediction), which made the
hard symbolic cases the judge's slow tail. This parser covers the scalar subset that answers use
and costs well under a millisecond; anything outside it raises :class:`Unsupported` and the caller
may still try ``latex2sympy`` under its size limits (``symbolic.to_sympy``).

Input is one scalar answer already put through ``normalize.normalize_answer`` (``\\dfrac`` ->
``\\frac``, ``\\left``/``\\right`` and spacing gone, ``\\frac12`` -> ``\\frac{1}{2}``).
Grammar and readings (the same as latex2sympy's where both read a construction):

* ``+``/``-`` sums; products by ``\\cdot``, ``\\times``, ``*``, ``/``, ``\\div`` and by
  juxtaposition, which binds tighter than the explicit operators (``1/2x`` is ``1/(2x)``, as in
  latex2sympy); ``a^b`` right-associative, ``^`` taking a braced group or one token.
* numbers are exact rationals (``0.5`` is ``1/2``); an integer written right before a numeric
  ``\\frac`` is a mixed number (``3\\frac{1}{2}`` = 7/2); two numbers side by side are refused.
* letters are one-letter symbols (``mgh`` = m*g*h) with subscripts (``v_0``, ``m_{max}``),
  primes (``x'``, ``x^{\\prime}``) and accents (``\\dot{x}_0``) in their names; Greek macros are
  symbols (``\\varepsilon`` = ``\\epsilon``); ``e`` is Euler's number, ``i`` the
  imaginary unit, ``\\pi``, ``\\infty``; four or more letters in a row are text, not a product.
* ``\\frac``, ``\\sqrt``, ``\\sqrt[n]`` (real odd roots of negative numbers), ``\\binom``,
  ``n!``, ``|x|``, ``\\lfloor``/``\\lceil``, and the functions ``\\sin`` ... ``\\arctan``,
  ``\\sinh`` ..., ``\\ln``, ``\\log`` and ``\\lg`` (base 10, as in latex2sympy), ``\\log_b``,
  ``\\exp``;
  ``\\sin^2 x`` is ``sin(x)**2``, ``\\sin^{-1} x`` is ``asin(x)``; an argument without
  parentheses runs over the juxtaposed factors that follow (``\\sin 2x`` = ``sin(2x)``,
  ``\\sin x \\cos x`` = ``sin(x)*cos(x)``).

Sizes are bounded while building, so no construction can take long: integer powers whose result
would exceed ``MAX_RESULT_BITS`` bits, factorials above ``guards.MAX_FACTORIAL`` and binomials
with a large lower index are refused.
"""

from __future__ import annotations

import functools
import re

from luffy_jax.rewards import guards

MAX_RESULT_BITS = 20_000
_MAX_BINOM_K = 200


class Unsupported(ValueError):
    """The text is outside the subset this parser reads (not necessarily invalid LaTeX)."""


_GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Sigma", "Upsilon", "Phi", "Psi", "Omega", "hbar",
    "ell",
}  # fmt: skip
_GREEK_ALIASES = {"varepsilon": "epsilon", "vartheta": "theta", "varphi": "phi", "varrho": "rho",
                  "varsigma": "sigma", "varpi": "pi"}  # fmt: skip
_FUNCTIONS = {
    "sin", "cos", "tan", "cot", "sec", "csc", "arcsin", "arccos", "arctan", "arccot", "sinh",
    "cosh", "tanh", "coth", "ln", "log", "lg", "exp",
}  # fmt: skip
_WORD_RE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{4,}")
_DECORATIONS = {"dot", "ddot", "bar", "hat", "vec", "tilde", "check", "breve"}
_IGNORED_MACROS = {"mathstrut", "displaystyle", "limits", "nolimits"}
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?|\.\d+)|\\(?P<macro>[a-zA-Z]+)|\\(?P<esc>[{}|,;!])|(?P<ch>\S))"
)


@functools.lru_cache(maxsize=1)
def _sympy():
    import sympy

    return sympy


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens = []
    pos, n = 0, len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:  # only trailing whitespace is left
            break
        pos = m.end()
        if m.group("num") is not None:
            tokens.append(("num", m.group("num")))
        elif m.group("macro") is not None:
            name = m.group("macro")
            if name in _IGNORED_MACROS:
                continue
            tokens.append(("macro", name))
        elif m.group("esc") is not None:
            esc = m.group("esc")
            if esc in ",;!":
                continue  # spacing
            tokens.append(("ch", "|" if esc == "|" else esc))
        else:
            tokens.append(("ch", m.group("ch")))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.sp = _sympy()
        self.tokens = _tokenize(text)
        self.pos = 0
        self.abs_depth = 0

    # ------------------------------------------------------------------ helpers
    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        i = self.pos + offset
        return self.tokens[i] if i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise Unsupported("unexpected end")
        self.pos += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok != ("ch", value):
            raise Unsupported(f"expected {value!r}, got {tok[1]!r}")

    def at(self, value: str) -> bool:
        return self.peek() == ("ch", value)

    def at_macro(self, *names: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "macro" and tok[1] in names

    # ------------------------------------------------------------------ grammar
    def parse(self):
        expr = self.expr()
        if self.peek() is not None:
            raise Unsupported(f"unexpected {self.peek()[1]!r}")
        return expr

    def expr(self):
        sp = self.sp
        terms = [self.term()]
        while True:
            if self.at("+"):
                self.take()
                terms.append(self.term())
            elif self.at("-"):
                self.take()
                terms.append(-self.term())
            else:
                return sp.Add(*terms)

    def term(self):
        value = self.product()
        while True:
            if self.at("*") or self.at_macro("cdot", "times"):
                self.take()
                value = value * self.product()
            elif self.at("/") or self.at_macro("div"):
                self.take()
                denominator = self.product()
                if denominator == 0:
                    raise Unsupported("division by zero")
                value = value / denominator
            else:
                return value

    def starts_factor(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        kind, value = tok
        if kind == "num":
            return True
        if kind == "macro":
            return value not in ("cdot", "times", "div", "pm", "mp", "right", "rfloor", "rceil")
        if value == "|":
            return self.abs_depth == 0
        return value.isalpha() or value in "({["

    def product(self):
        """Juxtaposed factors (implicit multiplication), with a leading sign."""
        if self.at("-"):
            self.take()
            return -self.product()
        if self.at("+"):
            self.take()
            return self.product()
        factors = [self.power()]
        while self.starts_factor():
            if self.peek()[0] == "num" and self._last_is_number(factors):
                raise Unsupported("two numbers side by side")
            factors.append(self.power())
        return self.sp.Mul(*factors)

    def _last_is_number(self, factors) -> bool:
        prev = self.tokens[self.pos - 1] if self.pos else None
        return prev is not None and prev[0] == "num" and factors[-1].is_Number

    def power(self):
        base = self.postfix(self.atom())
        if self.at("^"):
            self.take()
            exponent = self.exponent()
            return self.pow(base, exponent)
        return base

    def exponent(self):
        if self.at("{"):
            return self.group()
        if self.at("-"):
            self.take()
            return -self.exponent()
        return self.postfix(self.atom())

    def postfix(self, value):
        sp = self.sp
        while self.at("!"):
            self.take()
            if not (value.is_Integer and 0 <= value <= guards.MAX_FACTORIAL):
                raise Unsupported("factorial of a large or non-integer value")
            value = sp.factorial(value)
        return value

    def pow(self, base, exponent):
        sp = self.sp
        if base == sp.E:
            return sp.exp(exponent)
        if exponent.is_Integer and base.is_Rational and base not in (0, 1, -1):
            size = abs(int(exponent)) * max(abs(base.p).bit_length(), abs(base.q).bit_length())
            if size > MAX_RESULT_BITS:
                raise Unsupported("power too large")
        if exponent.is_Number and abs(exponent) > guards.MAX_EXPONENT:
            raise Unsupported("exponent too large")
        if base == 0 and exponent.is_Number and exponent <= 0:
            raise Unsupported("0 to a non-positive power")
        return sp.Pow(base, exponent)

    def group_text(self) -> str:
        """The raw tokens of a braced group (one level), joined."""
        self.expect("{")
        parts = []
        while not self.at("}"):
            kind, value = self.take()
            if kind == "ch" and value == "{":
                raise Unsupported("nested group")
            parts.append("\\" + value if kind == "macro" else value)
        self.take()
        return "".join(parts)

    def group(self):
        self.expect("{")
        value = self.expr()
        self.expect("}")
        return value

    def atom(self):
        sp = self.sp
        kind, value = self.take()
        if kind == "num":
            number = sp.Rational(value.rstrip(".") if value.endswith(".") else value)
            if value.isdigit() and self.at_macro("frac"):
                mixed = self._mixed_fraction()
                if mixed is not None:
                    return number + mixed if number >= 0 else number - mixed
            return number
        if kind == "macro":
            return self.macro(value)
        if value == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if value == "[":
            inner = self.expr()
            self.expect("]")
            return inner
        if value == "{":
            inner = self.expr()
            self.expect("}")
            return inner
        if value == "|":
            self.abs_depth += 1
            inner = self.expr()
            self.abs_depth -= 1
            self.expect("|")
            return sp.Abs(inner)
        if value.isalpha() and value.isascii():
            return self.letter(value)
        raise Unsupported(f"unexpected {value!r}")

    def _mixed_fraction(self):
        """``\\frac{p}{q}`` with integer p < q right after an integer: the fraction part."""
        toks = self.tokens[self.pos : self.pos + 8]
        pattern = [
            ("macro", "frac"),
            ("ch", "{"),
            None,
            ("ch", "}"),
            ("ch", "{"),
            None,
            ("ch", "}"),
        ]
        if len(toks) < 7:
            return None
        for tok, want in zip(toks, pattern):
            if want is None:
                if tok[0] != "num" or not tok[1].isdigit():
                    return None
            elif tok != want:
                return None
        num, den = int(toks[2][1]), int(toks[5][1])
        if den == 0 or num >= den:
            return None
        self.pos += 7
        return self.sp.Rational(num, den)

    def letter(self, first: str):
        sp = self.sp
        if first == "e" and not self.at("_") and not self.at("'"):
            return sp.E
        if first == "i" and not self.at("_") and not self.at("'"):
            return sp.I
        return sp.Symbol(first + self.subscript() + self.primes())

    def primes(self) -> str:
        """``x'`` / ``x''``: derivative marks are part of the name."""
        marks = ""
        while self.at("'"):
            self.take()
            marks += "'"
        return marks

    def subscript(self) -> str:
        if not self.at("_"):
            return ""
        self.take()
        if self.at("{"):
            self.take()
            parts = []
            while not self.at("}"):
                kind, value = self.take()
                if kind == "ch" and value in "{}":
                    raise Unsupported("nested subscript")
                parts.append(value)
            self.take()
            name = "".join(parts).replace(" ", "")
        else:
            name = self.take()[1]
        if not name or not re.fullmatch(r"[A-Za-z0-9,]+", name):
            raise Unsupported("subscript")
        return "_" + name

    def macro(self, name: str):
        sp = self.sp
        if name == "frac":
            num = self.group()
            den = self.group()
            if den == 0:
                raise Unsupported("division by zero")
            return num / den
        if name == "sqrt":
            index = None
            if self.at("["):
                self.take()
                index = self.expr()
                self.expect("]")
            radicand = self.group() if self.at("{") else self.postfix(self.atom())
            if index is None:
                return sp.sqrt(radicand)
            if not (index.is_Integer and 2 <= index <= 100):
                raise Unsupported("root index")
            if radicand.is_Number and radicand < 0 and index % 2 == 1:
                return -sp.root(-radicand, index)
            return sp.root(radicand, index)
        if name == "binom":
            n, k = self.group(), self.group()
            if k.is_Integer and (
                k > _MAX_BINOM_K or (n.is_Integer and n - k > _MAX_BINOM_K and k > 10)
            ):
                raise Unsupported("large binomial")
            if not k.is_Integer:
                raise Unsupported("binomial with a symbolic lower index")
            return sp.expand_func(sp.binomial(n, k))
        if name == "pi":
            return sp.pi
        if name == "infty":
            return sp.oo
        if name in ("lfloor", "lceil"):
            inner = self.expr()
            closer = "rfloor" if name == "lfloor" else "rceil"
            if self.take() != ("macro", closer):
                raise Unsupported("unclosed floor/ceiling")
            return sp.floor(inner) if name == "lfloor" else sp.ceiling(inner)
        if name in _FUNCTIONS:
            return self.function(name)
        if name in _DECORATIONS:
            inner = self.group_text()
            if not re.fullmatch(r"\\?[A-Za-z]+", inner):
                raise Unsupported(f"\\{name} of {inner!r}")
            return sp.Symbol(f"{name}({inner.lstrip(chr(92))})" + self.subscript() + self.primes())
        if name in _GREEK_ALIASES:
            name = _GREEK_ALIASES[name]
        if name in _GREEK:
            return sp.Symbol(name + self.subscript())
        raise Unsupported(f"\\{name}")

    def function(self, name: str):
        sp = self.sp
        base = None
        if name == "log" and self.at("_"):
            self.take()
            base = self.group() if self.at("{") else self.postfix(self.atom())
        power = None
        if self.at("^"):
            self.take()
            power = self.exponent()
        if self.at("("):
            self.take()
            arg = self.expr()
            self.expect(")")
        else:
            arg = self.function_argument()
        inverse = {"sin": "asin", "cos": "acos", "tan": "atan"}
        if power == -1 and name in inverse:
            name, power = inverse[name], None
        if name == "ln":
            value = sp.log(arg)
        elif name in ("log", "lg"):
            value = sp.log(arg) / sp.log(base if base is not None else 10)
        elif name == "exp":
            value = sp.exp(arg)
        else:
            value = getattr(sp, {"arcsin": "asin", "arccos": "acos", "arctan": "atan",
                                 "arccot": "acot"}.get(name, name))(arg)  # fmt: skip
        return self.pow(value, power) if power is not None else value

    def function_argument(self):
        """Juxtaposed factors up to an operator or the next function (``\\sin 2x \\cos x``)."""
        factors = [self.power()]
        while self.starts_factor() and not (
            self.peek()[0] == "macro" and self.peek()[1] in _FUNCTIONS
        ):
            factors.append(self.power())
        return self.sp.Mul(*factors)


def parse_latex(text: str):
    """The sympy expression for ``text``; raises :class:`Unsupported` outside the subset."""
    result = _parse_cached(text)
    if isinstance(result, Unsupported):
        raise result
    return result


_PRIME_RE = re.compile(r"\^\s*\{?\s*\\prime\s*\}?")


@functools.lru_cache(maxsize=8192)
def _parse_cached(text: str):
    if len(text) > guards.MAX_ANSWER_CHARS:
        return Unsupported("too long")
    if _WORD_RE.search(text):
        return Unsupported("a word")  # four letters in a row are text, not a product
    try:
        return _Parser(_PRIME_RE.sub("'", text)).parse()
    except Unsupported as exc:
        return exc
    except (RecursionError, ZeroDivisionError, OverflowError, MemoryError) as exc:
        return Unsupported(type(exc).__name__)
    except (TypeError, ValueError, AttributeError) as exc:  # sympy refusing an operation
        return Unsupported(f"{type(exc).__name__}: {exc}")


__all__ = ["MAX_RESULT_BITS", "Unsupported", "parse_latex"]
