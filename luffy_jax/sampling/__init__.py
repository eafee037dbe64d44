"""Rollout sampling with a KV cache: ``generate(params, config, prompts, key, SamplingConfig(...), n=...)``.

Stable API: :class:`SamplingConfig`, :class:`SampleOutput`, :func:`generate`; the pure strategies
:func:`choose_tokens`, :func:`filter_top_k`, :func:`filter_top_p`.
"""

from luffy_jax.sampling.config import SampleOutput, SamplingConfig
from luffy_jax.sampling.generate import generate
from luffy_jax.sampling.strategies import choose_tokens, filter_top_k, filter_top_p

__all__ = [
    "SampleOutput",
    "SamplingConfig",
    "choose_tokens",
    "filter_top_k",
    "filter_top_p",
    "generate",
]
