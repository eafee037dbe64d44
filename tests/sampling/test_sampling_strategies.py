"""Statistical checks of temperature, top-k and top-p on a controlled distribution."""

import jax
import jax.numpy as jnp
import numpy as np

from luffy_jax.sampling import choose_tokens, filter_top_k, filter_top_p

PROBS = np.array([0.4, 0.25, 0.15, 0.1, 0.06, 0.04])
LOGITS = jnp.log(jnp.asarray(PROBS, jnp.float32))[None]
DRAWS = 20000


def _frequencies(temperature, top_k=0, top_p=1.0, seed=0):
    keys = jax.random.split(jax.random.key(seed), DRAWS)
    logits = jnp.broadcast_to(LOGITS, (DRAWS, LOGITS.shape[1]))
    toks, logp = jax.jit(
        lambda lg, k: choose_tokens(lg, k, temperature=temperature, top_k=top_k, top_p=top_p)
    )(logits, keys)
    return (
        np.bincount(np.asarray(toks), minlength=len(PROBS)) / DRAWS,
        np.asarray(toks),
        np.asarray(logp),
    )


def _close(freq, expected):
    # 5 standard errors: stable for fixed seeds, far tighter than any wrong implementation's error
    se = np.sqrt(expected * (1 - expected) / DRAWS) + 1e-9
    assert np.all(np.abs(freq - expected) <= 5 * se + 1e-4), (freq, expected)


def test_temperature_one_samples_the_distribution():
    freq, toks, logp = _frequencies(1.0)
    _close(freq, PROBS)
    np.testing.assert_allclose(logp, np.log(PROBS)[toks], atol=1e-5)


def test_temperature_sharpens_and_flattens():
    for t in (0.5, 2.0):
        freq, toks, logp = _frequencies(t, seed=1)
        expected = PROBS ** (1 / t) / (PROBS ** (1 / t)).sum()
        _close(freq, expected)
        np.testing.assert_allclose(logp, np.log(expected)[toks], atol=1e-5)


def test_top_k_renormalises_sampling_but_not_logprobs():
    freq, toks, logp = _frequencies(1.0, top_k=2, seed=2)
    _close(freq, np.r_[PROBS[:2] / PROBS[:2].sum(), np.zeros(4)])
    np.testing.assert_allclose(logp, np.log(PROBS)[toks], atol=1e-5)  # full-distribution log-probs


def test_top_p_keeps_the_smallest_nucleus():
    freq, _, _ = _frequencies(1.0, top_p=0.7, seed=3)  # 0.4 + 0.25 < 0.7 -> third token kept too
    kept = PROBS[:3] / PROBS[:3].sum()
    _close(freq, np.r_[kept, np.zeros(3)])
    assert freq[3:].sum() == 0


def test_filters_directly_and_greedy():
    assert np.isfinite(np.asarray(filter_top_k(LOGITS, 3))).sum() == 6
    assert (np.asarray(filter_top_k(LOGITS, 3)) > -1e29).sum() == 3
    assert (np.asarray(filter_top_p(LOGITS, 0.05)) > -1e29).sum() == 1  # always at least one
    assert (np.asarray(filter_top_p(LOGITS, 1.0)) > -1e29).sum() == 6
    toks, logp = choose_tokens(LOGITS, jax.random.split(jax.random.key(0), 1), temperature=0.0)
    assert int(toks[0]) == 0 and abs(float(logp[0]) - np.log(0.4)) < 1e-6
