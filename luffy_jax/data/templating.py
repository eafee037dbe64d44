"""Prompt rendering with the tokenizer's own chat template, and LUFFY's ``<think>`` rules.

- Training and in-training validation: ``[system, user]`` messages rendered with
  ``apply_chat_template(..., add_generation_prompt=True)``; LUFFY's 16k-think template ends the
  generation prompt with ``<think>\\n``; :func:`render_prompt` appends it when the tokenizer's own
  template does not (``add_think=True``, the default), so any Qwen/Llama tokenizer reproduces it.
- Final evaluation removes the system message (``remove_system=True``, spec 4.1).
- Traces: a leading ``<think>\\n`` is stripped when the rendered prompt already ends with it
  (spec 1.3 item 2), so it is not duplicated.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

THINK_OPEN = "<think>\n"

# Spec 4.1: exactly the system prompt stored in every row of LUFFY's data (762 characters).
LUFFY_SYSTEM_PROMPT = (
    "Your task is to follow a systematic, thorough reasoning process before providing"
    " the final solution. This involves analyzing, summarizing, exploring, reassessin"
    "g, and refining your thought process through multiple iterations. Structure your"
    " response into two sections: Thought and Solution. In the Thought section, prese"
    'nt your reasoning using the format: "<think>\n {thoughts} </think>\n". Each though'
    "t should include detailed analysis, brainstorming, verification, and refinement "
    'of ideas. After "</think>\n," in the Solution section, provide the final, logical'
    ", and accurate answer, clearly derived from the exploration in the Thought secti"
    "on. If applicable, include the answer in \\boxed{} for closed-form results like m"
    "ultiple choices or mathematical solutions."
)


def build_messages(
    problem: str, system_prompt: str | None = LUFFY_SYSTEM_PROMPT
) -> list[dict[str, str]]:
    """``[system?, user]`` chat messages for a raw problem text."""
    messages = [] if system_prompt is None else [{"role": "system", "content": system_prompt}]
    return messages + [{"role": "user", "content": problem}]


def render_prompt(
    tokenizer: Any,
    messages: Sequence[dict[str, str]],
    *,
    remove_system: bool = False,
    add_think: bool = True,
) -> str:
    """The generation prompt text for ``messages`` under ``tokenizer``'s chat template.

    Args:
      tokenizer: a ``transformers`` tokenizer with a chat template.
      messages: chat messages (dicts with ``role`` and ``content``).
      remove_system: drop a leading system message (LUFFY's final evaluation).
      add_think: make the prompt end with ``<think>\\n`` (appended if the template does not).
    """
    msgs = [dict(m) for m in messages]
    if remove_system and msgs and msgs[0].get("role") == "system":
        msgs = msgs[1:]
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError("the tokenizer has no chat template; give one (tokenizer.chat_template)")
    text = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    if add_think and not text.endswith(THINK_OPEN):
        text += THINK_OPEN
    return text


def strip_think_prefix(trace: str, rendered_prompt: str) -> str:
    """Removes a leading ``<think>\\n`` from ``trace`` if ``rendered_prompt`` ends with it."""
    if rendered_prompt.endswith(THINK_OPEN) and trace.startswith(THINK_OPEN):
        return trace[len(THINK_OPEN) :]
    return trace
