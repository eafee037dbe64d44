"""The cache path used by the slot decoder: a write slot per row, and attention over the first L
cache slots only."""

import jax
import jax.numpy as jnp
import numpy as np
from tiny_models import tiny_model_config  # tests/ (on sys.path via its conftest)

from luffy_jax import models as M
from luffy_jax.models.decoder import KVCache, read_kv, write_kv

CFG = tiny_model_config(rope_theta=10000.0)


def test_per_row_write_equals_scalar_write_and_touches_one_slot_per_row():
    cache = M.init_cache(CFG, 3, 10)
    k = jax.random.normal(jax.random.key(0), (3, 1, 2, 8))
    v = jax.random.normal(jax.random.key(1), (3, 1, 2, 8))
    scalar = write_kv(cache, 1, k, v, jnp.asarray(4))
    per_row = write_kv(cache, 1, k, v, jnp.asarray([4, 4, 4]))
    np.testing.assert_array_equal(scalar.k, per_row.k)
    np.testing.assert_array_equal(scalar.v, per_row.v)
    rows = write_kv(cache, 1, k, v, jnp.asarray([0, 7, 9]))
    expected = np.zeros(cache.k.shape, np.float32)
    for b, slot in enumerate([0, 7, 9]):
        expected[1, b, :, slot] = np.asarray(k[b, 0])  # the cache is [layers, B, K, S, Dh]
    np.testing.assert_array_equal(rows.k, expected)
    keys, values = read_kv(rows, 1, 8)
    assert keys.shape == values.shape == (3, 2, 8, 8)
    np.testing.assert_array_equal(keys, expected[1, :, :, :8])


def test_rows_at_their_own_positions_with_bounded_attention_equal_full_forward():
    """Two rows with prompts of 3 and 6 tokens, each decoding at its own slot, attending to the
    first L slots of a 16-slot cache: logits equal the full forward of each row alone."""
    params = M.init_params(CFG, jax.random.key(0))
    rng = np.random.default_rng(0)
    seqs = [
        rng.integers(0, CFG.vocab_size, 9).tolist(),
        rng.integers(0, CFG.vocab_size, 9).tolist(),
    ]
    starts = [3, 6]
    slots = 16
    cache = M.init_cache(CFG, 2, slots)
    kv_mask = np.zeros((2, slots), bool)
    for b, s in enumerate(starts):  # prefill each row alone (right-padded is fine here)
        toks = jnp.asarray([seqs[b][:s] + [0] * (6 - s)])
        m = np.zeros((1, slots), bool)
        m[0, :s] = True
        one = M.init_cache(CFG, 1, slots)
        _, one = M.decoder_forward(
            params, CFG, toks, jnp.arange(6)[None], kv_mask=jnp.asarray(m), cache=one, cache_index=0
        )
        cache = KVCache(cache.k.at[:, b].set(one.k[:, 0]), cache.v.at[:, b].set(one.v[:, 0]))
        kv_mask[b, :s] = True
    step = jax.jit(M.decoder_forward, static_argnums=(1,))
    pos = np.asarray(starts)
    for _ in range(3):
        kv_mask[np.arange(2), pos] = True
        attend = 8 if pos.max() < 8 else slots
        tok = jnp.asarray([[seqs[b][pos[b]]] for b in range(2)])
        h, cache = step(
            params,
            CFG,
            tok,
            jnp.asarray(pos)[:, None],
            kv_mask=jnp.asarray(kv_mask[:, :attend]),
            cache=cache,
            cache_index=jnp.asarray(pos, jnp.int32),
        )
        logits = M.project_logits(params, CFG, h[:, 0])
        for b in range(2):
            full = M.compute_logits(params, CFG, jnp.asarray([seqs[b][: pos[b] + 1]]))
            np.testing.assert_allclose(logits[b], full[0, -1], atol=1e-4)
        pos = pos + 1
