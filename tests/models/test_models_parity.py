"""Logits against transformers (PyTorch, float32) and checkpoint round trips."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import transformers

from luffy_jax import models as M


def _tokens(b=2, t=11, vocab=320, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, size=(b, t)).astype(np.int32)


def test_logits_match_transformers(hf_family):
    family, model, path = hf_family
    config, params = M.load_hf_checkpoint(path, dtype="float32")
    assert config.model_type == family
    toks = _tokens()
    ours = np.asarray(M.compute_logits(params, config, jnp.asarray(toks)))
    with torch.no_grad():
        ref = model(torch.tensor(toks, dtype=torch.long)).logits.numpy()
    assert np.max(np.abs(ours - ref)) <= 1e-4


def test_left_padding_matches_transformers_attention_mask(hf_family):
    family, model, path = hf_family
    config, params = M.load_hf_checkpoint(path, dtype="float32")
    toks = _tokens(seed=1)
    mask = np.ones_like(toks)
    mask[0, :4] = 0  # row 0 left-padded by 4
    ours = np.asarray(
        M.compute_logits(params, config, jnp.asarray(toks), attention_mask=jnp.asarray(mask))
    )
    with torch.no_grad():
        pos = torch.tensor(np.maximum(np.cumsum(mask, -1) - 1, 0), dtype=torch.long)
        ref = model(
            torch.tensor(toks, dtype=torch.long),
            attention_mask=torch.tensor(mask),
            position_ids=pos,
        ).logits.numpy()
    valid = mask.astype(bool)
    assert np.max(np.abs(ours[valid] - ref[valid])) <= 1e-4
    # real tokens of a padded row equal the unpadded row's logits
    alone = np.asarray(M.compute_logits(params, config, jnp.asarray(toks[:1, 4:])))
    np.testing.assert_allclose(ours[0, 4:], alone[0], atol=1e-4)


def test_export_then_import_is_exact_and_transformers_loads_it(hf_family, tmp_path):
    family, model, path = hf_family
    config, params = M.load_hf_checkpoint(path, dtype="float32")
    M.save_hf_checkpoint(params, config, tmp_path)
    config2, params2 = M.load_hf_checkpoint(tmp_path, dtype="float32")
    assert config2 == config
    jax.tree.map(
        lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), params, params2
    )
    reloaded = transformers.AutoModelForCausalLM.from_pretrained(
        tmp_path, torch_dtype=torch.float32
    ).eval()
    toks = _tokens(seed=2)
    with torch.no_grad():
        a = reloaded(torch.tensor(toks, dtype=torch.long)).logits.numpy()
        b = model(torch.tensor(toks, dtype=torch.long)).logits.numpy()
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_bfloat16_load_keeps_logits_close(hf_family):
    _, model, path = hf_family
    config, params = M.load_hf_checkpoint(path, dtype="bfloat16")
    assert jax.tree.leaves(params)[0].dtype == jnp.bfloat16
    toks = _tokens(seed=3)
    ours = np.asarray(M.compute_logits(params, config, jnp.asarray(toks)))
    assert ours.dtype == np.float32
    with torch.no_grad():
        ref = model(torch.tensor(toks, dtype=torch.long)).logits.numpy()
    assert np.max(np.abs(ours - ref)) < 0.05


def test_sharded_checkpoint_with_index(hf_family, tmp_path):
    family, model, path = hf_family
    model.save_pretrained(tmp_path, safe_serialization=True, max_shard_size="40KB")
    assert (tmp_path / "model.safetensors.index.json").exists()
    c1, p1 = M.load_hf_checkpoint(path, dtype="float32")
    c2, p2 = M.load_hf_checkpoint(tmp_path, dtype="float32")
    jax.tree.map(lambda a, b: np.testing.assert_array_equal(np.asarray(a), np.asarray(b)), p1, p2)


def test_bad_inputs_name_the_file_or_tensor(hf_family, tmp_path):
    family, model, path = hf_family
    with pytest.raises(FileNotFoundError, match="config"):
        M.load_hf_checkpoint(tmp_path)
    cfg = json.loads((path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(FileNotFoundError, match="safetensors"):
        M.load_hf_checkpoint(tmp_path)
    # unsupported architecture
    bad = dict(cfg, architectures=["MistralForCausalLM"])
    with pytest.raises(ValueError, match="MistralForCausalLM"):
        M.ModelConfig.from_hf(bad)
    # shape mismatch: config says a bigger hidden size than the tensors
    import shutil

    shutil.copy(path / "model.safetensors", tmp_path / "model.safetensors")
    (tmp_path / "config.json").write_text(json.dumps(dict(cfg, intermediate_size=128)))
    with pytest.raises(ValueError, match=r"mlp\.(gate|up|down)_proj\.weight.*shape"):
        M.load_hf_checkpoint(tmp_path)
    # missing tensor
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(path / "model.safetensors"))
    tensors.pop("model.norm.weight")
    save_file(tensors, str(tmp_path / "model.safetensors"))
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(KeyError, match="model.norm.weight"):
        M.load_hf_checkpoint(tmp_path)
    # dtype mismatch: an integer tensor where a float is expected
    tensors = load_file(str(path / "model.safetensors"))
    tensors["model.norm.weight"] = tensors["model.norm.weight"].astype(np.int32)
    save_file(tensors, str(tmp_path / "model.safetensors"))
    with pytest.raises(TypeError, match="model.norm.weight"):
        M.load_hf_checkpoint(tmp_path)
    with pytest.raises(ValueError, match="dtype"):
        M.load_hf_checkpoint(path, dtype="int8")
