"""The two graders: LUFFY's training reward (spec 1.4, v3) and the strict boxed grader (spec 5.1).

* :func:`math_reward` -- ``"<think>\\n"`` is conceptually prepended to the response, so with
  ``require_think`` the response must contain ``</think>``; the graded text is what follows the
  first ``</think>`` (up to a second one). The answer is extracted by
  :func:`luffy_jax.rewards.extract.extract_answer` (boxed, then answer phrase, then final
  expression; boxing is not required) and judged by :func:`math_equal`. 1.0 or 0.0.
* :func:`boxed_reward` -- the last ``\\boxed{}``/``\\fbox{}`` is required (no box -> 0.0); it
  is taken from the post-``</think>`` text when the response has a ``</think>``, else from the
  whole response (the OAT grader's behaviour).
"""

from __future__ import annotations

from luffy_jax.rewards import guards
from luffy_jax.rewards.equivalence import math_equal
from luffy_jax.rewards.extract import (
    SPECIAL_TOKEN_RE,
    extract_answer,
    last_boxed,
    split_after_think,
)


def _check(response: object, gold: object) -> None:
    if not isinstance(response, str):
        raise TypeError(f"response must be a str, got {type(response).__name__}")
    if not isinstance(gold, str):
        raise TypeError(f"gold must be a str, got {type(gold).__name__}")


def math_reward(response: str, gold: str, *, require_think: bool = True) -> float:
    """LUFFY's v3 training reward for one decoded response: 1.0 if correct, else 0.0."""
    _check(response, gold)
    after = split_after_think(response)
    if after is None and require_think:
        return 0.0
    solution = guards.clean_text(after if after is not None else response)
    answer = extract_answer(solution)
    if answer is None:
        return 0.0
    return 1.0 if math_equal(answer, gold) else 0.0


def boxed_reward(response: str, gold: str) -> float:
    """Strict evaluation grader: the last boxed answer must equal the gold. 1.0 or 0.0."""
    _check(response, gold)
    after = split_after_think(response)
    text = guards.clean_text(after if after is not None else response)
    answer = last_boxed(SPECIAL_TOKEN_RE.sub("", text))
    if answer is None:
        return 0.0
    gold_boxed = last_boxed(gold)
    return 1.0 if math_equal(answer, gold_boxed if gold_boxed is not None else gold) else 0.0
