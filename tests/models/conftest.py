"""Tiny random-weight models of each supported family, built with transformers in PyTorch and
exported to safetensors, so that the JAX side is loaded through ``load_hf_checkpoint``."""

import pytest
import torch
import transformers

TINY = dict(
    vocab_size=320,
    hidden_size=64,
    intermediate_size=96,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=256,
)


def hf_config(family: str):
    if family == "qwen2":
        return transformers.Qwen2Config(**TINY, rope_theta=40000.0, tie_word_embeddings=True)
    if family == "llama":
        return transformers.LlamaConfig(
            **TINY,
            rope_theta=500000.0,
            rope_scaling={
                "rope_type": "llama3",
                "factor": 8.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 32,
            },
            tie_word_embeddings=False,
        )
    if family == "qwen3":
        return transformers.Qwen3Config(
            **TINY, head_dim=24, rope_theta=1e6, tie_word_embeddings=False
        )
    raise ValueError(family)


def build_torch_model(family: str, seed: int = 0):
    torch.manual_seed(seed)
    cfg = hf_config(family)
    model = transformers.AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.float32).eval()
    with torch.no_grad():  # non-trivial norms and biases so that every tensor matters
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.add_(0.1 * torch.randn_like(p))
            elif name.endswith("bias"):
                p.copy_(0.05 * torch.randn_like(p))
    return model


@pytest.fixture(scope="session", params=["qwen2", "llama", "qwen3"])
def hf_family(request, tmp_path_factory):
    """(family, torch model, checkpoint dir) for each family."""
    family = request.param
    model = build_torch_model(family)
    path = tmp_path_factory.mktemp(f"hf_{family}")
    model.save_pretrained(path, safe_serialization=True)
    return family, model, path
