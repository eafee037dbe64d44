"""The official batch layout (row balancing, token-budget micro-batches) and the official entropy
and SFT reductions, against worked examples and a PyTorch reference written from the spec."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from official_reference import official_loss

from luffy_jax.objectives import LossConfig, finalize, objective_terms
from luffy_jax.objectives.official_batches import (
    balanced_row_order,
    largest_differencing,
    official_micro_batches,
    official_term_weights,
)

# (lengths, k, equal_size) -> the partitions the official code gives; each was checked by hand to
# be balanced (sums 14/14; 4 pairs of 9..10; 14/9/9 with the ties resolved as the official heap
# does; 70/70).
WORKED = [
    (([5, 1, 4, 2, 3, 3, 8, 2], 2, True), [[1, 5, 6, 7], [0, 2, 3, 4]]),
    (([5, 1, 4, 2, 3, 3, 8, 2], 4, True), [[1, 6], [0, 3], [4, 5], [2, 7]]),
    (([7, 7, 7, 7, 2, 2], 3, False), [[0, 1], [2, 5], [3, 4]]),
    (([10, 40, 20, 30, 25, 15], 2, False), [[3, 4, 5], [0, 1, 2]]),
]


@pytest.mark.parametrize("args,expected", WORKED)
def test_largest_differencing_reproduces_the_official_partitions(args, expected):
    lengths, k, equal = args
    assert largest_differencing(lengths, k, equal_size=equal) == expected


def test_largest_differencing_rejects_impossible_splits():
    with pytest.raises(ValueError, match="equal"):
        largest_differencing([1, 2, 3], 2, equal_size=True)
    with pytest.raises(ValueError, match="non-empty"):
        largest_differencing([1], 2, equal_size=False)


def test_balanced_row_order_lists_each_ranks_mini_batches():
    # ranks get rows {2,3,4,5} (8+2+7+3 = 20) and {0,1,6,7} (9+1+6+4 = 20); rank r's mini-batch j
    # is its j-th pair; mini-batch 0 = rank 0's first pair, then rank 1's.
    order = balanced_row_order([9, 1, 8, 2, 7, 3, 6, 4], ranks=2, mini_batches=2)
    assert order.tolist() == [2, 3, 0, 1, 4, 5, 6, 7]


# One mini-batch of 8 rows on 2 ranks (rows 0-3, 4-7), token budget 10: rank 0 has 20 tokens,
# rank 1 has 14, so K = 2 micro-batches per rank.
SEQ = [6, 4, 6, 4, 3, 3, 3, 5]  # prompt (1 token) + response
RESP = [5, 3, 5, 3, 2, 2, 2, 4]
TRACE = [True, False, False, False, False, True, False, False]


def test_official_micro_batches_and_weights_worked_example():
    parts, k = official_micro_batches(SEQ, ranks=2, max_tokens=10)
    assert k == 2
    assert parts == [[1, 2], [0, 3], [4, 7], [5, 6]]  # 10/10 tokens and 8/6 tokens
    ent_w, sft_w, _ = official_term_weights(SEQ, RESP, TRACE, ranks=2, max_tokens=10)
    # 1 / (2 ranks x response tokens of the row's micro-batch): 8, 8, 6 and 4 tokens
    np.testing.assert_allclose(
        ent_w, [1 / 16, 1 / 16, 1 / 16, 1 / 16, 1 / 12, 1 / 8, 1 / 8, 1 / 12]
    )
    # trace rows: row 0 alone in {0, 3} (5 trace tokens), row 5 in {5, 6} (2)
    np.testing.assert_allclose(sft_w, [1 / 10, 0, 0, 0, 0, 1 / 4, 0, 0])
    with pytest.raises(ValueError, match="micro-batch per row"):
        official_micro_batches([10] * 4, ranks=2, max_tokens=3)


def _batch(rng, seq=SEQ, resp=RESP, trace=TRACE, width=6):
    n = len(seq)
    mask = (np.arange(width)[None] < np.asarray(resp)[:, None]).astype(np.float32)
    off = mask * np.asarray(trace, np.float32)[:, None]
    return {
        "logp": -rng.uniform(0.05, 3.0, (n, width)),
        "old_logp": -rng.uniform(0.05, 3.0, (n, width)),
        "entropy": rng.uniform(0.1, 2.0, (n, width)),
        "advantages": rng.normal(size=n),
        "response_mask": mask,
        "off_policy_mask": off,
    }


def _ours(batch, objective, config, weights):
    ent_w, sft_w = weights
    jb = {k: jnp.asarray(v, jnp.float64) for k, v in batch.items()}
    jb["entropy_weight"], jb["sft_weight"] = jnp.asarray(ent_w), jnp.asarray(sft_w)

    def loss(logp, entropy):
        loss, _ = finalize(
            objective_terms(objective, {**jb, "logp": logp, "entropy": entropy}, config), config
        )
        return loss

    value, grads = jax.value_and_grad(loss, argnums=(0, 1))(jb["logp"], jb["entropy"])
    return float(value), [np.asarray(g) for g in grads]


def _reference(batch, objective, parts, ranks, config, width):
    t = {k: torch.tensor(v, dtype=torch.float64) for k, v in batch.items()}
    logp = t["logp"].clone().requires_grad_(True)
    ent = t["entropy"].clone().requires_grad_(True)
    loss = official_loss(
        parts,
        ranks,
        logp=logp,
        old_logp=t["old_logp"],
        entropy=ent,
        adv=t["advantages"],
        mask=t["response_mask"],
        off=t["off_policy_mask"],
        objective=objective,
        entropy_coef=config.entropy_coef,
        sft_coef=config.sft_coef,
        width=width,
    )
    loss.backward()
    return loss.item(), [logp.grad.numpy(), ent.grad.numpy()]


@pytest.mark.parametrize("objective", ["luffy", "rl_with_sft_loss"])
def test_official_reductions_equal_the_per_micro_batch_loss(objective):
    """Entropy (and SFT) term with the official reduction: value and gradients equal the official
    loss (micro-batches finalised one by one, summed, ranks averaged) of the PyTorch reference."""
    jax.config.update("jax_enable_x64", True)
    try:
        rng = np.random.default_rng(3)
        batch = _batch(rng)
        width = 6
        # The PG normaliser of the official code is the width per micro-batch averaged over ranks.
        config = LossConfig(
            entropy_coef=0.05,  # large enough for the entropy term to matter in the comparison
            constant_normalizer=2.0 * width,
            entropy_reduction="official",
            sft_reduction="official",
        )
        weights = official_term_weights(SEQ, RESP, TRACE, ranks=2, max_tokens=10)[:2]
        ours, our_grads = _ours(batch, objective, config, weights)
        parts = [[1, 2], [0, 3], [4, 7], [5, 6]]
        ref, ref_grads = _reference(batch, objective, parts, 2, config, width)
        assert ours == pytest.approx(ref, rel=1e-12, abs=1e-12)
        for g, r in zip(our_grads, ref_grads):
            np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-14)
        # The mini-batch mean (our other setting) differs: one token mean instead of four.
        mean_cfg = config.replace(
            entropy_reduction="mini_batch_mean", sft_reduction="mini_batch_mean"
        )
        assert _ours(batch, objective, mean_cfg, weights)[0] != pytest.approx(ref, rel=1e-3)
    finally:
        jax.config.update("jax_enable_x64", False)


def test_official_reduction_needs_the_weights():
    batch = {k: jnp.asarray(v) for k, v in _batch(np.random.default_rng(0)).items()}
    with pytest.raises(ValueError, match="entropy_weight"):
        objective_terms("luffy", batch, LossConfig(entropy_reduction="official"))
    batch["entropy_weight"] = jnp.zeros(8)
    with pytest.raises(ValueError, match="sft_weight"):
        objective_terms("rl_with_sft_loss", batch, LossConfig(sft_reduction="official"))
