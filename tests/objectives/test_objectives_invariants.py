"""The spec's invariants 8-17 (../shared/docs/luffy_spec.md section 7) as explicit tests."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from luffy_jax import objectives as obj
from luffy_jax import sharding

LUFFY = obj.LossConfig()


def test_worked_example_seven_wrong_one_trace_right():
    rewards = jnp.array([1.0] + [0.0] * 7)
    off = jnp.array([True] + [False] * 7)
    adv = obj.group_advantages(rewards, jnp.zeros(8, jnp.int32), off)
    np.testing.assert_allclose(adv, [0.875] + [-0.125] * 7, atol=1e-7)
    assert abs(float(adv.sum())) < 1e-6


def test_all_equal_group_gives_zero_advantage_with_and_without_std():
    ids = jnp.array([0] * 8 + [1] * 8)
    rewards = jnp.array([1.0] * 8 + [0.0] * 8)
    off = jnp.zeros(16, bool)
    for use_std in (False, True):
        np.testing.assert_allclose(obj.group_advantages(rewards, ids, off, use_std=use_std), 0.0)


def test_groups_need_not_be_sorted_or_contiguous():
    ids = jnp.array([7, 3, 7, 3, 7])
    rewards = jnp.array([1.0, 0.0, 0.0, 1.0, 0.0])
    adv = obj.group_advantages(rewards, ids, jnp.zeros(5, bool))
    np.testing.assert_allclose(adv, [2 / 3, -0.5, -1 / 3, 0.5, -1 / 3], atol=1e-6)


def test_group_of_one_uses_mean_zero_std_one():
    adv = obj.group_advantages(
        jnp.array([1.0, 0.0]), jnp.array([0, 1]), jnp.zeros(2, bool), use_std=True
    )
    np.testing.assert_allclose(adv, [1.0 / (1 + 1e-6), 0.0], rtol=1e-6)


def test_grpo_split_uses_on_policy_mean_only():
    rewards = jnp.array([1.0, 1.0, 0.0, 0.0, 0.0])
    off = jnp.array([True, False, False, False, False])
    adv = obj.group_advantages(rewards, jnp.zeros(5, jnp.int32), off, stats_from="on_policy")
    np.testing.assert_allclose(adv, [0.75, 0.75, -0.25, -0.25, -0.25], atol=1e-7)
    assert abs(float(adv[1:].sum())) < 1e-6
    # zero on-policy std becomes 1; a single on-policy row uses mean 0 / std 1
    adv = obj.group_advantages(
        jnp.array([1.0, 0.0, 0.0]),
        jnp.zeros(3, jnp.int32),
        jnp.array([True, False, False]),
        stats_from="on_policy",
        use_std=True,
    )
    np.testing.assert_allclose(adv, [1.0 / (1 + 1e-6), 0.0, 0.0], rtol=1e-6)
    single = obj.group_advantages(
        jnp.array([1.0, 1.0]),
        jnp.zeros(2, jnp.int32),
        jnp.array([True, False]),
        stats_from="on_policy",
    )
    np.testing.assert_allclose(single, [1.0, 1.0])


def test_bad_stats_from_is_rejected():
    with pytest.raises(ValueError, match="stats_from"):
        obj.group_advantages(
            jnp.zeros(2), jnp.zeros(2, jnp.int32), jnp.zeros(2, bool), stats_from="x"
        )


def _single_token_grad(p, a, cfg, off=True, old_logp=None):
    logp = jnp.log(jnp.array([[p]]))
    old = logp if old_logp is None else jnp.array([[old_logp]])
    mask = jnp.ones((1, 1))
    z = mask if off else jnp.zeros((1, 1))
    f = lambda lp: obj.policy_loss(lp, old, jnp.array([a]), mask, z, cfg)[0]  # noqa: E731
    return jax.value_and_grad(f)(logp)


@pytest.mark.parametrize(
    "p,weight", [(0.01, 0.08264), (0.1, 0.25), (0.5, 0.13889), (0.999, 0.08271)]
)
def test_shaped_gradient_weight(p, weight):
    # Single token, width 1: loss = -A p/(p+0.1), dl/dlogp = -A * p*0.1/(p+0.1)^2.
    for a in (1.0, -2.0):
        loss, grad = _single_token_grad(p, a, LUFFY)
        np.testing.assert_allclose(float(loss), -a * p / (p + 0.1), rtol=1e-6)
        np.testing.assert_allclose(float(grad[0, 0]), -a * weight, rtol=2e-4)


def test_shaped_value_bounded_and_weight_peaks_at_gamma():
    ps = jnp.linspace(1e-4, 1.0, 2001)
    vals = obj.off_policy_value(jnp.log(ps), LUFFY)
    assert float(vals.max()) <= 1 / 1.1 + 1e-6
    grads = jax.vmap(jax.grad(lambda lp: obj.off_policy_value(lp, LUFFY)))(jnp.log(ps))
    assert abs(float(ps[jnp.argmax(grads)]) - 0.1) < 2e-3
    np.testing.assert_allclose(float(grads.max()), 0.25, rtol=1e-4)


def test_no_shaping_is_plain_probability():
    cfg = LUFFY.replace(off_policy_shaping="none")
    loss, grad = _single_token_grad(0.3, 1.5, cfg)
    np.testing.assert_allclose(float(loss), -1.5 * 0.3, rtol=1e-6)
    np.testing.assert_allclose(float(grad[0, 0]), -1.5 * 0.3, rtol=1e-5)


def test_on_policy_unclipped_at_old_policy():
    loss, grad = _single_token_grad(0.42, 0.7, LUFFY, off=False)
    np.testing.assert_allclose(float(loss), -0.7, rtol=1e-6)
    np.testing.assert_allclose(float(grad[0, 0]), -0.7, rtol=1e-6)


@pytest.mark.parametrize(
    "a,ratio,zero_grad",
    [(1.0, 1.3, True), (-1.0, 0.7, True), (1.0, 0.7, False), (-1.0, 1.3, False)],
)
def test_clipping_zeroes_gradient_outside_the_trust_region(a, ratio, zero_grad):
    cfg = LUFFY.replace(use_clip=True)
    p = 0.5
    loss, grad = _single_token_grad(p, a, cfg, off=False, old_logp=float(np.log(p / ratio)))
    if zero_grad:
        assert float(grad[0, 0]) == 0.0
        np.testing.assert_allclose(float(loss), -a * np.clip(ratio, 0.8, 1.2), rtol=1e-5)
    else:
        np.testing.assert_allclose(float(grad[0, 0]), -a * ratio, rtol=1e-5)


def test_off_policy_tokens_are_never_clipped():
    cfg = LUFFY.replace(use_clip=True)
    loss, grad = _single_token_grad(0.9, 1.0, cfg, off=True, old_logp=float(np.log(0.1)))
    np.testing.assert_allclose(float(loss), -0.9 / 1.0, rtol=1e-6)
    assert float(grad[0, 0]) != 0.0


def test_constant_normalisation_divides_by_padded_width():
    logp = jnp.log(jnp.full((2, 16), 0.5))
    mask = jnp.zeros((2, 16)).at[:, :3].set(1.0)
    adv = jnp.array([1.0, 1.0])
    z = jnp.zeros((2, 16))
    loss, _ = obj.policy_loss(logp, logp, adv, mask, z, LUFFY)
    np.testing.assert_allclose(float(loss), -6.0 / 16, rtol=1e-6)  # 6 tokens, width 16
    loss, _ = obj.policy_loss(logp, logp, adv, mask, z, LUFFY.replace(constant_normalizer=8192.0))
    np.testing.assert_allclose(float(loss), -6.0 / 8192, rtol=1e-6)
    loss, _ = obj.policy_loss(logp, logp, adv, mask, z, LUFFY.replace(aggregation="token_mean"))
    np.testing.assert_allclose(float(loss), -1.0, rtol=1e-6)


def _mixed_batch(seed=0, n=8, t=12):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, t + 1, size=n)
    m = (np.arange(t)[None] < lengths[:, None]).astype(np.float32)
    z = np.zeros_like(m)
    z[0] = m[0]
    return {
        "logp": jnp.asarray(np.log(rng.uniform(0.01, 1.0, (n, t))), jnp.float32),
        "old_logp": jnp.asarray(np.log(rng.uniform(0.01, 1.0, (n, t))), jnp.float32),
        "entropy": jnp.asarray(rng.uniform(0.0, 3.0, (n, t)), jnp.float32),
        "ref_logp": jnp.asarray(np.log(rng.uniform(0.01, 1.0, (n, t))), jnp.float32),
        "advantages": jnp.asarray(rng.normal(size=n), jnp.float32),
        "response_mask": jnp.asarray(m),
        "off_policy_mask": jnp.asarray(z),
    }


def test_total_objective_is_pg_minus_entropy_over_all_valid_tokens():
    b = _mixed_batch()
    loss, metrics = obj.finalize(obj.objective_terms("luffy", b, LUFFY), LUFFY)
    pg, _ = obj.policy_loss(
        b["logp"], b["old_logp"], b["advantages"], b["response_mask"], b["off_policy_mask"], LUFFY
    )
    m = np.asarray(b["response_mask"])
    ent = (m * np.asarray(b["entropy"])).sum() / m.sum()
    np.testing.assert_allclose(float(loss), float(pg) - 0.001 * ent, rtol=1e-6)
    np.testing.assert_allclose(float(metrics["actor/entropy_loss"]), ent, rtol=1e-6)


def test_kl_term_uses_k3_token_mean():
    b = _mixed_batch(1)
    cfg = LUFFY.replace(kl_coef=0.05, entropy_coef=0.0)
    loss, metrics = obj.finalize(obj.objective_terms("luffy", b, cfg), cfg)
    m = np.asarray(b["response_mask"])
    d = np.asarray(b["ref_logp"]) - np.asarray(b["logp"])
    k3 = np.clip(np.exp(d) - d - 1, -10, 10)
    np.testing.assert_allclose(float(metrics["actor/kl_loss"]), (m * k3).sum() / m.sum(), rtol=1e-5)
    pg, _ = obj.policy_loss(
        b["logp"], b["old_logp"], b["advantages"], b["response_mask"], b["off_policy_mask"], cfg
    )
    np.testing.assert_allclose(float(loss), float(pg) + 0.05 * (m * k3).sum() / m.sum(), rtol=1e-5)


def test_micro_batch_accumulation_is_exact():
    b = _mixed_batch(2, n=8)
    for name in obj.OBJECTIVES:
        cfg = LUFFY.replace(kl_coef=0.1)
        whole, _ = obj.finalize(obj.objective_terms(name, b, cfg), cfg)
        parts = [jax.tree.map(lambda x, s=s: x[s], b) for s in (slice(0, 3), slice(3, 8))]
        acc = obj.zero_terms()
        for part in parts:
            acc = obj.accumulate(acc, obj.objective_terms(name, part, cfg))
        split, _ = obj.finalize(acc, cfg)
        np.testing.assert_allclose(float(split), float(whole), rtol=1e-5, err_msg=name)


def test_sft_objective_is_token_mean_nll_on_traces():
    b = _mixed_batch(3)
    cfg = LUFFY.replace(entropy_coef=0.0)
    loss, metrics = obj.finalize(obj.objective_terms("sft", b, cfg), cfg)
    t = np.asarray(b["off_policy_mask"]) * np.asarray(b["response_mask"])
    np.testing.assert_allclose(float(loss), -(t * np.asarray(b["logp"])).sum() / t.sum(), rtol=1e-6)
    m = np.asarray(b["response_mask"])
    ent = (m * np.asarray(b["entropy"])).sum() / m.sum()
    np.testing.assert_allclose(float(metrics["actor/entropy_loss"]), ent, rtol=1e-6)


def test_rl_with_sft_loss_matches_spec_3_4():
    b = _mixed_batch(4)
    loss, metrics = obj.finalize(obj.objective_terms("rl_with_sft_loss", b, LUFFY), LUFFY)
    m = np.asarray(b["response_mask"])
    logp, old = np.asarray(b["logp"]), np.asarray(b["old_logp"])
    off_row = np.zeros(len(m), bool)
    off_row[0] = True
    sft = -(m[off_row] * logp[off_row]).sum() / m[off_row].sum()
    r = np.exp(logp - old)
    adv = np.asarray(b["advantages"])[:, None]
    rl = (m[~off_row] * (-adv[~off_row] * r[~off_row])).sum() / m.shape[1]
    ent = (m * np.asarray(b["entropy"])).sum() / m.sum()
    np.testing.assert_allclose(float(loss), sft + rl - 0.001 * ent, rtol=1e-5)
    # no trace row -> the SFT term is 0, not NaN (spec 6.2.18)
    b2 = dict(b, off_policy_mask=jnp.zeros_like(b["off_policy_mask"]))
    loss2, m2 = obj.finalize(obj.objective_terms("rl_with_sft_loss", b2, LUFFY), LUFFY)
    assert np.isfinite(float(loss2)) and float(m2["actor/sft_loss"]) == 0.0


def test_on_policy_grpo_clips_and_ignores_trace_mask():
    b = _mixed_batch(5)
    cfg = LUFFY.replace(use_clip=True)
    terms = obj.objective_terms("on_policy_grpo", b, LUFFY)
    no_trace = dict(b, off_policy_mask=jnp.zeros_like(b["off_policy_mask"]))
    ref, _ = obj.policy_loss(
        b["logp"],
        b["old_logp"],
        b["advantages"],
        b["response_mask"],
        no_trace["off_policy_mask"],
        cfg,
    )
    loss, _ = obj.finalize(terms, LUFFY.replace(entropy_coef=0.0))
    np.testing.assert_allclose(float(loss), float(ref), rtol=1e-6)


def test_metrics_follow_spec_definitions():
    b = _mixed_batch(6)
    _, metrics = obj.finalize(obj.objective_terms("luffy", b, LUFFY), LUFFY)
    m, z = np.asarray(b["response_mask"]), np.asarray(b["off_policy_mask"])
    logp, old = np.asarray(b["logp"]), np.asarray(b["old_logp"])
    on = m * (1 - z)
    np.testing.assert_allclose(
        float(metrics["actor/off_policy_prob"]), (z * np.exp(logp)).sum() / z.sum(), rtol=1e-5
    )
    np.testing.assert_allclose(
        float(metrics["actor/on_policy_prob"]), (on * np.exp(old)).sum() / on.sum(), rtol=1e-5
    )
    np.testing.assert_allclose(
        float(metrics["actor/ppo_kl"]), (m * (old - logp)).sum() / m.sum(), rtol=1e-5
    )
    p = np.exp(logp)
    np.testing.assert_allclose(
        float(metrics["actor/off_ratio_mean"]), (z * p / (p + 0.1)).sum() / z.sum(), rtol=1e-5
    )
    assert float(metrics["actor/off_pg_clipfrac"]) == 0.0


def test_unknown_objective_and_bad_config_name_the_field():
    with pytest.raises(ValueError, match="unknown objective"):
        obj.objective_terms("nope", _mixed_batch(), LUFFY)
    with pytest.raises(ValueError, match="off_policy_shaping"):
        obj.LossConfig(off_policy_shaping="p_div_q")
    with pytest.raises(ValueError, match="aggregation"):
        obj.LossConfig(aggregation="mean")


def test_registering_a_new_objective_is_one_function():
    @obj.register_objective("test_double_luffy")
    def _double(batch, config):
        t = obj.objective_terms("luffy", batch, config)
        return obj.accumulate(t, t)

    try:
        b = _mixed_batch(7)
        single, _ = obj.finalize(obj.objective_terms("luffy", b, LUFFY), LUFFY)
        double, _ = obj.finalize(obj.objective_terms("test_double_luffy", b, LUFFY), LUFFY)
        # PG sums double but the constant width does not; entropy mean is unchanged.
        assert float(double) != float(single)
    finally:
        obj.OBJECTIVES.pop("test_double_luffy")


def test_sharded_loss_equals_unsharded():
    b = _mixed_batch(8, n=16, t=8)
    mesh = sharding.make_mesh(sharding.MeshConfig(data=2, fsdp=4, tensor=1))
    placed = {k: jax.device_put(v, sharding.batch_sharding(mesh, v.ndim)) for k, v in b.items()}
    assert len(placed["logp"].sharding.device_set) == 8

    @jax.jit
    def loss_and_grad(batch):
        def f(lp):
            return obj.finalize(obj.objective_terms("luffy", dict(batch, logp=lp), LUFFY), LUFFY)[0]

        return jax.value_and_grad(f)(batch["logp"])

    l1, g1 = loss_and_grad(b)
    l2, g2 = loss_and_grad(placed)
    np.testing.assert_allclose(float(l2), float(l1), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g2), np.asarray(g1), rtol=1e-6, atol=1e-9)
    adv1 = obj.group_advantages(jnp.arange(16.0) % 3, jnp.arange(16) // 8, jnp.arange(16) % 8 == 0)
    adv2 = jax.jit(obj.group_advantages)(
        jax.device_put(jnp.arange(16.0) % 3, sharding.batch_sharding(mesh, 1)),
        jax.device_put(jnp.arange(16) // 8, sharding.batch_sharding(mesh, 1)),
        jax.device_put(jnp.arange(16) % 8 == 0, sharding.batch_sharding(mesh, 1)),
    )
    np.testing.assert_allclose(np.asarray(adv2), np.asarray(adv1), rtol=1e-6)


def test_merge_terms_adds_sums_but_keeps_shared_counts():
    b = _mixed_batch(3)
    pol = obj.policy_terms(
        b["logp"], b["old_logp"], b["advantages"], b["response_mask"], b["off_policy_mask"], LUFFY
    )
    ent = obj.entropy_kl_terms(b["response_mask"], LUFFY, logp=b["logp"], entropy=b["entropy"])
    merged = obj.merge_terms(pol, ent)
    # Both parts count the same valid tokens: the merge must not double them.
    assert float(merged["valid_tokens"]) == float(pol["valid_tokens"]) > 0
    assert float(merged["pg_width"]) == float(pol["pg_width"])
    assert float(merged["pg_sum"]) == float(pol["pg_sum"] + ent["pg_sum"])
    assert float(merged["entropy_sum"]) == float(pol["entropy_sum"] + ent["entropy_sum"]) != 0.0
