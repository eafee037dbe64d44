"""Tokenizing examples for rollouts, with length limits whose every drop is counted.

- A prompt is rendered (:func:`luffy_jax.data.templating.render_prompt`) and encoded as text (the
  template already holds the special tokens, so no extra BOS/EOS is added, as in the official
  dataset class). Prompts longer than ``max_prompt_length`` tokens are dropped and counted
  (``stats["dropped/prompt_too_long"]``).
- Traces have a leading ``<think>\\n`` stripped when the prompt ends with it, and are encoded
  *without* special tokens. The trainer appends EOS. A trace longer than ``max_trace_length``
  tokens is dropped (``dropped/trace_too_long``) or, with ``truncate_traces``, cut
  (``truncated/trace``); an example left without traces when traces are required is dropped
  (``dropped/no_trace_left``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from luffy_jax.data.examples import Example
from luffy_jax.data.templating import render_prompt, strip_think_prefix

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TokenizedExample:
    """An :class:`Example` ready for rollouts: int token ids (tuples) plus its metadata."""

    prompt_ids: tuple[int, ...]
    trace_ids: tuple[tuple[int, ...], ...]
    gold: str
    data_source: str
    index: int
    prompt_text: str = ""


def encode_examples(
    examples: Iterable[Example],
    tokenizer: Any,
    *,
    max_prompt_length: int,
    max_trace_length: int | None = None,
    truncate_traces: bool = False,
    require_traces: bool = False,
    remove_system: bool = False,
    add_think: bool = True,
    stats: Counter | None = None,
) -> list[TokenizedExample]:
    """Renders and tokenizes ``examples``; returns those within the limits (see module doc)."""
    stats = stats if stats is not None else Counter()
    out = []
    for ex in examples:
        text = render_prompt(tokenizer, ex.prompt, remove_system=remove_system, add_think=add_think)
        prompt_ids = tuple(tokenizer(text, add_special_tokens=False)["input_ids"])
        if len(prompt_ids) > max_prompt_length:
            stats["dropped/prompt_too_long"] += 1
            log.info(
                "dropping %s row %d: prompt has %d > %d tokens",
                ex.data_source,
                ex.row,
                len(prompt_ids),
                max_prompt_length,
            )
            continue
        traces = []
        for trace in ex.traces:
            ids = tuple(
                tokenizer(strip_think_prefix(trace, text), add_special_tokens=False)["input_ids"]
            )
            if max_trace_length is not None and len(ids) > max_trace_length:
                if truncate_traces:
                    ids = ids[:max_trace_length]
                    stats["truncated/trace"] += 1
                else:
                    stats["dropped/trace_too_long"] += 1
                    continue
            traces.append(ids)
        if require_traces and not traces:
            stats["dropped/no_trace_left"] += 1
            continue
        stats["encoded"] += 1
        out.append(
            TokenizedExample(prompt_ids, tuple(traces), ex.gold, ex.data_source, ex.index, text)
        )
    dropped = {k: v for k, v in stats.items() if k.startswith("dropped/")}
    if dropped:
        log.warning("tokenization dropped examples: %s", dropped)
    return out


def stop_and_pad_ids(
    tokenizer: Any, generation_config_dirs: Sequence[str] = ()
) -> tuple[tuple[int, ...], int]:
    """``(stop ids, pad id)`` for sampling with ``tokenizer``.

    Stop ids: the tokenizer's EOS first, then the end-of-turn ids that a ``generation_config.json``
    in any of ``generation_config_dirs`` lists as ``eos_token_id`` (an int or a list; a missing
    file is skipped), as vLLM stops on them. Pad: the tokenizer's pad token (EOS when it has
    none). Raises ``ValueError`` if the tokenizer has no EOS token or a generation config is
    unreadable.
    """
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError(
            f"the tokenizer {getattr(tokenizer, 'name_or_path', '')!r} has no eos_token"
        )
    stops = [int(eos)]
    for folder in generation_config_dirs:
        for extra in generation_config_eos_ids(folder):
            if extra not in stops:
                stops.append(extra)
    pad = tokenizer.pad_token_id
    return tuple(stops), int(eos if pad is None else pad)


def generation_config_eos_ids(folder: str) -> tuple[int, ...]:
    """The ``eos_token_id`` entries of ``folder/generation_config.json`` (empty if there is no
    such file or field); raises ``ValueError`` naming the file if it is not valid JSON or the
    field holds something other than ints."""
    if not folder:
        return ()
    path = os.path.join(folder, "generation_config.json")
    if not os.path.isfile(path):
        return ()
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f).get("eos_token_id")
    except (OSError, ValueError, AttributeError) as e:
        raise ValueError(f"{path}: not a readable generation config ({e})") from e
    values = value if isinstance(value, list) else [] if value is None else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError(f"{path}: eos_token_id must be an int or a list of ints, got {value!r}")
    return tuple(values)
