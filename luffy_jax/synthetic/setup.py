"""Preparing the synthetic reproduction: tokenizer, disjoint data splits, the initial model.

Splits (all disjoint by problem text): ``test_id`` (in distribution, the reported accuracy),
``validation`` (in distribution, for choosing hyper-parameters and for the training curves),
``test_ood`` (longer chains), ``train`` (RL prompts + teacher traces) and ``pretrain`` (the base's
short solutions).
"""

from __future__ import annotations

import os

import jax

from luffy_jax.models import ModelConfig, init_params, save_hf_checkpoint
from luffy_jax.synthetic.files import Files
from luffy_jax.synthetic.preset import Scale
from luffy_jax.synthetic.task import make_split, write_jsonl
from luffy_jax.synthetic.tokenizer import save_char_tokenizer

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


def prepare_files(root: str, scale: Scale, seed: int = 0) -> Files:
    """Writes the tokenizer, the disjoint splits and a randomly initialised model under ``root``."""
    files = Files(os.path.abspath(root))
    os.makedirs(files.root, exist_ok=True)
    save_char_tokenizer(files.tokenizer)
    test_id = make_split(seed + 3, scale.eval_problems, ID_OPS)
    validation = make_split(seed + 6, scale.validation_problems, ID_OPS, exclude=test_id)
    held_out = test_id + validation
    train = make_split(seed + 1, scale.train_problems, ID_OPS, exclude=held_out)
    pretrain = make_split(seed + 2, scale.pretrain_problems, ID_OPS, exclude=held_out + train)
    ood = make_split(seed + 4, scale.eval_problems, OOD_OPS)
    write_jsonl(files.train, train, trace="teacher", source="train")
    write_jsonl(
        files.pretrain,
        pretrain,
        trace="short",
        full_fraction=scale.full_fraction,
        source="pretrain",
        seed=seed + 5,
    )
    write_jsonl(files.eval_id, test_id, trace="none", source="in_distribution")
    write_jsonl(files.validation, validation, trace="none", source="validation")
    write_jsonl(
        files.eval_curve, validation[: scale.eval_subset], trace="none", source="validation"
    )
    write_jsonl(files.eval_ood, ood, trace="none", source="out_of_distribution")
    config = ModelConfig.from_hf(TINY_MODEL)
    save_hf_checkpoint(
        init_params(config, jax.random.key(seed)),
        config,
        files.init_model,
        tokenizer_dir=files.tokenizer,
    )
    return files
