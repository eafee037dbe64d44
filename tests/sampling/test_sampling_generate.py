"""The sampler against transformers' greedy generate, teacher forcing, and itself under sharding."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import transformers

from luffy_jax import models as M
from luffy_jax import sampling as S
from luffy_jax import sharding

PROMPTS = [[5, 9, 13, 2], [7, 1], [3, 3, 3, 8, 21, 4, 9], [11]]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A random Qwen2 in torch and the same weights loaded in JAX (float32)."""
    torch.manual_seed(0)
    cfg = transformers.Qwen2Config(
        vocab_size=96,
        hidden_size=48,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=True,
        rope_theta=10000.0,
    )
    model = transformers.AutoModelForCausalLM.from_config(cfg, torch_dtype=torch.float32).eval()
    path = tmp_path_factory.mktemp("tiny_qwen2")
    model.save_pretrained(path, safe_serialization=True)
    config, params = M.load_hf_checkpoint(path, dtype="float32")
    return model, config, params


def test_greedy_equals_transformers_generate(tiny):
    model, config, params = tiny
    sc = S.SamplingConfig(max_new_tokens=8, temperature=0.0, prompt_bucket=8)
    out = S.generate(params, config, PROMPTS, jax.random.key(0), sc)
    for i, p in enumerate(PROMPTS):
        with torch.no_grad():
            ref = model.generate(
                torch.tensor([p]),
                max_new_tokens=8,
                do_sample=False,
                eos_token_id=None,
                pad_token_id=0,
            )[0, len(p) :].numpy()
        np.testing.assert_array_equal(np.asarray(out.tokens[i]), ref)
    assert np.all(np.asarray(out.lengths) == 8)


@pytest.mark.parametrize("temperature,top_k,top_p", [(1.0, 0, 1.0), (0.7, 5, 1.0), (1.3, 0, 0.8)])
def test_sampled_logprobs_equal_teacher_forced(tiny, temperature, top_k, top_p):
    _, config, params = tiny
    sc = S.SamplingConfig(
        max_new_tokens=6, temperature=temperature, top_k=top_k, top_p=top_p, prompt_bucket=8
    )
    out = S.generate(params, config, PROMPTS[:2], jax.random.key(1), sc, n=2)
    for r in range(4):
        prompt = PROMPTS[r // 2]
        seq = jnp.asarray([prompt + list(np.asarray(out.tokens[r]))], jnp.int32)
        lp, _ = M.token_logprobs_and_entropy(params, config, seq, temperature=temperature)
        ref = np.asarray(lp[0, len(prompt) - 1 :])
        np.testing.assert_allclose(np.asarray(out.logprobs[r]), ref, atol=1e-4)


def test_eos_stops_a_row_and_pads_after(tiny):
    _, config, params = tiny
    greedy = S.SamplingConfig(max_new_tokens=8, temperature=0.0, prompt_bucket=8)
    free = S.generate(params, config, PROMPTS, jax.random.key(0), greedy)
    eos = int(free.tokens[0, 2])
    stop = S.generate(
        params,
        config,
        PROMPTS,
        jax.random.key(0),
        S.SamplingConfig(
            max_new_tokens=8, temperature=0.0, prompt_bucket=8, eos_ids=(eos, 95), pad_id=0
        ),
    )
    toks, lps, lengths = (np.asarray(x) for x in stop)
    first = int(np.argmax(np.asarray(free.tokens[0]) == eos))
    assert lengths[0] == first + 1
    np.testing.assert_array_equal(toks[0, : first + 1], np.asarray(free.tokens[0, : first + 1]))
    assert np.all(toks[0, first + 1 :] == 0) and np.all(lps[0, first + 1 :] == 0.0)
    for r in range(1, 4):  # other rows stop at their own first EOS, if any
        row = np.asarray(free.tokens[r])
        hits = np.nonzero(np.isin(row, [eos, 95]))[0]
        assert lengths[r] == (hits[0] + 1 if len(hits) else 8)
    ignore = S.generate(
        params,
        config,
        PROMPTS,
        jax.random.key(0),
        S.SamplingConfig(
            max_new_tokens=8, temperature=0.0, prompt_bucket=8, eos_ids=(eos,), ignore_eos=True
        ),
    )
    assert np.all(np.asarray(ignore.lengths) == 8)


def test_prefix_sharing_equals_repeating_the_prompt(tiny):
    _, config, params = tiny
    sc = S.SamplingConfig(max_new_tokens=5, prompt_bucket=8)
    shared = S.generate(params, config, [PROMPTS[0]], jax.random.key(3), sc, n=4)
    repeated = S.generate(params, config, [PROMPTS[0]] * 4, jax.random.key(3), sc, n=1)
    np.testing.assert_array_equal(np.asarray(shared.tokens), np.asarray(repeated.tokens))
    np.testing.assert_allclose(
        np.asarray(shared.logprobs), np.asarray(repeated.logprobs), atol=1e-5
    )
    assert len({tuple(np.asarray(r)) for r in shared.tokens}) > 1  # the 4 samples differ


def test_waves_and_sharding_give_the_same_samples(tiny):
    _, config, params = tiny
    sc = S.SamplingConfig(max_new_tokens=5, prompt_bucket=8, eos_ids=(3,))
    base = S.generate(params, config, PROMPTS, jax.random.key(4), sc, n=2)
    waves = S.generate(
        params,
        config,
        PROMPTS,
        jax.random.key(4),
        S.SamplingConfig(max_new_tokens=5, prompt_bucket=8, eos_ids=(3,), max_concurrent=2),
        n=2,
    )
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=2, tensor=2))
    sharded = S.generate(params, config, PROMPTS, jax.random.key(4), sc, n=2, mesh=mesh)
    for other in (waves, sharded):
        np.testing.assert_array_equal(np.asarray(other.tokens), np.asarray(base.tokens))
        np.testing.assert_array_equal(np.asarray(other.lengths), np.asarray(base.lengths))
        np.testing.assert_allclose(np.asarray(other.logprobs), np.asarray(base.logprobs), atol=1e-5)
    assert base.tokens.shape == (8, 5)


