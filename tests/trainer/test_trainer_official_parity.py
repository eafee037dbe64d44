"""The 7B preset's effective objective equals the official one (spec 1.10) on a worked example of
the preset's size: 128 prompts x 8 rows, two 512-row mini-batches, responses of ~4.3k tokens, and
the official layout (row balancing over 8 ranks, 32768-token micro-batches, per-micro-batch
entropy means summed and averaged over the ranks) against the PyTorch reference."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from official_reference import official_loss_and_grads  # tests/ (on sys.path via its conftest)

from luffy_jax.objectives import finalize, objective_terms
from luffy_jax.objectives.official_batches import largest_differencing
from luffy_jax.trainer import translate
from luffy_jax.trainer.layout import arrange_rows


def preset_stage(variant="luffy"):
    from experiments import luffy_qwen25_math_7b as preset

    c = preset.get_config(variant)
    c.reward.judge = "ours"  # the judge does not enter the objective; math-verify is optional
    return translate(c).stages[0]


def realistic_step(rows=1024, p_len=1024, r_len=8192, n=8, seed=0):
    """Rows of one LUFFY step: row 0 of each group of 8 a trace; response lengths U(500, 8192)
    (mean ~4.3k, some at the budget), prompts of 80-400 tokens; float64 log-probs/entropies."""
    rng = np.random.default_rng(seed)
    resp = rng.integers(500, r_len + 1, rows)
    prompt = rng.integers(80, 401, rows)
    cols = np.arange(r_len)[None]
    mask = (cols < resp[:, None]).astype(np.float64)
    off = mask * (np.arange(rows) % n == 0)[:, None]
    attn = np.concatenate([np.arange(p_len)[None] >= (p_len - prompt)[:, None], mask > 0], 1)
    return {
        "attention_mask": attn,
        "response_mask": mask,
        "off_policy_mask": off,
        "logp": -rng.uniform(0.01, 4.0, (rows, r_len)),
        "old_logp": -rng.uniform(0.01, 4.0, (rows, r_len)),
        "entropy": rng.uniform(0.05, 3.0, (rows, r_len)),
        "advantages": rng.choice([-0.125, 0.875, 0.0], rows),
    }


def official_reference_losses(step, ranks=8, budget=32768, mini_batches=2):
    """Per optimizer step: the official loss and its gradients w.r.t. logp and entropy."""
    seq = step["attention_mask"].sum(-1)
    groups = largest_differencing(seq.tolist(), ranks, equal_size=True)
    per = len(seq) // ranks // mini_batches
    arrays = {
        "logp": step["logp"],
        "old_logp": step["old_logp"],
        "entropy": step["entropy"],
        "adv": step["advantages"],
        "mask": step["response_mask"],
        "off": step["off_policy_mask"],
    }
    out = []
    for j in range(mini_batches):
        shards = [g[j * per : (j + 1) * per] for g in groups]  # rank r's rows of mini-batch j
        k = max(-(-int(seq[s].sum()) // budget) for s in shards)
        parts = []
        for s in shards:
            split = largest_differencing(seq[s].tolist(), k, equal_size=False)
            parts += [[s[i] for i in p] for p in split]
        loss, g_logp, g_ent = official_loss_and_grads(
            parts, ranks, arrays, entropy_coef=0.001, width=8192
        )
        out.append((loss, g_logp, g_ent, k))
    return out


@pytest.fixture(scope="module")
def x64():
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", False)


@pytest.fixture(scope="module")
def worked_step():
    step = realistic_step()
    return step, official_reference_losses(step)


def test_7b_preset_objective_equals_the_official_one_on_a_512_row_example(x64, worked_step):
    stage = preset_stage()
    assert stage.shape.rows_per_mini_batch == 512 and stage.shape.row_order == "official"
    assert stage.loss.entropy_reduction == "official"
    step, reference = worked_step
    assert 4000 < step["response_mask"].sum(-1).mean() < 4700
    arranged, metrics = arrange_rows(step, stage)
    for j, (ref_loss, ref_glogp, ref_gent, k) in enumerate(reference):
        sl = slice(512 * j, 512 * (j + 1))
        mb = {key: jnp.asarray(v[sl]) for key, v in arranged.items() if key != "attention_mask"}

        def loss_fn(logp, entropy, mb=mb):
            terms = objective_terms("luffy", {**mb, "logp": logp, "entropy": entropy}, stage.loss)
            return finalize(terms, stage.loss)[0]

        ours, (g_logp, g_ent) = jax.value_and_grad(loss_fn, argnums=(0, 1))(
            mb["logp"], mb["entropy"]
        )
        assert float(ours) == pytest.approx(ref_loss, rel=1e-10, abs=1e-13)
        # our rows are a permutation of the step's: compare gradients row by row
        rows = _row_index(arranged, step)[sl]
        # (the trainer's row weights are float32: 1e-7 relative on the entropy gradient)
        np.testing.assert_allclose(np.asarray(g_logp), ref_glogp[rows], rtol=1e-6, atol=1e-16)
        np.testing.assert_allclose(np.asarray(g_ent), ref_gent[rows], rtol=1e-6, atol=1e-16)
        assert k >= 8  # ~290k tokens per rank -> 9-10 micro-batches of <= 32768 tokens
    assert metrics["batch/official_micro_batches"] == pytest.approx(
        np.mean([r[3] for r in reference])
    )


def _row_index(arranged, step):
    """For each arranged row, its index in ``step`` (rows are told apart by their logp rows)."""
    where = {row[:4].tobytes(): i for i, row in enumerate(step["logp"])}
    return np.asarray([where[row[:4].tobytes()] for row in arranged["logp"]])


def test_mini_batch_mean_setting_is_k_times_smaller_for_a_uniform_entropy(x64, worked_step):
    """Our other setting: one token mean per mini-batch; on this example the official entropy term
    is K x larger for a uniform entropy (each micro-batch mean is the same value)."""
    stage = preset_stage()
    step = dict(worked_step[0], entropy=np.full_like(worked_step[0]["entropy"], 0.7))
    arranged, _ = arrange_rows(step, stage)
    mb = {key: jnp.asarray(v[:512]) for key, v in arranged.items() if key != "attention_mask"}
    official = finalize(objective_terms("luffy", mb, stage.loss), stage.loss)[1]
    mean_cfg = stage.loss.replace(entropy_reduction="mini_batch_mean")
    ours = finalize(objective_terms("luffy", mb, mean_cfg), mean_cfg)[1]
    k = worked_step[1][0][3]
    assert float(ours["actor/entropy_term"]) == pytest.approx(0.7)
    assert float(official["actor/entropy_term"]) == pytest.approx(0.7 * k)
