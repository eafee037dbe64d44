"""Answer extraction from a model response.

Rules, in priority order (the first that yields something wins):

1. **Boxed**: the last ``\\boxed{...}`` / ``\\fbox{...}`` (also ``\\boxed 5``). Boxes written
   right before it and joined to it only by a short connector (``or``, ``and``, a comma,
   ``$``, ``x =``) form one answer *list* with it: ``\\boxed{2} or \\boxed{-2}`` becomes
   ``2, -2``, which is then judged as a list (so it is wrong for a single-value gold -- a hedge
   -- and right for the gold ``\\pm 2``). Boxes separated by real text are not joined: after a
   self-correction only the last box counts.
2. **Answer phrase**: the last ``answer is ...`` / ``answer: ...`` / ``ANSWER: C`` /
   ``Final Answer: ...`` in the text; the answer runs to the end of its sentence or line.
3. **Final expression**: on the last non-empty line, the last math span (``$...$``,
   ``\\(...\\)``, ``\\[...\\]``) or a trailing ``= value``; for a span with ``=`` the part
   after the last ``=``. A text that never states an answer gives ``None`` -- there is no
   "last number anywhere" fallback. A text that is only a short expression (``"3"``, at most
   80 characters, one line, no words) is its own answer.
4. **Concluding sentence**: the last sentence opening with ``Therefore``/``Thus``/``Hence``/
   ``So``/``In conclusion``/``Finally`` near the end; its value after the last ``is``/``=``
   (``Therefore, Hillary has 7 nickels.`` -> ``7``).

Braces are matched with one O(n) pass (:func:`match_braces`), so thousands of boxes or 100k-deep
braces cost linear time.
"""

from __future__ import annotations

import re

from luffy_jax.rewards.units import parse_unit

THINK_CLOSE = "</think>"
SPECIAL_TOKEN_RE = re.compile(r"<\|[a-z_]+\|>")
_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*")
_CONNECTOR_RE = re.compile(
    r"^[\s,;$.]*(?:(?:\\text\{\s*)?(?:or|and)(?:\s*\})?|,|;)?[\s,;$]*(?:[a-zA-Z]\s*=\s*)?[\s$]*$"
)
_ANSWER_PHRASE_RE = re.compile(
    r"(?:final\s+answer|answer|correct\s+(?:option|choice)|the\s+(?:option|choice))"
    r"\s*(?:\*\*)?\s*(?:is|:|=)\s*(?:[:]\s*)?",
    re.IGNORECASE,
)
_SENTENCE_END_RE = re.compile(r"\.(?=\s|$)|\n")
_MATH_SPAN_RE = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_MAX_BOX_JOIN = 8


def split_after_think(text: str) -> str | None:
    """The text after the first ``</think>`` up to a second one; None when there is none."""
    head, sep, tail = text.partition(THINK_CLOSE)
    if not sep:
        return None
    return tail.split(THINK_CLOSE, 1)[0]


def match_braces(text: str) -> dict[int, int]:
    """Map the index of every ``{`` that is closed to the index of its ``}`` (one linear pass)."""
    stack: list[int] = []
    pairs: dict[int, int] = {}
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "{}":
            i += 2
            continue
        if ch == "{":
            stack.append(i)
        elif ch == "}" and stack:
            pairs[stack.pop()] = i
        i += 1
    return pairs


def find_boxes(text: str) -> list[tuple[int, int, str]]:
    """All complete boxes as ``(start, end, content)``, in order; ``end`` is exclusive."""
    if "\\boxed" not in text and "\\fbox" not in text:
        return []
    pairs = match_braces(text)
    boxes = []
    for m in _BOX_RE.finditer(text):
        j = m.end()
        if j < len(text) and text[j] == "{":
            close = pairs.get(j)
            if close is None:
                continue
            boxes.append((m.start(), close + 1, text[j + 1 : close]))
        elif m.group(0) != m.group(0).rstrip():
            tail = re.match(r"[^\s$\\{}]+", text[j:])
            if tail:
                boxes.append((m.start(), j + tail.end(), tail.group(0)))
    return boxes


def last_boxed(text: str) -> str | None:
    """Content of the last box in ``text`` with adjacent boxes joined as a list (see module)."""
    boxes = find_boxes(text)
    if not boxes:
        return None
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        if len(group) >= _MAX_BOX_JOIN:
            break
        between = text[box[1] : group[0][0]]
        if len(between) > 40 or not _CONNECTOR_RE.match(between):
            break
        group.insert(0, box)
    if len(group) == 1:
        return group[0][2]
    contents = [c for _, _, c in group]
    if len(set(c.strip() for c in contents)) == 1:
        return contents[-1]
    return ", ".join(contents)


