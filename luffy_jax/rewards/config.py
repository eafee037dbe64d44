"""``RewardConfig``: how a batch of responses is graded, and :func:`score_with`, the one call the
trainer and the evaluation make."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from luffy_jax.rewards.pool import KINDS, score_batch


@dataclasses.dataclass(frozen=True)
class RewardConfig:
    """Attributes:
    kind: a :data:`luffy_jax.rewards.KINDS` name (``"math"``: LUFFY's v3 training reward with
      our judge; ``"math_verify"``: the same rule with math-verify, the official judge, an
      optional dependency; ``"boxed"``: the strict evaluation grader).
    timeout_s: hard limit per response, measured by the parent process.
    workers: grading processes (``None``: one per CPU core; 0: in-process, no limit).
    """

    kind: str = "math"
    timeout_s: float = 5.0
    workers: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"reward kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "math_verify":  # fail here, not as per-item errors in the workers
            from luffy_jax.rewards.math_verify_judge import require

            require()
        if self.timeout_s <= 0:
            raise ValueError(f"reward timeout_s must be > 0, got {self.timeout_s}")


def score_with(
    config: RewardConfig, responses: Sequence[str], golds: Sequence[str]
) -> tuple[np.ndarray, dict]:
    """float32 ``[N]`` scores of ``responses`` against ``golds``, and the pool's stats."""
    scores, stats = score_batch(
        list(responses),
        list(golds),
        kind=config.kind,
        timeout_s=config.timeout_s,
        workers=config.workers,
    )
    return np.asarray(scores, np.float32), stats
