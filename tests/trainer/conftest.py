"""A tiny run: character tokenizer, 2-layer random Qwen2, a JSONL of addition problems with traces."""

import json

import pytest

from luffy_jax.synthetic.tokenizer import save_char_tokenizer
from luffy_jax.trainer import schema


@pytest.fixture(scope="session")
def tiny_run_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_run")
    tok = save_char_tokenizer(root / "tok")
    rows = []
    for i in range(24):
        a, b = i % 7 + 1, i % 5 + 2
        rows.append(
            {
                "problem": f"{a}+{b}=?",
                "answer": str(a + b),
                "index": i,
                "trace": f"{a}+{b}={a + b}</think> \\boxed{{{a + b}}}",
            }
        )
    (root / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    evals = [
        {"problem": r["problem"], "answer": r["answer"], "index": i % 3}
        for i, r in enumerate(rows[:6])
    ]
    (root / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in evals))
    (root / "config.json").write_text(
        json.dumps(
            {
                "architectures": ["Qwen2ForCausalLM"],
                "model_type": "qwen2",
                "vocab_size": 101,
                "hidden_size": 32,
                "intermediate_size": 64,
                "num_hidden_layers": 2,
                "num_attention_heads": 4,
                "num_key_value_heads": 2,
                "max_position_embeddings": 128,
                "tie_word_embeddings": True,
            }
        )
    )
    return root, tok


@pytest.fixture
def tiny_config(tiny_run_files):
    return make_tiny_config(*tiny_run_files)


@pytest.fixture(scope="session")
def tiny_config_factory(tiny_run_files):
    """Makes fresh tiny configs (for fixtures wider than one test)."""
    return lambda: make_tiny_config(*tiny_run_files)


def make_tiny_config(root, tok):
    """The tiny run's config (2 steps of LUFFY, 2 prompts x 4 rows, checkpoints every step)."""
    c = schema.get_config()
    c.seed = 1
    c.total_steps = 2
    c.sft.steps = 1
    c.sft.lr = 1e-3
    c.model.config_json = str(root / "config.json")
    c.model.dtype = "float32"
    c.model.remat = False
    c.tokenizer.path = str(tok)
    c.data.train_files = str(root / "train.jsonl")
    c.data.use_system_prompt = False
    c.data.max_prompt_length = 40
    c.data.max_response_length = 20
    c.rollout.prompts_per_step = 2
    c.rollout.n = 4
    c.rollout.reward_workers = 1
    c.batch.mini_batch_prompts = 1
    c.batch.micro_batch_rows = 8
    c.loss.constant_normalizer = -1.0
    c.optim.lr = 1e-3
    c.eval.files = ""
    c.checkpoint.every = 1
    c.log.tensorboard = False
    return c
