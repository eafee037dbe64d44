"""Preparing the synthetic reproduction: tokenizer, data splits, the run config, the base policy."""

from __future__ import annotations

import dataclasses
import os

import jax
import ml_collections

from luffy_jax.models import ModelConfig, init_params, save_hf_checkpoint
from luffy_jax.synthetic.task import make_split, write_jsonl
from luffy_jax.synthetic.tokenizer import save_char_tokenizer
from luffy_jax.trainer import schema

# Operations per problem: in distribution (training and the ID split) and out of distribution.
ID_OPS = (2, 4)
OOD_OPS = (5, 6)

TINY_MODEL = dict(
    architectures=["Qwen2ForCausalLM"],
    model_type="qwen2",
    vocab_size=101,
    hidden_size=128,
    intermediate_size=384,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=32,
    max_position_embeddings=256,
    tie_word_embeddings=True,
    rope_theta=10000.0,
    eos_token_id=0,
)


@dataclasses.dataclass(frozen=True)
class Scale:
    """How big the reproduction is (``full``: the README's figures; ``tiny``: the test suite's)."""

    train_problems: int = 2000
    eval_problems: int = 200
    pretrain_steps: int = 120
    pretrain_batch: int = 16  # traces per pretraining step
    rl_steps: int = 100
    prompts_per_step: int = 16
    n: int = 8
    eval_every: int = 10
    eval_subset: int = 64
    # What the base policy is pretrained on (``pretrain_steps`` steps of ``pretrain_batch``
    # traces at lr 2e-3): "teacher" (worked solutions; 120 x 16 leave it weak, ~0.1 in
    # distribution, while 300 x 32 make it solve ~3/4), "guessed" (the layout with random
    # results) or "plain" (the boxed answer alone).
    pretrain_traces: str = "teacher"


FULL = Scale()
TINY = Scale(
    train_problems=64,
    eval_problems=16,
    pretrain_steps=4,
    pretrain_batch=8,
    rl_steps=2,
    prompts_per_step=8,
    n=4,
    eval_every=2,
    eval_subset=8,
)


@dataclasses.dataclass(frozen=True)
class Files:
    root: str

    def path(self, name: str) -> str:
        return os.path.join(self.root, name)

    @property
    def tokenizer(self) -> str:
        return self.path("tokenizer")

    @property
    def train(self) -> str:
        return self.path("train.jsonl")

    @property
    def pretrain(self) -> str:
        return self.path("pretrain.jsonl")

    @property
    def eval_id(self) -> str:
        return self.path("eval_id.jsonl")

    @property
    def eval_ood(self) -> str:
        return self.path("eval_ood.jsonl")

    @property
    def eval_curve(self) -> str:
        return self.path("eval_curve.jsonl")

    @property
    def init_model(self) -> str:
        return self.path("init_model")

    @property
    def base_model(self) -> str:
        return self.path("base_model")


def prepare_files(root: str, scale: Scale = FULL, seed: int = 0) -> Files:
    """Writes the tokenizer, the splits and a randomly initialised model under ``root``."""
    files = Files(os.path.abspath(root))
    os.makedirs(files.root, exist_ok=True)
    save_char_tokenizer(files.tokenizer)
    train = make_split(seed + 1, scale.train_problems, ID_OPS)
    write_jsonl(files.train, train, trace="teacher", source="train")
    # Pretraining: another sample of in-distribution chains (traces: ``Scale.pretrain_traces``).
    write_jsonl(
        files.pretrain,
        make_split(seed + 2, scale.train_problems, ID_OPS),
        trace=scale.pretrain_traces,
        source="pretrain",
        seed=seed + 5,
    )
    eval_id = [
        p
        for p in make_split(seed + 3, 2 * scale.eval_problems, ID_OPS)
        if p.text not in {q.text for q in train}
    ]
    write_jsonl(
        files.eval_id, eval_id[: scale.eval_problems], trace="none", source="in_distribution"
    )
    write_jsonl(
        files.eval_ood,
        make_split(seed + 4, scale.eval_problems, OOD_OPS),
        trace="none",
        source="out_of_distribution",
    )
    write_jsonl(
        files.eval_curve, eval_id[: scale.eval_subset], trace="none", source="in_distribution"
    )
    config = ModelConfig.from_hf(TINY_MODEL)
    save_hf_checkpoint(
        init_params(config, jax.random.key(seed)),
        config,
        files.init_model,
        tokenizer_dir=files.tokenizer,
    )
    return files


def run_config(
    files: Files, method: str, *, scale: Scale = FULL, seed: int = 0, model: str | None = None
) -> ml_collections.ConfigDict:
    """The training config of one synthetic run (every field overridable like any preset)."""
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
    c.batch.mini_batch_prompts = max(
        scale.prompts_per_step // 2, 1
    )  # 2 optimizer steps per rollout
    c.batch.micro_batch_rows = min(64, c.batch.mini_batch_prompts * scale.n)
    c.loss.constant_normalizer = -1.0  # the padded width (80)
    c.optim.lr = 5e-4
    c.optim.weight_decay = 0.0
    c.mesh.data, c.mesh.fsdp, c.mesh.tensor = 1, -1, 1
    c.eval.files = files.eval_curve
    c.eval.every = scale.eval_every
    c.eval.max_new_tokens = 80
    c.eval.temperature = 0.6
    c.eval.grader = "math"
    c.checkpoint.every = 1000
    c.checkpoint.keep = 1
    c.log.tensorboard = False
    c.total_steps = scale.rl_steps
    if method == "sft":
        c.rollout.n = 1
        c.data.train_files = files.train
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
    else:
        c.data.train_files = files.train
        if method == "luffy_no_shaping":
            c.method = "luffy"
            c.loss.off_policy_shaping = "none"
    return c
