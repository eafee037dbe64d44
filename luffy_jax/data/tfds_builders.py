"""TFDS builders (array_record format, no TensorFlow needed) for training and evaluation sets.

One builder class, :class:`LuffyExamples`, turns parquet/JSONL files (anything
:func:`luffy_jax.data.read_examples` reads) into a TFDS dataset with the features

``data_source`` (text), ``prompt`` (sequence of ``{role, content}``), ``gold`` (text),
``traces`` (sequence of text), ``index`` (int64).

Named configs cover LUFFY's evaluation files and the JSONL benchmarks (:data:`EVAL_SETS`, paths
relative to ``../shared/data``); :func:`build_dataset` builds any other file list (a training set
of problems, gold answers and off-policy traces). Read back with :func:`load_examples` (through
``tfds.data_source``, random access, usable by Grain).

    from luffy_jax.data import tfds_builders as tb
    tb.build_dataset("valid_all", data_dir="~/tensorflow_datasets", shared_data="../shared/data")
    examples = tb.load_examples("valid_all", data_dir="~/tensorflow_datasets")
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Sequence

import numpy as np
import tensorflow_datasets as tfds

from luffy_jax.data.examples import Example, JsonlFields, read_examples
from luffy_jax.data.templating import LUFFY_SYSTEM_PROMPT

EVAL_SETS: dict[str, tuple[str, ...]] = {
    "valid": ("luffy_eval/valid.parquet",),
    "valid_all": ("luffy_eval/valid.all.parquet",),
    "arc_c": ("luffy_eval/valid.arc_c.parquet",),
    "gpqa": ("luffy_eval/valid.gpqa.parquet",),
    "math500": ("benchmarks/math500.jsonl",),
    "aime2025": ("benchmarks/aime2025.jsonl",),
    "amc23": ("benchmarks/amc23.jsonl",),
    "gsm8k": ("benchmarks/gsm8k_test.jsonl",),
}


@dataclasses.dataclass(eq=False)
class ExamplesConfig(tfds.core.BuilderConfig):
    """A named list of source files (absolute, or relative to ``shared_data``)."""

    files: tuple[str, ...] = ()
    require_traces: bool = False
    system_prompt: str | None = LUFFY_SYSTEM_PROMPT
    fields: JsonlFields = dataclasses.field(default_factory=JsonlFields)


class LuffyExamples(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Problems, gold answers and traces from parquet/JSONL files (one split: ``train``)."""

    VERSION = tfds.core.Version("1.0.0")
    BUILDER_CONFIGS = [ExamplesConfig(name=name, files=files) for name, files in EVAL_SETS.items()]

    def __init__(self, *, shared_data: str | None = None, **kwargs):
        self._shared_data = shared_data
        super().__init__(**kwargs)

    def _info(self) -> tfds.core.DatasetInfo:
        features = tfds.features.FeaturesDict(
            {
                "data_source": tfds.features.Text(),
                "prompt": tfds.features.Sequence(
                    {"role": tfds.features.Text(), "content": tfds.features.Text()}
                ),
                "gold": tfds.features.Text(),
                "traces": tfds.features.Sequence(tfds.features.Text()),
                "index": tfds.features.Scalar(dtype=np.int64),
            }
        )
        return tfds.core.DatasetInfo(
            builder=self, description=self.__doc__, features=features, disable_shuffling=True
        )

    def _split_generators(self, dl_manager):
        del dl_manager
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        cfg: ExamplesConfig = self.builder_config
        key = 0
        for path in cfg.files:
            if not os.path.isabs(path) and self._shared_data:
                path = os.path.join(self._shared_data, path)
            stats: Counter = Counter()
            for ex in read_examples(
                path,
                fields=cfg.fields,
                system_prompt=cfg.system_prompt,
                require_traces=cfg.require_traces,
                stats=stats,
            ):
                yield (
                    key,
                    {
                        "data_source": ex.data_source,
                        "prompt": {
                            "role": [m["role"] for m in ex.prompt],
                            "content": [m["content"] for m in ex.prompt],
                        },
                        "gold": ex.gold,
                        "traces": list(ex.traces),
                        "index": ex.index,
                    },
                )
                key += 1


def build_dataset(
    name: str,
    *,
    data_dir: str,
    files: Sequence[str] | None = None,
    shared_data: str | None = None,
    require_traces: bool = False,
    system_prompt: str | None = LUFFY_SYSTEM_PROMPT,
    fields: JsonlFields | None = None,
) -> LuffyExamples:
    """Builds (once) the dataset ``name`` in ``data_dir`` as array_record files.

    ``name`` is one of :data:`EVAL_SETS` (``files`` omitted, resolved against ``shared_data``), or
    a new name with ``files`` (e.g. a training set; ``require_traces=True`` for LUFFY).
    """
    if files is None:
        if name not in EVAL_SETS:
            raise ValueError(
                f"unknown dataset {name!r}: give files=..., or one of {sorted(EVAL_SETS)}"
            )
        config = name
    else:
        config = ExamplesConfig(
            name=name,
            files=tuple(os.fspath(f) for f in files),
            require_traces=require_traces,
            system_prompt=system_prompt,
            fields=fields or JsonlFields(),
        )
    builder = LuffyExamples(
        config=config, data_dir=data_dir, shared_data=shared_data, file_format="array_record"
    )
    builder.download_and_prepare()
    return builder


def _text(x) -> str:
    return x.decode("utf-8") if isinstance(x, bytes) else str(x)


def load_examples(name: str, *, data_dir: str) -> list[Example]:
    """The examples of a built dataset, in their original order (read through ``tfds.data_source``)."""
    builder = LuffyExamples(
        config=name if name in EVAL_SETS else ExamplesConfig(name=name),
        data_dir=data_dir,
        file_format="array_record",
    )
    source = builder.as_data_source(split="train")
    rows = [source[i] for i in range(len(source))]
    out = []
    for r in rows:
        prompt = tuple(
            {"role": _text(a), "content": _text(b)}
            for a, b in zip(r["prompt"]["role"], r["prompt"]["content"])
        )
        out.append(
            Example(
                _text(r["data_source"]),
                prompt,
                _text(r["gold"]),
                tuple(_text(t) for t in r["traces"]),
                int(r["index"]),
            )
        )
    return out