def test_sharded_sampler_with_flash_prefill_and_activation_shardings(tiny, monkeypatch):
    """With a mesh, the sampler's prefill runs splash attention per shard and both the prefill
    and the decode steps are traced with the activation constraints in force; the samples equal
    the unsharded XLA ones."""
    _, config, params = tiny
    sc = S.SamplingConfig(max_new_tokens=3, prompt_bucket=8, eos_ids=(3,))
    base = S.generate(params, config, PROMPTS, jax.random.key(7), sc, n=2)
    traced = []
    constrain = sharding.constrain

    def recording(x, names):
        traced.append((x.shape[:2], sharding.activation_mesh() is not None))
        return constrain(x, names)

    monkeypatch.setattr(sharding, "constrain", recording)
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=2, tensor=2))
    flash = config.replace(attention_impl="splash")
    out = S.generate(params, flash, PROMPTS, jax.random.key(7), sc, n=2, mesh=mesh)
    np.testing.assert_array_equal(np.asarray(out.tokens), np.asarray(base.tokens))
    np.testing.assert_allclose(np.asarray(out.logprobs), np.asarray(base.logprobs), atol=1e-5)
    calls = [(shape, in_force) for shape, in_force in traced if shape[0] > 1]  # not the init
    assert calls and all(in_force for _, in_force in calls)
    assert {(4, 8), (8, 1)} <= {shape for shape, _ in calls}  # prefill 4 x 8, decode 8 x 1


def test_deterministic_for_a_key_and_different_across_keys(tiny):
    _, config, params = tiny
    sc = S.SamplingConfig(max_new_tokens=6, prompt_bucket=8)
    a = S.generate(params, config, PROMPTS, jax.random.key(5), sc)
    b = S.generate(params, config, PROMPTS, jax.random.key(5), sc)
    c = S.generate(params, config, PROMPTS, jax.random.key(6), sc)
    np.testing.assert_array_equal(np.asarray(a.tokens), np.asarray(b.tokens))
    assert not np.array_equal(np.asarray(a.tokens), np.asarray(c.tokens))


def test_bad_inputs_are_named(tiny):
    _, config, params = tiny
    sc = S.SamplingConfig(max_new_tokens=4)
    with pytest.raises(ValueError, match="prompt 1 is empty"):
        S.generate(params, config, [[1], []], jax.random.key(0), sc)
    with pytest.raises(ValueError, match="prompt 0 has a token id"):
        S.generate(params, config, [[1000]], jax.random.key(0), sc)
    with pytest.raises(ValueError, match="max_position_embeddings"):
        S.generate(params, config, [[1]], jax.random.key(0), S.SamplingConfig(max_new_tokens=200))
    with pytest.raises(ValueError, match="top_p"):
        S.SamplingConfig(max_new_tokens=4, top_p=0.0)
