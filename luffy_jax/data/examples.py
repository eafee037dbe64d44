"""Reading problems, gold answers and off-policy traces from LUFFY parquet files or JSONL.

LUFFY's parquet schema (spec 4.2/4.3): ``data_source`` (str), ``prompt`` (list of
``{"role", "content"}``), ``target`` (optional list with one assistant message: the trace),
``target_lst`` (optional list of extra traces), ``reward_model.ground_truth`` (str),
``extra_info.index`` (int).

JSONL: one object per line with configurable field names (:class:`JsonlFields`): a problem text,
a gold answer, and a trace string and/or a list of traces. The problem becomes
``[system, user]`` messages (LUFFY's system prompt by default).

Bad input raises :class:`DataError` naming the file, the row (0-based) and the field, or, with
``on_error="skip"``, the row is skipped, counted in ``stats`` and logged. Nothing is dropped
silently.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

from luffy_jax.data.templating import LUFFY_SYSTEM_PROMPT, build_messages

log = logging.getLogger(__name__)


class DataError(ValueError):
    """Bad input data; the message names the file, the row and the field."""


@dataclasses.dataclass(frozen=True)
class Example:
    """One problem.

    Attributes:
      data_source: the benchmark/source name ("" for LUFFY's training rows).
      prompt: chat messages, a tuple of ``{"role", "content"}`` dicts.
      gold: the gold answer string.
      traces: off-policy reasoning traces (possibly empty).
      index: problem id within its source (replicas of one problem share it).
      row: 0-based row in the file it came from.
    """

    data_source: str
    prompt: tuple[dict[str, str], ...]
    gold: str
    traces: tuple[str, ...]
    index: int
    row: int = 0


@dataclasses.dataclass(frozen=True)
class JsonlFields:
    """Field names of a JSONL file (``traces`` may hold a list; ``trace`` a single string)."""

    problem: str = "problem"
    answer: str = "answer"
    trace: str = "trace"
    traces: str = "traces"
    data_source: str = "data_source"
    index: str = "index"


def read_examples(
    path: str | os.PathLike,
    *,
    fmt: str | None = None,
    fields: JsonlFields | None = None,
    system_prompt: str | None = LUFFY_SYSTEM_PROMPT,
    require_traces: bool = False,
    on_error: str = "raise",
    stats: Counter | None = None,
    default_source: str | None = None,
) -> Iterator[Example]:
    """Yields :class:`Example` s from a parquet or JSONL file.

    Args:
      path: the file.
      fmt: "parquet" or "jsonl" (default: from the extension).
      fields: JSONL field names.
      system_prompt: system message put before JSONL problems (``None``: user message only).
      require_traces: a row without any trace is an error (or a counted skip).
      on_error: "raise" or "skip".
      stats: a Counter that receives ``read`` and ``skipped/<reason>`` counts.
      default_source: data_source for JSONL rows without one (default: the file's stem).
    """
    path = os.fspath(path)
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    fmt = fmt or _guess_format(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"data file not found: {path}")
    stats = stats if stats is not None else Counter()
    if fmt == "parquet":
        rows = _parquet_rows(path)
        convert = _from_parquet_row
    elif fmt == "jsonl":
        rows = _jsonl_rows(path)
        source = default_source or os.path.splitext(os.path.basename(path))[0]
        f = fields or JsonlFields()

        def convert(row, i, p):
            return _from_jsonl_row(row, i, p, f, system_prompt, source)
    else:
        raise ValueError(f"{path}: unknown format {fmt!r} (use 'parquet' or 'jsonl')")
    for i, row in rows:
        try:
            if isinstance(row, DataError):
                raise row
            ex = convert(row, i, path)
            if require_traces and not ex.traces:
                raise DataError(
                    f"{path}: row {i}: field 'target': no off-policy trace (traces are required)"
                )
        except DataError as e:
            if on_error == "raise":
                raise
            reason = (
                str(e).split(": field ")[-1].split(":")[0] if ": field " in str(e) else "invalid"
            )
            stats[f"skipped/{reason}"] += 1
            log.warning("skipping a row: %s", e)
            continue
        stats["read"] += 1
        yield ex


def _guess_format(path: str) -> str:
    lower = path.lower()
    if lower.endswith(".parquet"):
        return "parquet"
    if lower.endswith((".jsonl", ".json")):
        return "jsonl"
    raise ValueError(
        f"{path}: cannot tell the format from the extension; pass fmt='parquet'|'jsonl'"
    )


def _parquet_rows(path: str) -> Iterator[tuple[int, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as e:
        raise DataError(f"{path}: not a readable parquet file ({e})") from e
    names = set(pf.schema_arrow.names)
    for col in ("prompt", "reward_model"):
        if col not in names:
            raise DataError(f"{path}: missing column {col!r} (columns: {sorted(names)})")
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                yield row, record
                row += 1
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: row {row}: corrupt or truncated parquet data ({e})") from e


def _jsonl_rows(path: str) -> Iterator[tuple[int, Any]]:
    with open(path, "rb") as f:
        for i, raw in enumerate(f):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield i, DataError(f"{path}: row {i}: field '<line>': invalid UTF-8 ({e})")
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as e:
                yield i, DataError(f"{path}: row {i}: field '<line>': invalid JSON ({e})")
                continue
            if not isinstance(obj, dict):
                yield i, DataError(f"{path}: row {i}: field '<line>': expected a JSON object")
                continue
            yield i, obj


def _text(value: Any, path: str, row: int, field: str, *, allow_empty: bool = False) -> str:
    if value is None:
        raise DataError(f"{path}: row {row}: field {field!r}: missing")
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        else:
            raise DataError(
                f"{path}: row {row}: field {field!r}: expected a string, got {type(value).__name__}"
            )
    if "\x00" in value:
        raise DataError(f"{path}: row {row}: field {field!r}: contains a NUL byte")
    if not allow_empty and not value.strip():
        raise DataError(f"{path}: row {row}: field {field!r}: empty")
    return value


def _from_parquet_row(record: dict, row: int, path: str) -> Example:
    prompt = record.get("prompt")
    if not isinstance(prompt, list) or not prompt:
        raise DataError(f"{path}: row {row}: field 'prompt': expected a non-empty list of messages")
    messages = []
    for j, m in enumerate(prompt):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise DataError(f"{path}: row {row}: field 'prompt[{j}]': expected {{role, content}}")
        messages.append(
            {
                "role": _text(m["role"], path, row, f"prompt[{j}].role"),
                "content": _text(m["content"], path, row, f"prompt[{j}].content"),
            }
        )
    if messages[-1]["role"] != "user":
        raise DataError(
            f"{path}: row {row}: field 'prompt': the last message must be the user's problem"
        )
    rm = record.get("reward_model") or {}
    gold = _text(
        rm.get("ground_truth") if isinstance(rm, dict) else None,
        path,
        row,
        "reward_model.ground_truth",
    )
    traces = []
    for field in ("target", "target_lst"):
        value = record.get(field)
        if value is None:
            continue
        if isinstance(value, str):
            value = [value]
        for j, t in enumerate(value):
            content = t.get("content") if isinstance(t, dict) else t
            traces.append(_text(content, path, row, f"{field}[{j}]"))
    extra = record.get("extra_info") or {}
    index = extra.get("index") if isinstance(extra, dict) else None
    return Example(
        data_source=str(record.get("data_source") or ""),
        prompt=tuple(messages),
        gold=gold,
        traces=tuple(dict.fromkeys(traces)),
        index=int(index) if index is not None else row,
        row=row,
    )


def _from_jsonl_row(
    obj: dict, row: int, path: str, f: JsonlFields, system_prompt: str | None, source: str
) -> Example:
    problem = _text(obj.get(f.problem), path, row, f.problem)
    gold = _text(obj.get(f.answer), path, row, f.answer)
    traces: list[str] = []
    if obj.get(f.traces) is not None:
        value = obj[f.traces]
        if not isinstance(value, list):
            raise DataError(f"{path}: row {row}: field {f.traces!r}: expected a list of strings")
        traces += [_text(t, path, row, f"{f.traces}[{j}]") for j, t in enumerate(value)]
    if obj.get(f.trace) is not None:
        traces.append(_text(obj[f.trace], path, row, f.trace))
    index = obj.get(f.index, row)
    try:
        index = int(index)
    except (TypeError, ValueError):
        index = row
    return Example(
        data_source=str(obj.get(f.data_source) or source),
        prompt=tuple(build_messages(problem, system_prompt)),
        gold=gold,
        traces=tuple(dict.fromkeys(traces)),
        index=index,
        row=row,
    )
