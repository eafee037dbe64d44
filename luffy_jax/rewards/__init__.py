"""Verifiable math rewards: answer extraction, a sympy-backed equivalence judge, a bounded pool.

Public API:

- :func:`math_reward` -- LUFFY's v3 training reward (spec 1.4): 1.0 iff the response has
  ``</think>`` (when ``require_think``) and the answer after it equals the gold.
- :func:`boxed_reward` -- the strict evaluation grader (spec 5.1): last ``\\boxed{}`` required.
- :func:`math_equal` -- the judge on two extracted answers.
- :func:`extract_answer` -- the answer extraction rules.
- :class:`RewardConfig` / :func:`score_with` -- the grading settings and the one call the trainer
  and the evaluation make.
- :func:`score_batch` / :class:`RewardPool` -- parallel scoring in worker processes with a
  per-item time limit; ``score_batch`` keeps one lazily created module-level pool (the package's
  only state).

Modules: ``extract`` (answer extraction), ``normalize`` (string canonicalisation, exact numbers),
``structure`` (an answer's shape: lists, sets, tuples, intervals, equations, matrices),
``equivalence`` (the judge; its docstring lists every equivalence decided and why math-verify is
not used underneath), ``latex_parse`` (a fast LaTeX-to-sympy parser), ``symbolic`` (sympy
expressions and proofs of equality), ``units`` (quantities with exact unit conversions),
``realsets`` (intervals and inequalities as canonical sets of reals), ``guards`` (input limits),
``grader``, ``pool``.

The judge accepts an equivalence only when it is proved (exact arithmetic, exact unit factors,
canonical sets, or a symbolic rewriting to 0); numbers alone only reject. Every step is bounded
by the size of its input, so an ordinary answer never needs the pool's hard time limit.
"""

from luffy_jax.rewards.config import RewardConfig, score_with
from luffy_jax.rewards.equivalence import math_equal
from luffy_jax.rewards.extract import extract_answer
from luffy_jax.rewards.grader import boxed_reward, math_reward
from luffy_jax.rewards.pool import KINDS, RewardPool, score_batch

__all__ = [
    "KINDS",
    "RewardConfig",
    "RewardPool",
    "boxed_reward",
    "extract_answer",
    "math_equal",
    "math_reward",
    "score_batch",
    "score_with",
]
