"""luffy_jax.objectives against a PyTorch reference written from the spec (sections 1.7-1.9, 3)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from luffy_jax import objectives as obj

# ---------------------------------------------------------------------------------------------
# PyTorch reference, transcribed from ../shared/docs/luffy_spec.md (not from the JAX code).
# ---------------------------------------------------------------------------------------------


def torch_off_value(logp, shaping, gamma, k, w):
    p = torch.exp(logp)
    if shaping == "p_div_p":
        return p / (p + gamma)
    if shaping == "none":
        return p
    if shaping == "logp":
        return w * logp
    if shaping == "p_logp":
        return w * logp + p
    if shaping == "sqrt":
        return torch.sqrt(p)
    if shaping == "pow":
        return torch.pow(p, k)
    raise ValueError(shaping)


def torch_on_ratio(logp, old, shaping, gamma, k, w):
    r = torch.exp(logp - old)
    if shaping == "none":
        return r
    if shaping == "logp":
        return logp - old
    if shaping == "p_logp":
        return r + w * (logp - old)
    if shaping == "sqrt":
        return torch.sqrt(r)
    if shaping == "pow":
        return torch.pow(r, k)
    if shaping == "p_div_p":
        p, po = torch.exp(logp), torch.exp(old)
        return (p / (p + gamma)) / (po / (po + gamma))
    raise ValueError(shaping)


def torch_policy_loss(logp, old, adv, m, z, cfg: obj.LossConfig):
    """compute_token_on_off_policy_loss as described in spec 1.8; returns (pg_loss, clipfrac)."""
    if adv.dim() == 1:
        adv = adv[:, None].expand_as(logp)
    ratio = torch_on_ratio(
        logp,
        old,
        cfg.on_policy_shaping,
        cfg.on_shaping_gamma,
        cfg.on_shaping_pow,
        cfg.on_shaping_weight,
    )
    l_on = -adv * ratio
    clipfrac = torch.zeros(())
    if cfg.use_clip:
        l_clip = -adv * torch.clamp(ratio, cfg.clip_low, cfg.clip_high)
        clipfrac = ((l_clip > l_on).float() * m).sum() / m.sum()
        l_on = torch.max(l_on, l_clip)
    x = torch_off_value(
        logp, cfg.off_policy_shaping, cfg.shaping_gamma, cfg.shaping_pow, cfg.shaping_weight
    )
    if cfg.off_max_clip is not None:
        x = torch.clamp(x, max=cfg.off_max_clip)
    if cfg.off_min_clip is not None:
        x = torch.clamp(x, min=cfg.off_min_clip)
    l_off = -adv * x
    tok = z * l_off + (1 - z) * l_on
    if cfg.aggregation == "constant":
        width = m.shape[-1] if cfg.constant_normalizer is None else cfg.constant_normalizer
        pg = (m * tok).sum() / width
    elif cfg.aggregation == "token_mean":
        pg = (m * tok).sum() / m.sum()
    else:
        per = (m * tok).sum(-1) / m.sum(-1).clamp(min=1)
        pg = per[m.sum(-1) > 0].mean()
    return pg, clipfrac


def random_batch(seed, n=6, t=9, dtype=np.float32):
    rng = np.random.default_rng(seed)
    logp = np.log(rng.uniform(0.005, 0.999, size=(n, t))).astype(dtype)
    old = np.log(rng.uniform(0.005, 0.999, size=(n, t))).astype(dtype)
    adv = rng.normal(size=(n,)).astype(dtype)
    lengths = rng.integers(1, t + 1, size=n)
    m = (np.arange(t)[None, :] < lengths[:, None]).astype(dtype)
    z = np.zeros((n, t), dtype)
    z[0] = m[0]
    z[3] = m[3]
    return logp, old, adv, m, z


OPTION_GRID = list(
    itertools.product(
        [False, True],  # use_clip
        ["p_div_p", "none", "logp", "p_logp", "sqrt", "pow"],  # off shaping
        ["none", "p_div_p", "logp", "sqrt"],  # on shaping
        ["constant", "token_mean", "seq_mean_token_mean"],
    )
)


@pytest.fixture(scope="module")
def batch32():
    return random_batch(0)


@pytest.mark.parametrize("use_clip,off,on,agg", OPTION_GRID)
def test_policy_loss_and_grad_match_torch(batch32, use_clip, off, on, agg):
    cfg = obj.LossConfig(
        use_clip=use_clip,
        off_policy_shaping=off,
        on_policy_shaping=on,
        aggregation=agg,
        clip_ratio_high=0.28 if use_clip else None,
        shaping_pow=0.7,
    )
    logp, old, adv, m, z = batch32
    tl = torch.tensor(logp, requires_grad=True)
    ref, ref_clip = torch_policy_loss(
        tl, torch.tensor(old), torch.tensor(adv), torch.tensor(m), torch.tensor(z), cfg
    )
    ref.backward()

    def f(lp):
        return obj.policy_loss(lp, old, adv, m, z, cfg)

    (loss, metrics), grad = jax.value_and_grad(f, has_aux=True)(jnp.asarray(logp))
    np.testing.assert_allclose(float(loss), ref.item(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(grad), tl.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(float(metrics["actor/pg_clipfrac"]), ref_clip.item(), atol=1e-6)


@pytest.mark.parametrize("max_clip,min_clip", [(0.5, None), (None, 0.3), (0.6, 0.2)])
def test_off_policy_clamps_match_torch(batch32, max_clip, min_clip):
    cfg = obj.LossConfig(off_max_clip=max_clip, off_min_clip=min_clip, off_policy_shaping="none")
    logp, old, adv, m, z = batch32
    ref, _ = torch_policy_loss(*(torch.tensor(a) for a in (logp, old, adv, m, z)), cfg)
    loss, metrics = obj.policy_loss(logp, old, adv, m, z, cfg)
    np.testing.assert_allclose(float(loss), ref.item(), rtol=1e-6, atol=1e-7)
    p = np.exp(logp)[z > 0]
    if max_clip is not None:
        np.testing.assert_allclose(
            float(metrics["actor/off_ratio_max_clip_frac"]), (p > max_clip).mean(), atol=1e-6
        )
    if min_clip is not None:
        shaped = np.minimum(p, max_clip) if max_clip is not None else p
        np.testing.assert_allclose(
            float(metrics["actor/off_ratio_min_clip_frac"]), (shaped < min_clip).mean(), atol=1e-6
        )


@pytest.mark.parametrize(
    "use_clip,off,on,agg",
    [
        (False, "p_div_p", "none", "constant"),
        (True, "pow", "p_div_p", "token_mean"),
        (False, "p_logp", "sqrt", "seq_mean_token_mean"),
        (True, "logp", "logp", "constant"),
    ],
)
def test_x64_parity_to_1e12(use_clip, off, on, agg):
    cfg = obj.LossConfig(
        use_clip=use_clip, off_policy_shaping=off, on_policy_shaping=on, aggregation=agg
    )
    logp, old, adv, m, z = random_batch(5, dtype=np.float64)
    tl = torch.tensor(logp, requires_grad=True)
    ref, _ = torch_policy_loss(
        tl, torch.tensor(old), torch.tensor(adv), torch.tensor(m), torch.tensor(z), cfg
    )
    ref.backward()
    with jax.enable_x64(True):
        f = lambda lp: obj.policy_loss(lp, old, adv, m, z, cfg)[0]  # noqa: E731
        loss, grad = jax.value_and_grad(f)(jnp.asarray(logp, jnp.float64))
        assert loss.dtype == jnp.float64
        np.testing.assert_allclose(float(loss), ref.item(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.asarray(grad), tl.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_group_advantages_match_torch_reference():
    rng = np.random.default_rng(3)
    rewards = rng.integers(0, 2, size=24).astype(np.float32)
    gids = np.repeat(np.arange(3), 8)
    off = np.zeros(24, bool)
    off[::8] = True
    for use_std in (False, True):
        got = np.asarray(obj.group_advantages(rewards, gids, off, use_std=use_std))
        r = torch.tensor(rewards).view(3, 8)
        mean = r.mean(-1, keepdim=True)
        std = r.std(-1, keepdim=True)  # unbiased, as torch.std
        ref = (r - mean) / (std + 1e-6) if use_std else r - mean
        np.testing.assert_allclose(got, ref.flatten().numpy(), rtol=1e-6, atol=1e-6)
        got_split = np.asarray(
            obj.group_advantages(rewards, gids, off, stats_from="on_policy", use_std=use_std)
        )
        on = r[:, 1:]
        mean_on = on.mean(-1, keepdim=True)
        std_on = on.std(-1, keepdim=True)
        std_on = torch.where(std_on == 0, torch.ones_like(std_on), std_on)
        ref_split = (r - mean_on) / (std_on + 1e-6) if use_std else r - mean_on
        np.testing.assert_allclose(got_split, ref_split.flatten().numpy(), rtol=1e-6, atol=1e-6)
