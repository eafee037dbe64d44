"""Metrics output: ``WORKDIR/metrics.jsonl`` (one JSON object per step), TensorBoard event files,
and a console line with an ETA.

Keys written every step (stable; ``luffy_jax.plot`` reads them): ``step``, ``loss``,
``reward_mean``, the ``actor/*`` metrics of spec 1.13 (``actor/pg_loss``, ``actor/entropy_loss``,
``actor/off_policy_prob``, ``actor/grad_norm``, ``actor/lr``, ...), ``batch/solved``,
``batch/on_solved``, ``batch/off_solved``, ``batch/solve_none``, ``batch/solve_all``,
``response_length/mean|max|min|clip_ratio``, ``on_off_metrics/*``, ``critic/score/mean``,
``critic/advantages/mean|max|min``, ``timing_s/gen|reward|old_log_prob|update_actor|step``,
``perf/tokens_per_s``, ``perf/mfu`` (when ``log.peak_tflops`` is set); and on validation steps
``val/test_score/<source>`` and ``val/avg_score``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from typing import Any

import numpy as np

from luffy_jax.trainer.config import RunShape
from luffy_jax.trainer.rollout import RolloutBatch

log = logging.getLogger("luffy_jax.train")


def _plain(v: Any) -> Any:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return v
    return f if math.isfinite(f) else None


class MetricsWriter:
    """Appends per-step metrics to ``metrics.jsonl`` and TensorBoard; prints progress."""

    def __init__(
        self, workdir: str, *, total_steps: int, tensorboard: bool = True, first_step: int = 0
    ):
        os.makedirs(workdir, exist_ok=True)
        self.path = os.path.join(workdir, "metrics.jsonl")
        self._tb = None
        if tensorboard:
            from tensorboardX import SummaryWriter

            self._tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
        self._total = total_steps
        self._start = time.monotonic()
        self._first = first_step

    def write(self, step: int, metrics: dict[str, Any]) -> None:
        record = {"step": int(step), **{k: _plain(v) for k, v in sorted(metrics.items())}}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if self._tb is not None:
            for k, v in record.items():
                if k != "step" and isinstance(v, float):
                    self._tb.add_scalar(k, v, step)
            self._tb.flush()
        done = step - self._first
        elapsed = time.monotonic() - self._start
        eta = elapsed / max(done, 1) * max(self._total - step, 0)
        log.info(
            "step %d/%d  loss %.4f  reward %.3f  entropy %.3f  %.1fs/step  ETA %s",
            step,
            self._total,
            record.get("loss") or 0.0,
            record.get("reward_mean") or 0.0,
            record.get("actor/entropy_loss") or 0.0,
            elapsed / max(done, 1),
            time.strftime("%H:%M:%S", time.gmtime(eta)),
        )

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def read_metrics(workdir: str) -> list[dict[str, Any]]:
    """The records of ``workdir/metrics.jsonl`` (last record per step wins, sorted by step)."""
    path = os.path.join(workdir, "metrics.jsonl")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no metrics.jsonl in {workdir}")
    by_step: dict[int, dict[str, Any]] = {}
    with open(path, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: line {i + 1} is not JSON ({e})") from e
            by_step[int(rec["step"])] = rec
    return [by_step[s] for s in sorted(by_step)]


def row_stats(rb: RolloutBatch, scores: np.ndarray, adv: np.ndarray) -> dict[str, np.ndarray]:
    """The per-row ``[N]`` vectors :func:`batch_metrics` reads: ``response_lengths`` and
    ``prompt_lengths`` (float32), ``is_off`` (bool), ``group_ids`` (int64), ``scores`` and
    ``advantages`` (float32). Several hosts gather these (not the ``[N, L]`` masks)."""
    lengths = rb.response_mask.sum(1).astype(np.float32)
    return {
        "response_lengths": lengths,
        "prompt_lengths": (rb.attention_mask.sum(1) - lengths).astype(np.float32),
        "is_off": np.asarray(rb.is_off, bool),
        "group_ids": np.asarray(rb.group_ids, np.int64),
        "scores": np.asarray(scores, np.float32),
        "advantages": np.asarray(adv, np.float32),
    }


def batch_metrics(
    rows: dict[str, np.ndarray], shape: RunShape, *, rewarded: bool
) -> dict[str, float | None]:
    """Lengths, trace ratios, rewards and advantages of one step's rows (spec 1.13 names).

    ``rows``: :func:`row_stats` of the step's batch (all hosts' rows, in the global order);
    ``rewarded=False`` (SFT) logs ``reward_mean`` as None. The advantage statistics are over
    response tokens (a row's advantage counted once per token).
    """
    lengths, scores, adv = rows["response_lengths"], rows["scores"], rows["advantages"]
    off = rows["is_off"]
    on = ~off
    out = {
        "response_length/mean": float(lengths.mean()),
        "response_length/max": float(lengths.max()),
        "response_length/min": float(lengths.min()),
        "response_length/clip_ratio": float((lengths >= shape.max_response_length).mean()),
        "prompt_length/mean": float(rows["prompt_lengths"].mean()),
        "batch/avg_prefix_ratio": float(off.mean()),
        "on_off_metrics/off_on_example_ratio": float(off.sum() / max(on.sum(), 1)),
    }
    if on.any():
        out["on_off_metrics/on_response_length_mean"] = float(lengths[on].mean())
    if off.any():
        out["on_off_metrics/off_response_length_mean"] = float(lengths[off].mean())
    if not rewarded:
        out["reward_mean"] = None
        return out
    groups = rows["group_ids"]
    uniq = np.unique(groups)
    per_group = np.stack([scores[groups == g] for g in uniq])
    has_tokens = lengths > 0
    weights = lengths.astype(np.float64)
    out.update(
        {
            "reward_mean": float(scores.mean()),
            "critic/score/mean": float(scores.mean()),
            "critic/score/max": float(scores.max()),
            "critic/score/min": float(scores.min()),
            "critic/advantages/mean": float((adv * weights).sum() / max(weights.sum(), 1.0)),
            "critic/advantages/max": float(adv[has_tokens].max()),
            "critic/advantages/min": float(adv[has_tokens].min()),
            "batch/solved": float((scores > 0).mean()),
            "batch/failed": float((scores <= 0).mean()),
            "batch/solve_none": float((per_group.max(1) <= 0).sum()),
            "batch/solve_all": float((per_group.min(1) > 0).sum()),
        }
    )
    if on.any():
        out["batch/on_solved"] = out["on_off_metrics/on_score"] = float(scores[on].mean())
    if off.any():
        out["batch/off_solved"] = out["on_off_metrics/off_score"] = float(scores[off].mean())
    return out
