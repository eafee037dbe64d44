"""How much larger the official entropy (and SFT) term is than a mini-batch token mean, on LUFFY
steps of the preset's shape (128 prompts x 8 rows, 2 mini-batches of 512, 8 ranks, 32768-token
micro-batches): ``loss.entropy_reduction=official`` vs ``mini_batch_mean``.

    python experiments/benchmarks/entropy_factor.py

Rows: one trace per group of 8; response lengths uniform on [lo, 8192] (the default lo=500 gives a
mean of ~4.3k tokens, some rows at the budget); prompts of 80-400 tokens. The factor is
``official term / mini-batch mean`` for the same per-token values; for a uniform entropy it is
exactly K (the micro-batches per rank); "split" gives trace tokens a lower entropy (0.3) than
sampled ones (1.0). Pure numpy (no model): prints JSON.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

from luffy_jax.objectives.official_batches import balanced_row_order, official_term_weights


def factors(lo: int, seed: int = 0, rows: int = 1024, n: int = 8) -> dict:
    rng = np.random.default_rng(seed)
    resp = rng.integers(lo, 8193, rows)
    seq = resp + rng.integers(80, 401, rows)
    trace = np.arange(rows) % n == 0
    order = balanced_row_order(seq, ranks=8, mini_batches=2)
    resp, seq, trace = resp[order], seq[order], trace[order]
    out = {
        "mean_response_tokens": float(resp.mean()),
        "K": [],
        "uniform": [],
        "split": [],
        "sft": [],
    }
    for m0 in (0, 512):
        sl = slice(m0, m0 + 512)
        ent_w, sft_w, k = official_term_weights(
            seq[sl], resp[sl], trace[sl], ranks=8, max_tokens=32768
        )
        tokens, is_trace = resp[sl].astype(float), trace[sl]
        h = np.where(is_trace, 0.3, 1.0)  # per-row entropy (constant over a row's tokens)
        out["K"].append(k)
        out["uniform"].append(float((ent_w * tokens).sum()))
        official_split = float((ent_w * tokens * h).sum())
        out["split"].append(official_split / float((tokens * h).sum() / tokens.sum()))
        out["sft"].append(float((sft_w * tokens).sum()))  # official SFT term / trace token mean
    return out


def main() -> None:
    results = {f"lo={lo}": factors(lo) for lo in (500, 2000, 4000, 6000)}
    results["lo=500_seed1"] = factors(500, seed=1)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
