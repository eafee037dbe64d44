"""Scales and run configs of the synthetic reproduction, one per method; also a preset file for
``luffy_jax.train`` and ``luffy_jax.sweep``::

    python -m luffy_jax.train --config=luffy_jax/synthetic/preset.py:luffy,/tmp/luffy_quickstart/data \\
        --workdir=/tmp/run [--config.optim.lr=3e-4]

(the variant is ``METHOD,DATA_ROOT[,tiny]``; ``DATA_ROOT`` is a folder written by
``luffy_jax.synthetic.prepare_files`` with a pretrained ``base_model``, e.g. the quickstart's
``<workdir>/data``).
"""

from __future__ import annotations

import dataclasses
import os

import ml_collections

from luffy_jax.synthetic.files import Files
from luffy_jax.trainer import schema

METHODS = ("luffy", "on_policy_grpo", "sft", "rl_with_sft_loss", "luffy_no_shaping")


@dataclasses.dataclass(frozen=True)
class Scale:
    """How big the reproduction is (``FULL``: the README's figures; ``TINY``: the test suite's)."""

    train_problems: int = 2000
    pretrain_problems: int = 3000
    validation_problems: int = 128
    eval_problems: int = 200
    # The base: ``pretrain_steps`` x ``pretrain_batch`` short solutions (work one operation,
    # then jump to the answer) at lr 2e-3, of which ``full_fraction`` are the teacher's full traces.
    pretrain_steps: int = 300
    pretrain_batch: int = 32
    full_fraction: float = 0.05
    rl_steps: int = 60
    prompts_per_step: int = 16
    n: int = 8
    lr: float = 5e-4
    eval_every: int = 10
    eval_subset: int = 64


FULL = Scale()
TINY = Scale(
    train_problems=64,
    pretrain_problems=64,
    validation_problems=16,
    eval_problems=16,
    pretrain_steps=4,
    pretrain_batch=8,
    rl_steps=2,
    prompts_per_step=8,
    n=4,
    eval_every=2,
    eval_subset=8,
)


def run_config(
    files: Files, method: str, *, scale: Scale = FULL, seed: int = 0, model: str | None = None
) -> ml_collections.ConfigDict:
    """The training config of one synthetic run (``method``: one of :data:`METHODS` or
    ``"pretrain"``; every field overridable like any preset)."""
    if method not in METHODS + ("pretrain",):
        raise ValueError(f"run_config: unknown method {method!r}")
    c = schema.get_config()
    c.method = method
    c.seed = seed
    c.model.hf_path = model or files.base_model
    c.model.dtype = "float32"
    c.model.remat = False
    c.tokenizer.path = files.tokenizer
    c.data.use_system_prompt = False
    c.data.max_prompt_length = 40
    c.data.max_response_length = 80
    c.rollout.n = scale.n
    c.rollout.n_off = 1
    c.rollout.prompts_per_step = scale.prompts_per_step
    c.rollout.reward_workers = 2
    # 2 optimizer steps per rollout
    c.batch.mini_batch_prompts = max(scale.prompts_per_step // 2, 1)
    c.batch.micro_batch_rows = min(64, c.batch.mini_batch_prompts * scale.n)
    c.loss.constant_normalizer = -1.0  # the padded width (80)
    c.optim.lr = scale.lr
    c.optim.weight_decay = 0.0
    c.mesh.data, c.mesh.fsdp, c.mesh.tensor = 1, -1, 1
    c.eval.files = files.eval_curve  # validation problems, never the test split
    c.eval.every = scale.eval_every
    c.eval.max_new_tokens = 80
    c.eval.temperature = 0.6
    c.eval.grader = "math"
    c.checkpoint.every = 1000
    c.checkpoint.keep = 1
    c.log.tensorboard = False
    c.total_steps = scale.rl_steps
    c.data.train_files = files.train
    if method == "sft":
        c.rollout.n = 1
        c.batch.micro_batch_rows = c.batch.mini_batch_prompts
    elif method == "pretrain":
        c.method = "sft"
        c.rollout.n = 1
        c.data.train_files = files.pretrain
        c.model.hf_path = model or files.init_model
        c.optim.lr = 2e-3
        c.total_steps = scale.pretrain_steps
        c.rollout.prompts_per_step = scale.pretrain_batch
        c.batch.mini_batch_prompts = c.rollout.prompts_per_step
        c.batch.micro_batch_rows = c.rollout.prompts_per_step
        c.eval.every = max(scale.pretrain_steps // 3, 1)
    elif method == "luffy_no_shaping":
        c.method = "luffy"
        c.loss.off_policy_shaping = "none"
    return c


def get_config(variant: str = "luffy") -> ml_collections.ConfigDict:
    """``luffy_jax.train``'s entry: ``variant`` = ``METHOD,DATA_ROOT[,tiny]``."""
    parts = variant.split(",")
    if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "tiny"):
        raise ValueError(f"preset variant {variant!r}: expected METHOD,DATA_ROOT[,tiny]")
    scale = TINY if len(parts) == 3 else FULL
    return run_config(Files(os.path.abspath(parts[1])), parts[0], scale=scale)