def _sentence(text: str) -> str:
    end = _SENTENCE_END_RE.search(text)
    return text[: end.start()] if end else text


def answer_phrase(text: str) -> str | None:
    """The answer stated by the last ``answer is/:`` phrase, or None."""
    last = None
    for m in _ANSWER_PHRASE_RE.finditer(text):
        last = m
    if last is None:
        return None
    rest = text[last.end() :].lstrip(" \t*:")
    span = _MATH_SPAN_RE.match(rest)
    if span:
        candidate = next(g for g in span.groups() if g is not None)
    else:
        candidate = _sentence(rest)
    candidate = candidate.strip().strip("*").strip().rstrip(".").strip()
    return candidate or None


def final_expression(text: str) -> str | None:
    """The math stated on the last non-empty line (see module rule 3), or None."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return None
    last_line = lines[-1].strip()
    # a display block closing on its own line belongs to the lines before it
    if last_line in ("\\]", "$$") and len(lines) >= 2:
        block = []
        for ln in reversed(lines[:-1]):
            if ln.strip() in ("\\[", "$$"):
                break
            block.insert(0, ln)
        last_line = "\\[" + " ".join(block) + "\\]"
    matches = list(_MATH_SPAN_RE.finditer(last_line))
    if matches:
        candidate = next(g for g in matches[-1].groups() if g is not None)
        # "The remainder when $2^{10}$ is divided by 7 is 2.": the value follows the span
        after = _value_after_copula(last_line[matches[-1].end() :])
        if after is not None:
            return after
    else:
        m = re.search(r"=\s*([^=]+?)\s*\.?\s*$", last_line)
        if not m:
            return None
        candidate = m.group(1)
    if "=" in candidate and not re.search(r"\\[lg]eq?|<|>", candidate):
        candidate = candidate.rsplit("=", 1)[1]
    candidate = candidate.strip().rstrip(".,").strip()
    return candidate or None


def extract_answer(text: str) -> str | None:
    """The answer stated in ``text`` by the rules in the module docstring, or None."""
    text = SPECIAL_TOKEN_RE.sub("", text)
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    phrase = answer_phrase(text)
    if phrase is not None:
        return phrase
    headed = headed_answer(text)
    if headed is not None:
        return headed
    final = final_expression(text)
    if final is not None:
        return final
    concluded = concluding_statement(text)
    if concluded is not None:
        return concluded
    stated = stated_value(text)
    if stated is not None:
        return stated
    return bare_answer(text)


_HEADING_RE = re.compile(r"^[\s#*_:>-]*(?:final\s+answer|answer)[\s*_:.]*$", re.IGNORECASE)
_BARE_LINE_RE = re.compile(r"^[\s*]*(?:\$+|\\\(|\\\[)?\s*(.+?)\s*(?:\$+|\\\)|\\\])?[\s*.]*$")


def headed_answer(text: str) -> str | None:
    """A short last line right under an answer heading (``**Final Answer**`` / ``Answer:``)."""
    lines = [ln for ln in text.strip().splitlines()[-3:] if ln.strip()]
    if len(lines) < 2 or not _HEADING_RE.match(lines[-2]):
        return None
    m = _BARE_LINE_RE.match(lines[-1])
    if not m or len(m.group(1)) > 80:
        return None
    candidate = m.group(1).strip()
    if re.search(r"(?<!\\)\b[a-zA-Z]{4,}", candidate):
        return None  # a sentence, not an answer
    return candidate or None


_COPULA_RE = re.compile(r"\b(?:is|are|equals|was|be|takes|costs|weighs)\b|=")
_LAST_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+|\n")


def stated_value(text: str, window: int = 400) -> str | None:
    """The value stated by the text's last sentence, ``The probability is 0.75.`` -> ``0.75``:
    the math span, or the only number (with up to three unit words), after its last
    ``is``/``are``/``equals``/``=``/``takes``/``costs``/``weighs``."""
    tail = text.strip()[-window:]
    sentences = [s for s in _LAST_SENTENCE_SPLIT_RE.split(tail) if s.strip()]
    if not sentences or len(sentences[-1]) > 200:
        return None
    parts = _COPULA_RE.split(sentences[-1])
    if len(parts) < 2:
        return _lone_quantity(sentences[-1])
    after = parts[-1]
    span = _MATH_SPAN_RE.search(after)
    if span:
        return next(g for g in span.groups() if g is not None).strip()
    return _plain_value(after)


_HEDGE_RE = re.compile(r"^\s*(?:,|;|or\b|and\b|to\b|-|/)\s*-?\$?\d")


def _plain_value(text: str) -> str | None:
    """The first number (with up to three unit words) in ``text``, unless a second one is
    offered as an alternative right after it (``5 or 6``, ``5, 6``: a hedge or a list)."""
    number = VALUE_WITH_UNIT_RE.search(text)
    if number is None or _HEDGE_RE.match(text[number.end() :]):
        return None
    return number.group(0).strip()


def _value_after_copula(text: str) -> str | None:
    """The plain value after the last ``is``/``=`` in ``text`` (no math span), or None."""
    parts = _COPULA_RE.split(text)
    if len(parts) < 2 or _MATH_SPAN_RE.search(parts[-1]):
        return None
    return _plain_value(parts[-1])


def _lone_quantity(sentence: str) -> str | None:
    """A sentence's only number when a known physical unit follows it
    (``The train travels at 80 km/h.``); counts of things (``42 more steps``) do not count."""
    numbers = list(VALUE_WITH_UNIT_RE.finditer(sentence))
    if len(numbers) != 1 or _MATH_SPAN_RE.search(sentence):
        return None
    value = numbers[0].group(0).strip()
    head = _NUMBER_TOKEN_RE.match(value)
    words = value[head.end() :].strip() if head else ""
    if not words:
        return None
    unit = parse_unit(words.split()[0]) or parse_unit(words)
    if unit is None or unit.ignored or unit.dimensionless:
        return None
    return value


_CONCLUSION_RE = re.compile(
    r"(?:^|(?<=[.!?\n]))\s*(?:\*\*)?(?:therefore|thus|hence|so|in conclusion|in summary|finally|"
    r"consequently)\b[^.!?\n]*(?:[.!?](?=\s|$)|\n|$)",
    re.IGNORECASE,
)
_NUMBER_TOKEN_RE = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:\s*/\s*\d+)?")
VALUE_WITH_UNIT_RE = re.compile(
    r"-?\d+(?:,\d{3})*(?:\.\d+)?(?:\s*/\s*\d+)?"
    r"(?:[ \t]+(?!(?:and|or|but|so|which|because|since|if|when|not)\b)"
    r"[A-Za-z]+(?:\^\{?-?\d\}?)?(?:/[A-Za-z]+(?:\^\{?-?\d\}?)?)?){0,3}"
)


def concluding_statement(text: str, window: int = 600) -> str | None:
    """The value stated by the last concluding sentence (``Therefore, ... is 7 nickels.``).

    Only sentences that start with a conclusion word (therefore, thus, hence, so, in
    conclusion, finally) in the last ``window`` characters count; the value is the math span
    or number after the sentence's last ``is``/``=``/``be``/``has``/``get``; a sentence without
    such a verb gives None (no "last number" guessing), except a sentence opening with
    therefore/thus/hence/in conclusion that holds exactly one number.
    """
    tail = text[-window:]
    last = None
    for m in _CONCLUSION_RE.finditer(tail):
        last = m
    if last is None:
        return None
    sentence = last.group(0)
    split = re.split(r"\b(?:is|are|equals|be|was|has|have|gives|get)\b|=", sentence)
    after = split[-1] if len(split) > 1 else None
    if after is not None:
        span = _MATH_SPAN_RE.search(after)
        if span:
            return next(g for g in span.groups() if g is not None).strip()
        number = VALUE_WITH_UNIT_RE.search(after)
        if number:
            return number.group(0).strip()
    # a strong conclusion ("Therefore, it will take 4 beakers.") stating exactly one number
    if re.match(r"\s*(?:\*\*)?(?:therefore|thus|hence|in conclusion)\b", sentence, re.IGNORECASE):
        if not _MATH_SPAN_RE.search(sentence):
            numbers = _NUMBER_TOKEN_RE.findall(sentence)
            if len(numbers) == 1:
                return numbers[0]
    return None


def bare_answer(text: str) -> str | None:
    """The whole text when it is nothing but a short math expression (``"3"``, ``" -\\frac12"``)."""
    stripped = text.strip().rstrip(".").strip()
    if not stripped or len(stripped) > 80 or "\n" in stripped:
        return None
    if re.search(r"(?<!\\)\b[a-zA-Z]{4,}", stripped):
        return None
    return stripped
