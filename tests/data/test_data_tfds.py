"""TFDS builders in array_record format, read back without TensorFlow."""

import json

import pytest

from luffy_jax.data import read_examples
from luffy_jax.data import tfds_builders as tb


def test_eval_set_builds_and_reads_back_in_order(shared_data, tmp_path):
    tb.build_dataset("gpqa", data_dir=str(tmp_path), shared_data=str(shared_data))
    got = tb.load_examples("gpqa", data_dir=str(tmp_path))
    want = list(read_examples(shared_data / "luffy_eval" / "valid.gpqa.parquet"))
    assert len(got) == 198
    assert [(e.gold, e.index, e.prompt) for e in got] == [(e.gold, e.index, e.prompt) for e in want]
    assert list((tmp_path).rglob("*.array_record*"))


def test_training_set_with_traces(tmp_path):
    src = tmp_path / "train.jsonl"
    rows = [
        {"problem": f"{i}+1?", "answer": str(i + 1), "traces": [f"t{i}", "u"]} for i in range(7)
    ]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tb.build_dataset(
        "toy_train", data_dir=str(tmp_path / "tfds"), files=[str(src)], require_traces=True
    )
    got = tb.load_examples("toy_train", data_dir=str(tmp_path / "tfds"))
    assert [e.traces for e in got] == [(f"t{i}", "u") for i in range(7)]
    assert got[3].gold == "4" and got[3].prompt[-1] == {"role": "user", "content": "3+1?"}


def test_unknown_set_is_named():
    with pytest.raises(ValueError, match="unknown dataset 'nope'"):
        tb.build_dataset("nope", data_dir="/tmp/unused")
