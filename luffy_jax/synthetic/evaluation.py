"""Pretraining the base policy and measuring it on the synthetic splits."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
import transformers

from luffy_jax.data import read_examples
from luffy_jax.evaluation import evaluate_policy
from luffy_jax.models import load_hf_checkpoint, save_hf_checkpoint
from luffy_jax.synthetic.files import Files
from luffy_jax.synthetic.preset import Scale, run_config
from luffy_jax.synthetic.task import is_worked_fully
from luffy_jax.trainer import load_trained_policy, read_metrics, run_training

SPLITS = {"id": "eval_id", "ood": "eval_ood", "validation": "validation"}


def pretrain_base(files: Files, scale: Scale, seed: int = 0) -> str:
    """Next-token training on ``files.pretrain`` (the base's short solutions, see ``Scale``);
    writes ``files.base_model`` (kept if it is already there)."""
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
    splits: Sequence[str] = ("id", "ood"),
) -> dict[str, Any]:
    """Accuracy (strict boxed grader, one sample per problem) of a run or an HF checkpoint on
    ``splits`` (keys of :data:`SPLITS`), with per split the mean response length in tokens
    (``<split>_length``), the fraction of responses that work every operation
    (``<split>_worked``) and three sample responses (``<split>_samples``)."""
    if workdir is not None:
        config, params, _ = load_trained_policy(workdir)
    else:
        config, params = load_hf_checkpoint(hf_model, dtype="float32")
    tok = transformers.AutoTokenizer.from_pretrained(files.tokenizer)
    out: dict[str, Any] = {}
    for name in splits:
        path = getattr(files, SPLITS[name])
        examples = list(read_examples(path, system_prompt=None))
        res = evaluate_policy(
            params,
            config,
            tok,
            examples,
            key=jax.random.key(1000 + seed),
            temperature=temperature,
            max_new_tokens=80,
            max_prompt_length=48,
            grader="boxed",
            reward_workers=2,
        )
        responses = [s["response"].removeprefix("<think>\n") for s in res["samples"]]
        ops = [sum(c in "+-" for c in e.prompt[-1]["content"]) for e in examples]
        out[name] = res["accuracy"]
        out[f"{name}_length"] = float(np.mean([len(tok(r)["input_ids"]) for r in responses]))
        out[f"{name}_worked"] = float(
            np.mean([is_worked_fully(r, k) for r, k in zip(responses, ops, strict=True)])
        )
        out[f"{name}_samples"] = res["samples"][:3]
    return out


def final_metric(workdir: str, key: str, last: int = 5) -> float | None:
    """The mean of a training metric over the run's last ``last`` logged steps (None if absent)."""
    vals = [r[key] for r in read_metrics(workdir) if r.get(key) is not None]
    return float(np.mean(vals[-last:])) if vals else None
