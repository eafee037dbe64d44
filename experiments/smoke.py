"""A few LUFFY steps of a tiny random Qwen2.5-shaped model on the shared data, in about a minute
on a CPU. Checks the whole pipeline (Qwen tokenizer and chat template, R1 traces, sampler, reward
pool, objective, checkpoints, validation); it learns nothing useful.

    python -m luffy_jax.train --config=experiments/smoke.py --workdir=/tmp/luffy_smoke
    python -m luffy_jax.train --config=experiments/smoke.py:sft_then_rl --workdir=/tmp/smoke_sftrl

Variants: any method name (``luffy``, ``on_policy_grpo``, ``sft``, ``rl_with_sft_loss``,
``sft_then_rl``, ``luffy_no_shaping``). Paths are relative to the repository root
(``../shared/data`` beside it). The model is random with the shape in ``model.overrides``; with a
real checkpoint (``--config.model.hf_path``) those shape overrides are refused before any compute:
use ``experiments/luffy_qwen25_math_7b.py`` with size overrides instead.
"""

import ml_collections

from luffy_jax.trainer import schema

SHARED = "../shared/data"


def get_config(variant: str = "luffy") -> ml_collections.ConfigDict:
    c = schema.get_config()
    c.method = variant
    c.seed = 0
    c.total_steps = 3
    c.model.config_json = f"{SHARED}/model_configs/qwen2.5-1.5b.json"
    c.model.overrides = ml_collections.ConfigDict(
        dict(
            num_layers=2,
            hidden_size=64,
            intermediate_size=128,
            num_heads=4,
            num_kv_heads=2,
            head_dim=16,
        )
    )
    c.model.dtype = "float32"
    c.model.remat = False
    c.tokenizer.path = f"{SHARED}/tokenizers/qwen2.5-math"
    c.data.train_files = f"{SHARED}/traces/cs336_math_r1_sft.jsonl"
    c.data.use_system_prompt = False
    c.data.max_prompt_length = 512  # the validation prompts (system prompt included) fit
    c.data.max_response_length = 32
    c.data.long_traces = "cut_with_eos"
    c.data.max_examples = 64
    c.rollout.prompts_per_step = 2
    c.rollout.n = 4
    c.rollout.n_off = 1
    c.rollout.reward_workers = 2
    c.batch.mini_batch_prompts = 2
    c.batch.micro_batch_rows = 8
    c.loss.constant_normalizer = -1.0
    c.optim.lr = 1e-4
    c.sft.steps = 1
    c.sft.lr = 1e-4
    c.eval.files = f"{SHARED}/luffy_eval/valid.parquet"
    c.eval.max_examples = 4
    c.eval.every = 3
    c.eval.max_new_tokens = 32
    c.checkpoint.every = 2
    return c
