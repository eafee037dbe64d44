"""Evaluation (spec 5.1): sample once per row (benchmarks replicated k times give avg@k), grade,
report each benchmark's mean and their unweighted average, and save the samples.

Library: :func:`evaluate_policy`. CLI::

    python -m luffy_jax.evaluate --hf_model=DIR | --checkpoint=WORKDIR \
        --files=../shared/data/luffy_eval/valid.all.parquet --out=DIR [--temperature=0.6]
        [--max_new_tokens=8192] [--grader=boxed] [--remove_system] [--max_examples=N]
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from luffy_jax import rewards
from luffy_jax.data import Example, encode_examples
from luffy_jax.models import ModelConfig
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
) -> dict[str, Any]:
    """Scores a policy on ``examples`` (one sample per row).

    Returns a dict with ``scores`` (``{data_source: mean}``), ``average`` (unweighted mean over
    sources), ``accuracy`` (micro mean over rows), ``n`` rows, ``skipped`` prompts (too long) and
    ``samples`` (one dict per row: data_source, index, gold, response, correct).
    Responses are graded after ``"<think>\\n"`` is prepended when the prompt ends with it (the
    evaluation script's think handling); ``grader`` is ``"boxed"`` (strict, final evaluation) or
    ``"math"`` (the v3 training reward, in-training validation).
    """
    from collections import Counter

    stats: Counter = Counter()
    encoded = encode_examples(
        examples,
        tokenizer,
        max_prompt_length=max_prompt_length,
        remove_system=remove_system,
        add_think=add_think,
        stats=stats,
    )
    if not encoded:
        raise ValueError("no evaluation example fits max_prompt_length")
    eos = tokenizer.eos_token_id
    sc = SamplingConfig(
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        eos_ids=(eos,) if eos is not None else (),
        pad_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0,
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
    kind = "boxed" if grader == "boxed" else "math"
    scores, _ = rewards.score_batch(
        texts,
        [e.gold for e in encoded],
        kind=kind,
        timeout_s=reward_timeout_s,
        workers=reward_workers,
    )
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
    return {**summary, "skipped": int(stats.get("dropped/prompt_too_long", 0)), "samples": samples}


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


def main(argv: Sequence[str]) -> None:
    del argv
    import transformers
    from absl import flags, logging

    from luffy_jax.data import read_examples
    from luffy_jax.models import load_hf_checkpoint

    f = flags.FLAGS
    if bool(f.hf_model) == bool(f.checkpoint):
        raise flags.ValidationError("give exactly one of --hf_model or --checkpoint")
    if f.checkpoint:
        from luffy_jax.trainer.loop import load_trained_policy

        model_config, params, tok_path = load_trained_policy(f.checkpoint)
    else:
        model_config, params = load_hf_checkpoint(f.hf_model, dtype=f.dtype)
        tok_path = f.hf_model
    tokenizer = transformers.AutoTokenizer.from_pretrained(f.tokenizer or tok_path)
    examples = []
    for path in [p for p in f.files.split(",") if p]:
        examples += list(read_examples(path))
    if f.max_examples:
        examples = examples[: f.max_examples]
    result = evaluate_policy(
        params,
        model_config,
        tokenizer,
        examples,
        key=jax.random.key(f.seed),
        temperature=f.temperature,
        max_new_tokens=f.max_new_tokens,
        max_prompt_length=f.max_prompt_length,
        grader=f.grader,
        remove_system=f.remove_system,
    )
    write_report(result, f.out)
    for source, score in sorted(result["scores"].items()):
        logging.info("%s: %.4f", source, score)
    logging.info("avg acc: %.4f (%d rows; samples in %s)", result["average"], result["n"], f.out)
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}))


def _define_flags() -> None:
    from absl import flags

    flags.DEFINE_string("hf_model", "", "A Hugging Face checkpoint folder.")
    flags.DEFINE_string("checkpoint", "", "A training workdir (its latest checkpoint).")
    flags.DEFINE_string("tokenizer", "", "Tokenizer folder (default: the model's / the run's).")
    flags.DEFINE_string(
        "files", "../shared/data/luffy_eval/valid.all.parquet", "Comma-separated eval files."
    )
    flags.DEFINE_string("out", "eval_out", "Output folder (scores.json, samples.jsonl).")
    flags.DEFINE_float("temperature", 0.6, "Sampling temperature (spec 5.1: 0.6).")
    flags.DEFINE_integer("max_new_tokens", 8192, "Tokens generated per row.")
    flags.DEFINE_integer("max_prompt_length", 1024, "Longer prompts are skipped and counted.")
    flags.DEFINE_enum(
        "grader", "boxed", ["boxed", "math"], "boxed: strict final grader; math: reward v3."
    )
    flags.DEFINE_bool("remove_system", True, "Drop the system message (the final evaluation does).")
    flags.DEFINE_string("dtype", "bfloat16", "Parameter dtype for --hf_model.")
    flags.DEFINE_integer("max_examples", 0, "Evaluate only the first N rows (0 = all).")
    flags.DEFINE_integer("seed", 0, "Sampling seed.")


if __name__ == "__main__":
    from absl import app

    _define_flags()
    app.run(main)
