"""Hugging Face checkpoints: ``config.json`` + (sharded) ``*.safetensors``, read and written with
numpy only (no torch). Tensor names and layouts are transformers' ``*ForCausalLM``:
``model.layers.{i}.self_attn.q_proj.weight`` is ``[H * Dh, D]``, our kernel is ``[D, H, Dh]``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import jax
import ml_dtypes
import numpy as np
from jax.sharding import Mesh
from safetensors import safe_open
from safetensors.numpy import save_file

from luffy_jax.models.api import Params, param_shardings
from luffy_jax.models.config import ModelConfig

_NP_DTYPES = {"float32": np.float32, "bfloat16": ml_dtypes.bfloat16, "float16": np.float16}
_ALLOWED_SOURCE_DTYPES = {"F32", "BF16", "F16", "F64"}
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "chat_template.jinja",
    "added_tokens.json",
    "generation_config.json",
)


def _tensor_map(config: ModelConfig) -> Iterator[tuple[str, tuple[str, ...], Callable, Callable]]:
    """Yields (hf name, param path, hf->ours, ours->hf) for every tensor."""
    d, h, k, hd = config.hidden_size, config.num_heads, config.num_kv_heads, config.head_dim
    ident = (lambda w: w, lambda w: w)
    transpose = (lambda w: w.T, lambda w: w.T)

    def proj_in(heads):  # [heads*hd, D] <-> [D, heads, hd]
        return (lambda w: w.T.reshape(d, heads, hd), lambda w: w.reshape(d, heads * hd).T)

    def bias(heads):
        return (lambda w: w.reshape(heads, hd), lambda w: w.reshape(heads * hd))

    o_proj = (lambda w: w.T.reshape(h, hd, d), lambda w: w.reshape(h * hd, d).T)
    yield "model.embed_tokens.weight", ("embed_tokens", "embedding"), *ident
    for i in range(config.num_layers):
        p, lp = f"model.layers.{i}.", f"layers_{i}"
        for name, heads in (("q_proj", h), ("k_proj", k), ("v_proj", k)):
            yield p + f"self_attn.{name}.weight", (lp, "self_attn", name, "kernel"), *proj_in(heads)
            if config.qkv_bias:
                yield p + f"self_attn.{name}.bias", (lp, "self_attn", name, "bias"), *bias(heads)
        yield p + "self_attn.o_proj.weight", (lp, "self_attn", "o_proj", "kernel"), *o_proj
        if config.qk_norm:
            yield p + "self_attn.q_norm.weight", (lp, "self_attn", "q_norm", "scale"), *ident
            yield p + "self_attn.k_norm.weight", (lp, "self_attn", "k_norm", "scale"), *ident
        for name in ("gate_proj", "up_proj", "down_proj"):
            yield p + f"mlp.{name}.weight", (lp, "mlp", name, "kernel"), *transpose
        yield p + "input_layernorm.weight", (lp, "input_layernorm", "scale"), *ident
        yield (
            p + "post_attention_layernorm.weight",
            (lp, "post_attention_layernorm", "scale"),
            *ident,
        )
    yield "model.norm.weight", ("norm", "scale"), *ident
    if not config.tie_word_embeddings:
        yield "lm_head.weight", ("lm_head", "kernel"), *transpose


def _get(tree: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        tree = tree[key]
    return tree


def _set(tree: dict, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def _safetensors_index(path: str) -> dict[str, str]:
    """Maps tensor name -> file, from ``model.safetensors.index.json`` or the single file(s)."""
    index = os.path.join(path, "model.safetensors.index.json")
    if os.path.isfile(index):
        with open(index, encoding="utf-8") as f:
            weight_map = json.load(f).get("weight_map")
        if not isinstance(weight_map, dict):
            raise ValueError(f"{index}: no 'weight_map' object")
        out = {}
        for name, fname in weight_map.items():
            full = os.path.join(path, fname)
            if not os.path.isfile(full):
                raise FileNotFoundError(
                    f"{index} names {fname} for {name}, but {full} does not exist"
                )
            out[name] = full
        return out
    files = sorted(f for f in os.listdir(path) if f.endswith(".safetensors"))
    if not files:
        raise FileNotFoundError(f"no *.safetensors files (nor an index) in {path}")
    out = {}
    for fname in files:
        full = os.path.join(path, fname)
        try:
            with safe_open(full, framework="numpy") as f:
                for name in f.keys():
                    out[name] = full
        except Exception as e:  # safetensors raises its own error types
            raise ValueError(f"{full}: not a readable safetensors file ({e})") from e
    return out


def load_hf_checkpoint(
    path: str | os.PathLike,
    dtype: str = "bfloat16",
    mesh: Mesh | None = None,
    **config_overrides: Any,
) -> tuple[ModelConfig, Params]:
    """Loads a Hugging Face Qwen2/Llama/Qwen3 checkpoint folder.

    Args:
      path: folder with ``config.json`` and ``model.safetensors`` or sharded files plus
        ``model.safetensors.index.json``.
      dtype: parameter dtype (also the compute dtype): "bfloat16", "float32" or "float16".
      mesh: if given, each tensor is converted on the host and put straight onto its shards.
      config_overrides: fields of :class:`ModelConfig` to replace (e.g. ``remat=True``).

    Returns:
      ``(config, params)``.
    """
    path = os.fspath(path)
    if dtype not in _NP_DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {sorted(_NP_DTYPES)}")
    config = ModelConfig.from_hf(path, **{"dtype": dtype, "param_dtype": dtype, **config_overrides})
    files = _safetensors_index(path)
    shardings = param_shardings(config, mesh) if mesh is not None else None
    target = _NP_DTYPES[config.param_dtype]
    expected = jax.eval_shape(lambda: _abstract_params(config))
    params: dict = {}
    handles: dict[str, Any] = {}
    try:
        for hf_name, ppath, to_ours, _ in _tensor_map(config):
            if hf_name not in files:
                raise KeyError(f"{path}: tensor {hf_name!r} is missing from the checkpoint")
            fname = files[hf_name]
            if fname not in handles:
                handles[fname] = safe_open(fname, framework="numpy").__enter__()
            handle = handles[fname]
            src_dtype = handle.get_slice(hf_name).get_dtype()
            if src_dtype not in _ALLOWED_SOURCE_DTYPES:
                raise TypeError(
                    f"{fname}: tensor {hf_name!r} has dtype {src_dtype}; expected a float type"
                )
            value = to_ours(np.asarray(handle.get_tensor(hf_name)))
            want = _get(expected, ppath).shape
            if tuple(value.shape) != tuple(want):
                raise ValueError(
                    f"{fname}: tensor {hf_name!r} has shape {tuple(handle.get_slice(hf_name).get_shape())}, "
                    f"which does not match config.json (expected {want} after conversion)"
                )
            value = value.astype(target)
            if shardings is not None:
                value = jax.device_put(value, _get(shardings, ppath))
            else:
                value = jax.numpy.asarray(value)
            _set(params, ppath, value)
    finally:
        for h in handles.values():
            h.__exit__(None, None, None)
    return config, params


def _abstract_params(config: ModelConfig) -> Params:
    from luffy_jax.models.api import init_params

    return init_params(config, jax.random.key(0))


def save_hf_checkpoint(
    params: Params,
    config: ModelConfig,
    path: str | os.PathLike,
    tokenizer_dir: str | os.PathLike | None = None,
) -> None:
    """Writes ``config.json`` and ``model.safetensors`` (and copies tokenizer files, if given).

    ``transformers.AutoModelForCausalLM.from_pretrained(path)`` loads the result.
    """
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    host = jax.device_get(params)
    tensors = {}
    for hf_name, ppath, _, to_hf in _tensor_map(config):
        try:
            value = np.asarray(_get(host, ppath))
        except KeyError as e:
            raise KeyError(f"params have no entry {'/'.join(ppath)} (needed for {hf_name})") from e
        tensors[hf_name] = np.ascontiguousarray(to_hf(value))
    save_file(tensors, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(path, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config.to_hf_dict(), f, indent=2)
    if tokenizer_dir is not None:
        tokenizer_dir = os.fspath(tokenizer_dir)
        if not os.path.isdir(tokenizer_dir):
            raise FileNotFoundError(f"tokenizer_dir {tokenizer_dir} is not a folder")
        for name in TOKENIZER_FILES:
            src = os.path.join(tokenizer_dir, name)
            if os.path.isfile(src):
                shutil.copy2(src, os.path.join(path, name))
