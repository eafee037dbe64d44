"""The official training judge, math-verify, as an optional grader (``reward.judge=math_verify``).

LUFFY's reward v3 (spec 1.4): ``"<think>\\n"`` is prepended to the decoded response; without
``</think>`` the response is wrong; otherwise the text after the first ``</think>`` (up to a
second one) is parsed with ``math_verify.parse`` (its default extraction: LaTeX and plain
expressions, ``\\boxed{}`` first, boxing not required) and compared with
``math_verify.verify(parse("$" + gold + "$"), prediction)``. 1.0 if correct, else 0.0.

math-verify's own time limits use ``signal.alarm``, which works on the main thread only; they are
switched off here (``parsing_timeout=None``, ``timeout_seconds=None``) and the time limit is
the reward pool's (:class:`luffy_jax.rewards.pool.RewardPool`, measured by the parent process),
so grading works from any thread and a runaway parse costs one worker, not the trainer.

math-verify is an optional dependency: ``pip install 'luffy_jax[math-verify]'`` (pinned in
``pyproject.toml``; the official code pins 0.6.0, which needs ``latex2sympy2_extended==1.0.9``,
incompatible with the 1.11.0 our own judge pins, so the extra pins 0.9.0; BENCHMARKS.md measures
where the two versions disagree).
"""

from __future__ import annotations

import functools
import importlib.util
import logging

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
INSTALL_HINT = "reward.judge='math_verify' needs math-verify: pip install 'luffy_jax[math-verify]'"


def available() -> bool:
    """Whether math-verify can be imported."""
    return importlib.util.find_spec("math_verify") is not None


def require() -> None:
    """Raises ``ImportError`` with the install command when math-verify is missing."""
    if not available():
        raise ImportError(INSTALL_HINT)


def math_verify_reward(response: str, gold: str, *, require_think: bool = True) -> float:
    """LUFFY's v3 reward with math-verify for one decoded response: 1.0 or 0.0.

    ``require_think=False`` grades the whole response (the official v4 rule).
    """
    if not isinstance(response, str) or not isinstance(gold, str):
        raise TypeError("response and gold must be str")
    try:
        from math_verify import parse, verify
    except ImportError as e:
        raise ImportError(INSTALL_HINT) from e
    # its warning that its own (signal) time limits are off: the pool's limit applies instead
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    if require_think:
        text = "<think>\n" + response
        if THINK_OPEN not in text or THINK_CLOSE not in text:
            return 0.0
        solution = text.split(THINK_CLOSE)[1]
    else:
        solution = response
    if _accepts_no_timeout():
        prediction = parse(solution, parsing_timeout=None)
        target = parse("$" + gold + "$", parsing_timeout=None)
        return 1.0 if verify(target, prediction, timeout_seconds=None) else 0.0
    # math-verify < 0.7 (the official 0.6.0 pin) only has signal-based limits: run with its
    # defaults, which works on a main thread (as in the pool's workers)
    return 1.0 if verify(parse("$" + gold + "$"), parse(solution)) else 0.0


@functools.cache
def _accepts_no_timeout() -> bool:
    """math-verify >= 0.7 takes ``None`` to switch its signal-based time limits off."""
    from importlib.metadata import version

    major, minor = (int(x) for x in version("math-verify").split(".")[:2])
    return (major, minor) >= (0, 7)
