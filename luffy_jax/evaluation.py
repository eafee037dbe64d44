"""Evaluation (spec 5.1), the library part: sample once per row (benchmarks replicated k times
give avg@k), grade, report each benchmark's mean and their unweighted average, save the samples.

Used by the trainer's in-training validation and by the ``luffy_jax.evaluate`` CLI; it sits
below both and imports neither. With several processes (a mesh spanning hosts) every process
passes the same examples; the sampler runs once over all of them, each process grades its block
of the rows and every process gets all the scores.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from luffy_jax import distributed
from luffy_jax.data import Example, encode_examples, stop_and_pad_ids
from luffy_jax.models import ModelConfig
from luffy_jax.rewards import RewardConfig, score_with
from luffy_jax.sampling import SamplingConfig, generate


def evaluate_policy(
    params: Any,
    model_config: ModelConfig,
    tokenizer: Any,
    examples: Sequence[Example],
    *,
    key: jax.Array,
    temperature: float = 0.6,
    max_new_tokens: int = 8192,
    max_prompt_length: int = 1024,
    grader: str = "boxed",
    remove_system: bool = True,
    add_think: bool = True,
    top_p: float = 1.0,
    max_concurrent: int | None = None,
    reward_timeout_s: float = 5.0,
    reward_workers: int | None = None,
    mesh=None,
    long_prompts: str = "skip",
    stop_ids: Sequence[int] | None = None,
    generation_config_dirs: Sequence[str] = (),
) -> dict[str, Any]:
    """Scores a policy on ``examples`` (one sample per row).

    Prompts longer than ``max_prompt_length`` tokens are kept (``long_prompts="keep"``, what the
    official evaluation script does) or skipped (``"skip"``, what the official in-training
    validation does: its dataset drops them); either way they are counted per benchmark.
    Sampling stops on ``stop_ids`` (default: the tokenizer's EOS and the end-of-turn ids of any
    ``generation_config.json`` in ``generation_config_dirs``).

    Returns a dict with ``scores`` (``{data_source: mean}``), ``average`` (unweighted mean over
    sources), ``accuracy`` (micro mean over rows), ``n`` rows, ``skipped`` prompts (too long, not
    evaluated), ``long_prompts`` (``{data_source: prompts over max_prompt_length}``, kept or
    skipped per ``long_prompts_policy``) and ``samples`` (one dict per row: data_source, index,
    gold, response, correct).
    Responses are graded after ``"<think>\\n"`` is prepended when the prompt ends with it (the
    evaluation script's think handling); ``grader`` is ``"boxed"`` (strict, final evaluation),
    ``"math"`` (the v3 training reward, in-training validation) or ``"math_verify"`` (the same
    rule with the official judge).
    """
    if long_prompts not in ("keep", "skip"):
        raise ValueError(f"long_prompts must be 'keep' or 'skip', got {long_prompts!r}")
    stats: Counter = Counter()
    encoded = encode_examples(
        examples,
        tokenizer,
        max_prompt_length=sys.maxsize,
        remove_system=remove_system,
        add_think=add_think,
        stats=stats,
    )
    too_long = Counter(e.data_source for e in encoded if len(e.prompt_ids) > max_prompt_length)
    if long_prompts == "skip":
        encoded = [e for e in encoded if len(e.prompt_ids) <= max_prompt_length]
    if not encoded:
        raise ValueError(
            f"no evaluation example fits max_prompt_length={max_prompt_length} "
            f"({len(examples)} examples, {dict(stats)})"
        )
    default_stops, pad_id = stop_and_pad_ids(tokenizer, generation_config_dirs)
    stop_ids = tuple(stop_ids) if stop_ids is not None else default_stops
    sc = SamplingConfig(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        eos_ids=stop_ids,
        pad_id=pad_id,
        max_concurrent=max_concurrent,
    )
    out = generate(params, model_config, [e.prompt_ids for e in encoded], key, sc, mesh=mesh)
    tokens, lengths = np.asarray(out.tokens), np.asarray(out.lengths)
    texts = []
    for e, row, length in zip(encoded, tokens, lengths):
        text = tokenizer.decode(row[:length].tolist(), skip_special_tokens=False)
        if e.prompt_text.endswith("<think>\n"):
            text = "<think>\n" + text
        texts.append(text)
    reward = RewardConfig(grader, reward_timeout_s, reward_workers)
    golds = [e.gold for e in encoded]

    def grade(rows: Sequence[int]) -> list[float]:
        if not rows:
            return []
        graded, _ = score_with(reward, [texts[i] for i in rows], [golds[i] for i in rows])
        return [float(s) for s in graded]

    scores = np.asarray(distributed.split_map(grade, range(len(texts))), np.float32)
    samples = [
        {
            "data_source": e.data_source,
            "index": e.index,
            "gold": e.gold,
            "response": text,
            "correct": bool(s > 0),
        }
        for e, text, s in zip(encoded, texts, scores)
    ]
    summary = summarize([e.data_source for e in encoded], scores)
    return {
        **summary,
        "skipped": sum(too_long.values()) if long_prompts == "skip" else 0,
        "long_prompts": {source: too_long.get(source, 0) for source in summary["scores"]}
        | dict(too_long),
        "long_prompts_policy": long_prompts,
        "max_prompt_length": max_prompt_length,
        "samples": samples,
    }


def summarize(data_sources: Sequence[str], scores: Sequence[float]) -> dict[str, Any]:
    """Per-source means (avg@k when a source's rows are k replicas), their unweighted average,
    and the micro accuracy over rows."""
    per_source: dict[str, list[float]] = defaultdict(list)
    for source, score in zip(data_sources, scores):
        per_source[source].append(float(score))
    means = {k: float(np.mean(v)) for k, v in per_source.items()}
    return {
        "scores": means,
        "average": float(np.mean(list(means.values()))),
        "accuracy": float(np.mean(scores)),
        "n": len(scores),
    }


def write_report(result: dict[str, Any], out_dir: str) -> None:
    """Writes ``scores.json`` and ``samples.jsonl`` into ``out_dir``."""
    os.makedirs(out_dir, exist_ok=True)
    summary = {k: v for k, v in result.items() if k != "samples"}
    with open(os.path.join(out_dir, "scores.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    with open(os.path.join(out_dir, "samples.jsonl"), "w", encoding="utf-8") as f:
        for s in result["samples"]:
            f.write(json.dumps(s) + "\n")
