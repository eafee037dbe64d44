"""The official batch layout applied to a step's rows before the update (spec 1.10).

:func:`arrange_rows` (a no-op unless a stage asks for it, see
:func:`luffy_jax.trainer.config.uses_official_layout`):

- ``batch.row_order = "official"``: the rows are permuted so that consecutive
  ``rows_per_mini_batch`` rows are the official mini-batches (rows balanced by token count over
  ``official_ranks`` ranks; within a mini-batch, rank 0's rows first);
- ``loss.entropy_reduction`` / ``loss.sft_reduction = "official"``: per-row weights
  ``entropy_weight`` / ``sft_weight`` (float32 ``[N]``) from the official micro-batches of each
  mini-batch (:func:`luffy_jax.objectives.official_batches.official_term_weights`), which the
  objective turns into the official terms.

Token counts are what the official code counts: prompt + response tokens (``attention_mask``)
for balancing and micro-batch formation, valid response tokens for the token means.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from luffy_jax.objectives import LossConfig
from luffy_jax.objectives.official_batches import balanced_row_order, official_term_weights
from luffy_jax.trainer.config import ConfigError, RunShape, Stage
from luffy_jax.trainer.methods import Method


def arrange_rows(
    arrays: Mapping[str, np.ndarray], stage: Stage
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The step's row arrays (all with the same leading dim), reordered and/or with the official
    term weights added per the stage's settings, and metrics (``batch/official_micro_batches``:
    the official micro-batches per rank, mean over mini-batches)."""
    out = dict(arrays)
    shape, loss = stage.shape, stage.loss
    if not uses_official_layout(stage.method, shape, loss):
        return out, {}
    seq_lens = np.asarray(out["attention_mask"]).sum(-1).astype(np.int64)
    if shape.row_order == "official":
        order = balanced_row_order(seq_lens, shape.official_ranks, shape.mini_batches)
        out = {k: np.asarray(v)[order] for k, v in out.items()}
        seq_lens = seq_lens[order]
    metrics: dict[str, float] = {}
    if loss.entropy_reduction == "official" or loss.sft_reduction == "official":
        n = len(seq_lens)
        tokens = np.asarray(out["response_mask"]).sum(-1)
        trace = np.asarray(out["off_policy_mask"]).any(-1)
        ent_w, sft_w, ks = np.zeros(n, np.float32), np.zeros(n, np.float32), []
        per = shape.rows_per_mini_batch
        for m0 in range(0, n, per):
            sl = slice(m0, m0 + per)
            ent_w[sl], sft_w[sl], k = official_term_weights(
                seq_lens[sl],
                tokens[sl],
                trace[sl],
                ranks=shape.official_ranks,
                max_tokens=shape.official_max_tokens,
            )
            ks.append(k)
        out["entropy_weight"], out["sft_weight"] = ent_w, sft_w
        metrics["batch/official_micro_batches"] = float(np.mean(ks))
    return out, metrics


def check_official_layout(method: Method, shape: RunShape, loss: LossConfig) -> None:
    """The official row balancing / micro-batches need rows that split over the ranks."""
    if not uses_official_layout(method, shape, loss):
        return
    ranks, rows = shape.official_ranks, shape.rows_per_mini_batch
    if ranks < 1 or rows % ranks:
        raise ConfigError(
            f"config.batch.official_ranks={ranks}: a mini-batch of {rows} rows must split evenly "
            "over the official ranks (batch.row_order / loss.*_reduction = 'official')"
        )
    width = shape.max_prompt_length + shape.max_response_length
    if shape.official_max_tokens < width:
        raise ConfigError(
            f"config.batch.official_max_tokens={shape.official_max_tokens} must be >= "
            f"max_prompt_length + max_response_length = {width} (as the official code asserts)"
        )


def uses_official_layout(method: Method, shape: RunShape, loss: LossConfig) -> bool:
    """Whether a stage reorders its rows or weights its terms the official way."""
    return method.rewards and (
        shape.row_order == "official"
        or loss.entropy_reduction == "official"
        or loss.sft_reduction == "official"
    )
