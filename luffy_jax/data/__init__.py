"""Data: readers for LUFFY parquet / JSONL, chat templating and ``<think>`` rules, tokenization
with counted limits, TFDS builders, and a Grain pipeline of rollout batches with checkpointable
position. See :mod:`luffy_jax.data.pipeline` for the exact batch format; TFDS builders live in
:mod:`luffy_jax.data.tfds_builders` (imported on demand: ``tensorflow_datasets`` is heavy).
"""

from luffy_jax.data.examples import DataError, Example, JsonlFields, read_examples
from luffy_jax.data.pipeline import BatchIterator, host_shard, rollout_batches
from luffy_jax.data.sources import read_sources, split_sources
from luffy_jax.data.templating import (
    LUFFY_SYSTEM_PROMPT,
    THINK_OPEN,
    build_messages,
    render_prompt,
    strip_think_prefix,
)
from luffy_jax.data.tokenize import TokenizedExample, encode_examples, stop_and_pad_ids

__all__ = [
    "LUFFY_SYSTEM_PROMPT",
    "THINK_OPEN",
    "BatchIterator",
    "DataError",
    "Example",
    "JsonlFields",
    "TokenizedExample",
    "build_messages",
    "encode_examples",
    "host_shard",
    "read_examples",
    "read_sources",
    "render_prompt",
    "rollout_batches",
    "split_sources",
    "stop_and_pad_ids",
    "strip_think_prefix",
]
