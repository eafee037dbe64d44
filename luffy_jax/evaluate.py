"""Evaluation CLI (spec 5.1): a trained run or a Hugging Face checkpoint on benchmark files.
The work is done by :func:`luffy_jax.evaluation.evaluate_policy`.

    python -m luffy_jax.evaluate --hf_model=DIR | --checkpoint=WORKDIR \\
        --files=../shared/data/luffy_eval/valid.all.parquet --out=DIR [--temperature=0.6]
        [--max_new_tokens=8192] [--grader=boxed] [--remove_system] [--max_examples=N]

``--files`` takes parquet/JSONL paths and ``tfds:NAME@DATA_DIR`` datasets, comma-separated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import jax

from luffy_jax.evaluation import evaluate_policy, write_report


def main(argv: Sequence[str]) -> None:
    del argv
    import transformers
    from absl import flags, logging

    from luffy_jax.data import read_sources
    from luffy_jax.models import load_hf_checkpoint
    from luffy_jax.trainer.checkpoint import load_trained_policy

    f = flags.FLAGS
    if bool(f.hf_model) == bool(f.checkpoint):
        raise flags.ValidationError("give exactly one of --hf_model or --checkpoint")
    if f.checkpoint:
        model_config, params, tok_path = load_trained_policy(f.checkpoint)
    else:
        model_config, params = load_hf_checkpoint(f.hf_model, dtype=f.dtype)
        tok_path = f.hf_model
    tokenizer = transformers.AutoTokenizer.from_pretrained(f.tokenizer or tok_path)
    examples = read_sources(f.files)
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
        long_prompts=f.long_prompts,
        generation_config_dirs=(f.hf_model or tok_path, tok_path),
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
    flags.DEFINE_integer(
        "max_prompt_length", 1024, "Prompts longer than this are counted per benchmark."
    )
    flags.DEFINE_enum(
        "long_prompts",
        "keep",
        ["keep", "skip"],
        "keep: evaluate prompts over --max_prompt_length (the official script); skip: drop them.",
    )
    flags.DEFINE_enum(
        "grader",
        "boxed",
        ["boxed", "math", "math_verify"],
        "boxed: strict final grader; math: reward v3 (our judge); math_verify: v3, official judge.",
    )
    flags.DEFINE_bool("remove_system", True, "Drop the system message (the final evaluation does).")
    flags.DEFINE_string("dtype", "bfloat16", "Parameter dtype for --hf_model.")
    flags.DEFINE_integer("max_examples", 0, "Evaluate only the first N rows (0 = all).")
    flags.DEFINE_integer("seed", 0, "Sampling seed.")


if __name__ == "__main__":
    from absl import app

    _define_flags()
    app.run(main)
