"""Partial-trace prefixes: the official rollout's prefix strategies (spec 1.3, item 3), for
ablations. LUFFY itself uses the whole trace (``random`` with ratios 1.0, the default).

Per prompt, the first ``n_prefix`` copies (our ``rollout.n_off``) get a prefix ratio ``r`` and
the other copies ``r = 0``; the prefix of a copy is the first ``floor(len(trace + EOS) * r)``
tokens of its trace followed by EOS, and the policy continues from ``prompt + prefix`` (a copy
whose prefix is the whole trace + EOS is not continued). Strategies, with ``step`` the 0-based
training step:

- ``random``: ``r ~ U(min_ratio, max_ratio)`` per copy;
- ``linear_max`` / ``reverse_linear``: ``steps`` split into 10 windows (window ``i`` is
  ``[i steps/10, (i+1) steps/10]``, the first that holds ``step``; past the end the last one);
  ``r ~ U(0, (10 - i) M / 10)`` or ``U(0, (i + 1) M / 10)``, ``M = linear_max_ratio``;
- ``fixed``: the ``n_prefix`` ratios ``min + j (max - min) / (n_prefix - 1)``;
- with ``share_across_samples``: one ratio per prompt for its ``n_prefix`` copies, ``U(min, max)``
  or, for ``linear``, ``M (1 - min(step / steps, 1))``.

The official code draws with Python's unseeded ``random``; here the draws come from a numpy
generator seeded by the step's key, so runs are reproducible (the distributions are the same).
"""

from __future__ import annotations

import dataclasses

import numpy as np

STRATEGIES = ("random", "linear_max", "reverse_linear", "fixed", "linear")


@dataclasses.dataclass(frozen=True)
class PrefixConfig:
    """The official rollout's prefix options (``rollout.prefix_*``); defaults are LUFFY's."""

    strategy: str = "random"
    min_ratio: float = 1.0
    max_ratio: float = 1.0
    share_across_samples: bool = False
    steps: int = 1000
    linear_max_ratio: float = 0.8

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"prefix_strategy={self.strategy!r} is not one of {STRATEGIES}")
        if not 0.0 <= self.min_ratio <= self.max_ratio <= 1.0:
            raise ValueError(
                f"prefix ratios must satisfy 0 <= min ({self.min_ratio}) <= max "
                f"({self.max_ratio}) <= 1"
            )
        if self.strategy == "linear" and not self.share_across_samples:
            raise ValueError("prefix_strategy='linear' needs prefix_share_across_samples=True")
        if self.strategy == "fixed" and self.share_across_samples:
            raise ValueError("prefix_strategy='fixed' needs prefix_share_across_samples=False")
        if self.steps < 1:
            raise ValueError(f"prefix_steps={self.steps} must be >= 1")

    @classmethod
    def from_rollout(cls, rollout) -> PrefixConfig:
        """From the config's ``rollout`` section (``prefix_*`` / ``*_prefix_ratio`` fields)."""
        return cls(
            strategy=str(rollout.prefix_strategy),
            min_ratio=float(rollout.min_prefix_ratio),
            max_ratio=float(rollout.max_prefix_ratio),
            share_across_samples=bool(rollout.prefix_share_across_samples),
            steps=int(rollout.prefix_steps),
            linear_max_ratio=float(rollout.prefix_linear_max_ratio),
        )

    @property
    def full_traces(self) -> bool:
        """Every prefix copy holds the whole trace (LUFFY): no continuation is sampled for it."""
        return (
            self.strategy in ("random", "fixed") and self.min_ratio == 1.0 and self.max_ratio == 1.0
        )


def _window_range(config: PrefixConfig, step: int) -> tuple[float, float]:
    s, m = config.steps, config.linear_max_ratio
    index = 9
    for i in range(10):
        if i * s / 10 <= step <= (i + 1) * s / 10:
            index = i
            break
    if config.strategy == "linear_max":
        return 0.0, (10 - index) * m / 10
    return 0.0, (index + 1) * m / 10


def prefix_ratios(
    config: PrefixConfig, prompts: int, n: int, n_prefix: int, step: int, rng: np.random.Generator
) -> np.ndarray:
    """float64 ``[prompts, n]`` prefix ratios: the first ``n_prefix`` copies of each prompt get
    the strategy's ratio, the others 0 (module docstring)."""
    if not 0 <= n_prefix <= n:
        raise ValueError(f"n_prefix={n_prefix} must be in [0, n={n}]")
    out = np.zeros((prompts, n))
    if n_prefix == 0:
        return out
    c = config
    if c.share_across_samples:
        if c.strategy == "linear":
            shared = np.full(prompts, c.linear_max_ratio * (1 - min(step / c.steps, 1.0)))
        else:
            shared = rng.uniform(c.min_ratio, c.max_ratio, prompts)
        out[:, :n_prefix] = shared[:, None]
    elif c.strategy == "random":
        out[:, :n_prefix] = rng.uniform(c.min_ratio, c.max_ratio, (prompts, n_prefix))
    elif c.strategy in ("linear_max", "reverse_linear"):
        lo, hi = _window_range(c, step)
        out[:, :n_prefix] = rng.uniform(lo, hi, (prompts, n_prefix))
    else:  # fixed
        if n_prefix < 2:
            raise ValueError("prefix_strategy='fixed' needs at least 2 prefix copies (n_off)")
        spacing = (c.max_ratio - c.min_ratio) / (n_prefix - 1)
        out[:, :n_prefix] = [c.min_ratio + j * spacing for j in range(n_prefix)]
    return out


def prefix_tokens(trace: list[int], eos_id: int, ratio: float) -> list[int]:
    """The prefix of one copy: the first ``floor(len(trace + [EOS]) * ratio)`` tokens of the
    trace followed by EOS (an empty trace gives an empty prefix)."""
    if not trace:
        return []
    with_eos = list(trace) + [eos_id]
    return with_eos[: int(len(with_eos) * ratio)]
