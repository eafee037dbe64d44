"""Pretraining the base policy and measuring accuracy on the synthetic splits."""

from __future__ import annotations

import os
from typing import Any

import jax
import transformers

from luffy_jax.data import read_examples
from luffy_jax.evaluation import evaluate_policy
from luffy_jax.models import load_hf_checkpoint, save_hf_checkpoint
from luffy_jax.synthetic.setup import Files, Scale, run_config
from luffy_jax.trainer import load_trained_policy, run_training


def pretrain_base(files: Files, scale: Scale, seed: int = 0) -> str:
    """Brief next-token training on ``files.pretrain`` (see ``Scale.pretrain_traces``); writes
    ``files.base_model``."""
    workdir = os.path.join(files.root, "runs", "pretrain")
    if not os.path.isfile(os.path.join(files.base_model, "model.safetensors")):
        run_training(run_config(files, "pretrain", scale=scale, seed=seed), workdir)
        config, params, _ = load_trained_policy(workdir)
        save_hf_checkpoint(params, config, files.base_model, tokenizer_dir=files.tokenizer)
    return files.base_model


def accuracy(
    files: Files,
    *,
    workdir: str | None = None,
    hf_model: str | None = None,
    seed: int = 0,
    temperature: float = 0.6,
) -> dict[str, Any]:
    """In- and out-of-distribution accuracy (strict boxed grader) of a run or an HF checkpoint."""
    if workdir is not None:
        config, params, _ = load_trained_policy(workdir)
    else:
        config, params = load_hf_checkpoint(hf_model, dtype="float32")
    tok = transformers.AutoTokenizer.from_pretrained(files.tokenizer)
    out = {}
    for name, path in (("id", files.eval_id), ("ood", files.eval_ood)):
        examples = list(read_examples(path, system_prompt=None))
        res = evaluate_policy(
            params,
            config,
            tok,
            examples,
            key=jax.random.key(1000 + seed),
            temperature=temperature,
            max_new_tokens=64,
            max_prompt_length=48,
            grader="boxed",
            reward_workers=2,
        )
        out[name] = res["accuracy"]
        out[f"{name}_samples"] = res["samples"][:3]
    return out
