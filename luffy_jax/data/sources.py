"""Reading a list of data sources: parquet/JSONL files and ``tfds:NAME@DATA_DIR`` datasets.

One function, :func:`read_sources`, used by the trainer (training and validation sets) and the
``evaluate`` CLI, so every entry point accepts the same source strings.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence

from luffy_jax.data.examples import DataError, Example, JsonlFields, read_examples
from luffy_jax.data.templating import LUFFY_SYSTEM_PROMPT

TFDS_PREFIX = "tfds:"


def split_sources(sources: str | Sequence[str]) -> tuple[str, ...]:
    """``"a.parquet, tfds:x@dir"`` -> ``("a.parquet", "tfds:x@dir")`` (empty parts dropped)."""
    parts = sources.split(",") if isinstance(sources, str) else sources
    return tuple(p.strip() for p in parts if p.strip())


def check_source_exists(source: str) -> None:
    """Raises :class:`DataError` if ``source`` names no file or no built TFDS dataset."""
    if source.startswith(TFDS_PREFIX):
        _tfds_location(source)
    elif not os.path.isfile(source):
        raise DataError(f"data file {source!r} does not exist")


def _tfds_location(source: str) -> tuple[str, str]:
    from luffy_jax.data import tfds_builders

    name, sep, data_dir = source[len(TFDS_PREFIX) :].partition("@")
    data_dir = os.path.expanduser(data_dir)
    if not name or not sep or not data_dir:
        raise DataError(f"data file {source!r}: a TFDS dataset is written tfds:NAME@DATA_DIR")
    if not os.path.isdir(os.path.join(data_dir, tfds_builders.LuffyExamples.name, name)):
        raise DataError(
            f"data file {source!r}: no dataset {name!r} in {data_dir} (build it with "
            "luffy_jax.data.tfds_builders.build_dataset)"
        )
    return name, data_dir


def _read_tfds(source: str, *, require_traces: bool) -> list[Example]:
    """Examples of a dataset built by ``data.tfds_builders``; prompts are stored as built (with or
    without the system prompt), so ``system_prompt`` and the JSONL field names do not apply."""
    from luffy_jax.data import tfds_builders

    name, data_dir = _tfds_location(source)
    examples = tfds_builders.load_examples(name, data_dir=data_dir)
    if require_traces:
        for ex in examples:
            if not ex.traces:
                raise DataError(
                    f"data file {source!r}: example index {ex.index} has no off-policy trace, "
                    "which this method needs"
                )
    return examples


def read_sources(
    sources: str | Sequence[str],
    *,
    fmt: str | None = None,
    fields: JsonlFields | None = None,
    system_prompt: str | None = LUFFY_SYSTEM_PROMPT,
    require_traces: bool = False,
    on_error: str = "raise",
    stats: Counter | None = None,
) -> list[Example]:
    """Every example of ``sources`` (comma-separated string or a sequence), in order.

    Parquet/JSONL files go through :func:`luffy_jax.data.read_examples` with the given options;
    ``tfds:NAME@DATA_DIR`` loads a dataset built by :mod:`luffy_jax.data.tfds_builders`. A bad
    source raises :class:`DataError` naming it.
    """
    out: list[Example] = []
    for source in split_sources(sources):
        if source.startswith(TFDS_PREFIX):
            out += _read_tfds(source, require_traces=require_traces)
            continue
        out += read_examples(
            source,
            fmt=fmt,
            fields=fields,
            system_prompt=system_prompt,
            require_traces=require_traces,
            on_error=on_error,
            stats=stats,
        )
    return out
