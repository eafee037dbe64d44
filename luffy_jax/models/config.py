"""``ModelConfig``: the shape and numerics of a decoder-only policy, read from Hugging Face configs."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from typing import Any

import jax.numpy as jnp

SUPPORTED_ARCHITECTURES = {
    "Qwen2ForCausalLM": "qwen2",
    "LlamaForCausalLM": "llama",
    "Qwen3ForCausalLM": "qwen3",
}
SUPPORTED_MODEL_TYPES = ("qwen2", "llama", "qwen3")
_HF_ARCH = {v: k for k, v in SUPPORTED_ARCHITECTURES.items()}
_DTYPES = ("float32", "bfloat16", "float16")
# Implementations of whole-sequence attention (see luffy_jax.models.attention).
ATTENTION_IMPLS = ("xla", "splash", "cudnn", "pallas_gpu")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of the decoder. Frozen and hashable (a static ``jit`` argument).

    ``rope_scaling`` is ``None`` or a sorted tuple of ``(key, value)`` pairs (e.g. Llama 3's
    ``(("factor", 8.0), ("high_freq_factor", 4.0), ...)``). ``dtype`` is the compute dtype;
    norms, softmax and logits are always computed in float32.

    ``attention_impl`` picks the kernel of whole-sequence attention (training, log-prob pass,
    prefill; decode steps always use the XLA path): ``"xla"`` (default, the reference, any
    backend), ``"splash"`` (Pallas splash attention, TPU), ``"cudnn"`` (cuDNN flash attention via
    ``jax.nn.dot_product_attention``, NVIDIA GPU, bfloat16/float16 compute) or ``"pallas_gpu"``
    (Pallas Triton flash attention, NVIDIA GPU). On CPU the Pallas kernels run in interpret mode.
    """

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rope_theta: float = 10000.0
    rope_scaling: tuple | None = None
    max_position_embeddings: int = 4096
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = False
    qkv_bias: bool = False
    qk_norm: bool = False
    model_type: str = "qwen2"
    dtype: str = "float32"
    param_dtype: str = "float32"
    remat: bool = False
    attention_impl: str = "xla"
    bos_token_id: int | None = None
    eos_token_id: int | tuple | None = None

    def __post_init__(self) -> None:
        if self.model_type not in SUPPORTED_MODEL_TYPES:
            raise ValueError(
                f"model_type {self.model_type!r} is not supported; use one of {SUPPORTED_MODEL_TYPES}"
            )
        for name in ("dtype", "param_dtype"):
            if getattr(self, name) not in _DTYPES:
                raise ValueError(f"{name}={getattr(self, name)!r} is not one of {_DTYPES}")
        if self.attention_impl not in ATTENTION_IMPLS:
            raise ValueError(
                f"attention_impl={self.attention_impl!r} is not one of {ATTENTION_IMPLS}"
            )
        if self.num_heads % self.num_kv_heads:
            raise ValueError(
                f"num_heads={self.num_heads} is not a multiple of num_kv_heads={self.num_kv_heads}"
            )
        if self.head_dim % 2:
            raise ValueError(f"head_dim={self.head_dim} must be even for rotary embeddings")

    @property
    def compute_dtype(self) -> jnp.dtype:
        return jnp.dtype(self.dtype)

    @property
    def weights_dtype(self) -> jnp.dtype:
        return jnp.dtype(self.param_dtype)

    @property
    def rope_scaling_dict(self) -> dict[str, Any] | None:
        return None if self.rope_scaling is None else dict(self.rope_scaling)

    def num_params(self) -> int:
        """Number of parameters (embedding and LM head counted once each; tied counted once)."""
        d, h, kv, hd = self.hidden_size, self.num_heads, self.num_kv_heads, self.head_dim
        attn = d * h * hd * 2 + d * kv * hd * 2
        if self.qkv_bias:
            attn += h * hd + 2 * kv * hd
        if self.qk_norm:
            attn += 2 * hd
        mlp = 3 * d * self.intermediate_size
        layer = attn + mlp + 2 * d
        emb = self.vocab_size * d * (1 if self.tie_word_embeddings else 2)
        return self.num_layers * layer + emb + d

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_hf(
        cls, path_or_dict: str | os.PathLike | Mapping[str, Any], **overrides: Any
    ) -> ModelConfig:
        """Reads a Hugging Face config (a dict, a ``config.json`` path, or a checkpoint folder).

        ``overrides`` replace fields afterwards (e.g. ``num_layers=2`` for tests, ``dtype``).
        """
        source = "<dict>"
        if isinstance(path_or_dict, Mapping):
            hf = dict(path_or_dict)
        else:
            path = os.fspath(path_or_dict)
            if os.path.isdir(path):
                path = os.path.join(path, "config.json")
            source = path
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no Hugging Face config at {path}")
            try:
                with open(path, encoding="utf-8") as f:
                    hf = json.load(f)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: not valid JSON ({e})") from e
        return cls(**{**_fields_from_hf(hf, source), **overrides})

    def to_hf_dict(self) -> dict[str, Any]:
        """The Hugging Face ``config.json`` content for this model (transformers 4.x/5.x readable)."""
        rope: dict[str, Any] = {"rope_type": "default", "rope_theta": self.rope_theta}
        if self.rope_scaling is not None:
            rope = {**self.rope_scaling_dict, "rope_theta": self.rope_theta}
        out: dict[str, Any] = {
            "architectures": [_HF_ARCH[self.model_type]],
            "model_type": self.model_type,
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "intermediate_size": self.intermediate_size,
            "num_hidden_layers": self.num_layers,
            "num_attention_heads": self.num_heads,
            "num_key_value_heads": self.num_kv_heads,
            "head_dim": self.head_dim,
            "hidden_act": "silu",
            "max_position_embeddings": self.max_position_embeddings,
            "rms_norm_eps": self.rms_norm_eps,
            "rope_theta": self.rope_theta,
            "rope_scaling": self.rope_scaling_dict,
            "rope_parameters": rope,
            "tie_word_embeddings": self.tie_word_embeddings,
            "torch_dtype": self.param_dtype,
            "dtype": self.param_dtype,
            "use_cache": True,
            "attention_dropout": 0.0,
        }
        if self.model_type in ("llama", "qwen3"):
            out["attention_bias"] = self.qkv_bias
        if self.model_type == "llama":
            out["mlp_bias"] = False
        if self.model_type in ("qwen2", "qwen3"):
            out["use_sliding_window"] = False
        if self.bos_token_id is not None:
            out["bos_token_id"] = self.bos_token_id
        if self.eos_token_id is not None:
            eos = self.eos_token_id
            out["eos_token_id"] = list(eos) if isinstance(eos, tuple) else eos
        return out


