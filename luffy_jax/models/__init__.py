"""The policy: one Flax Linen decoder for Qwen2/Qwen2.5, Llama 3.x and Qwen3, Hugging Face
checkpoint import/export, and memory-safe token log-probs and entropies.

Public API (stable): :class:`ModelConfig`, :func:`init_params`, :func:`param_logical_axes`,
:func:`shard_params`, :func:`load_hf_checkpoint`, :func:`save_hf_checkpoint`,
:func:`compute_logits`, :func:`token_logprobs_and_entropy`, and for the sampler
:class:`KVCache`, :func:`init_cache`, :func:`decoder_forward`, :func:`project_logits`.
Whole-sequence attention and its implementations (``ModelConfig.attention_impl``) live in
:mod:`luffy_jax.models.attention`.
"""

from luffy_jax.models.api import (
    compute_logits,
    decoder_forward,
    hidden_states,
    init_cache,
    init_params,
    param_logical_axes,
    param_shardings,
    positions_from_mask,
    project_logits,
    shard_params,
)
from luffy_jax.models.config import SUPPORTED_ARCHITECTURES, ModelConfig
from luffy_jax.models.decoder import KVCache
from luffy_jax.models.hf_io import load_hf_checkpoint, save_hf_checkpoint
from luffy_jax.models.logprobs import token_logprobs_and_entropy

__all__ = [
    "SUPPORTED_ARCHITECTURES",
    "KVCache",
    "ModelConfig",
    "compute_logits",
    "decoder_forward",
    "hidden_states",
    "init_cache",
    "init_params",
    "load_hf_checkpoint",
    "param_logical_axes",
    "param_shardings",
    "positions_from_mask",
    "project_logits",
    "save_hf_checkpoint",
    "shard_params",
    "token_logprobs_and_entropy",
]