def _fields_from_hf(hf: dict[str, Any], source: str) -> dict[str, Any]:
    archs = hf.get("architectures") or []
    model_type = hf.get("model_type")
    if archs:
        unknown = [a for a in archs if a not in SUPPORTED_ARCHITECTURES]
        if unknown:
            raise ValueError(
                f"{source}: unsupported architecture {unknown[0]!r}; "
                f"supported: {sorted(SUPPORTED_ARCHITECTURES)}"
            )
        model_type = SUPPORTED_ARCHITECTURES[archs[0]]
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise ValueError(
            f"{source}: unsupported model_type {model_type!r}; supported: {SUPPORTED_MODEL_TYPES}"
        )
    if hf.get("use_sliding_window"):
        raise ValueError(
            f"{source}: sliding-window attention (use_sliding_window) is not supported"
        )
    if hf.get("hidden_act", "silu") != "silu":
        raise ValueError(
            f"{source}: hidden_act {hf.get('hidden_act')!r} is not supported (silu only)"
        )
    if hf.get("mlp_bias"):
        raise ValueError(f"{source}: mlp_bias=True is not supported")
    required = (
        "vocab_size",
        "hidden_size",
        "intermediate_size",
        "num_hidden_layers",
        "num_attention_heads",
    )
    missing = [k for k in required if k not in hf]
    if missing:
        raise ValueError(f"{source}: missing config field(s) {missing}")
    rope_params = hf.get("rope_parameters") or {}
    rope_theta = hf.get("rope_theta", rope_params.get("rope_theta", 10000.0))
    scaling = hf.get("rope_scaling")
    if scaling is None and rope_params.get("rope_type", "default") != "default":
        scaling = {k: v for k, v in rope_params.items() if k != "rope_theta"}
    if scaling is not None:
        scaling = {k: v for k, v in scaling.items() if k != "rope_theta"}
        rope_type = scaling.get("rope_type", scaling.get("type"))
        if rope_type in (None, "default"):
            scaling = None
        elif rope_type != "llama3":
            raise ValueError(
                f"{source}: rope_scaling type {rope_type!r} is not supported (llama3 only)"
            )
        else:
            scaling = {"rope_type": "llama3", **{k: v for k, v in scaling.items() if k != "type"}}
    heads = int(hf["num_attention_heads"])
    head_dim = hf.get("head_dim") or int(hf["hidden_size"]) // heads
    eos = hf.get("eos_token_id")
    return {
        "vocab_size": int(hf["vocab_size"]),
        "hidden_size": int(hf["hidden_size"]),
        "intermediate_size": int(hf["intermediate_size"]),
        "num_layers": int(hf["num_hidden_layers"]),
        "num_heads": heads,
        "num_kv_heads": int(hf.get("num_key_value_heads") or heads),
        "head_dim": int(head_dim),
        "rope_theta": float(rope_theta),
        "rope_scaling": None if scaling is None else tuple(sorted(scaling.items())),
        "max_position_embeddings": int(hf.get("max_position_embeddings", 4096)),
        "rms_norm_eps": float(hf.get("rms_norm_eps", 1e-6)),
        "tie_word_embeddings": bool(hf.get("tie_word_embeddings", False)),
        "qkv_bias": True if model_type == "qwen2" else bool(hf.get("attention_bias", False)),
        "qk_norm": model_type == "qwen3",
        "model_type": model_type,
        "bos_token_id": hf.get("bos_token_id"),
        "eos_token_id": tuple(eos) if isinstance(eos, list) else eos,
    }
