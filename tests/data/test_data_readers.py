"""Readers, templating, tokenization limits and the Grain pipeline."""

import json
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import transformers

from luffy_jax import data as D


@pytest.fixture(scope="module")
def qwen_tokenizer(shared_data):
    return transformers.AutoTokenizer.from_pretrained(shared_data / "tokenizers" / "qwen2.5-math")


def test_valid_all_counts_and_system_prompt(shared_data):
    stats = Counter()
    ex = list(D.read_examples(shared_data / "luffy_eval" / "valid.all.parquet", stats=stats))
    assert len(ex) == 6023 and stats["read"] == 6023
    assert Counter(e.data_source for e in ex) == {
        "math": 500,
        "olympiad_bench": 675,
        "minerva": 272,
        "aime": 960,
        "amc": 2656,
        "aime25": 960,
    }
    assert all(e.prompt[0]["content"] == D.LUFFY_SYSTEM_PROMPT for e in ex)
    assert len(D.LUFFY_SYSTEM_PROMPT) == 762
    aime = [e for e in ex if e.data_source == "aime"]
    assert len({e.index for e in aime}) == 30  # replicas share their index
    assert ex[0].gold == "\\left( 3, \\frac{\\pi}{2} \\right)" and ex[0].traces == ()


@pytest.mark.parametrize(
    "name,rows",
    [("valid.parquet", 2019), ("valid.arc_c.parquet", 1172), ("valid.gpqa.parquet", 198)],
)
def test_other_eval_files(shared_data, name, rows):
    assert sum(1 for _ in D.read_examples(shared_data / "luffy_eval" / name)) == rows


def test_jsonl_with_configurable_fields(shared_data, tmp_path):
    ex = list(
        D.read_examples(shared_data / "traces" / "cs336_math_r1_sft.jsonl", require_traces=True)
    )
    assert len(ex) == 1767 and ex[0].gold == "16" and ex[0].traces[0].startswith("<think>")
    bench = list(
        D.read_examples(shared_data / "benchmarks" / "gsm8k_test.jsonl", system_prompt=None)
    )
    assert len(bench) == 1319 and bench[0].prompt == (
        {"role": "user", "content": bench[0].prompt[0]["content"]},
    )
    p = tmp_path / "mine.jsonl"
    p.write_text(json.dumps({"q": "1+1?", "a": 2, "sols": ["<think>\nx</think> 2", "y"]}) + "\n")
    fields = D.JsonlFields(problem="q", answer="a", traces="sols")
    (e,) = D.read_examples(p, fields=fields)
    assert e.gold == "2" and e.traces == ("<think>\nx</think> 2", "y") and e.data_source == "mine"


def _write_parquet(path, rows):
    pq.write_table(pa.Table.from_pylist(rows), path)


def _row(problem="What is 2+2?", gold="4", target="<think>\nadd</think> \\boxed{4}"):
    row = {
        "data_source": "toy",
        "prompt": [{"role": "system", "content": "sys"}, {"role": "user", "content": problem}],
        "reward_model": {"ground_truth": gold, "style": "rule"},
        "extra_info": {"index": 3, "split": "train"},
    }
    if target is not None:
        row["target"] = [{"role": "assistant", "content": target}]
    return row


def test_parquet_with_targets_and_target_lst(tmp_path):
    row = dict(_row(), target_lst=[{"role": "assistant", "content": "second trace"}])
    _write_parquet(tmp_path / "t.parquet", [row])
    (e,) = D.read_examples(tmp_path / "t.parquet")
    assert e.traces == ("<think>\nadd</think> \\boxed{4}", "second trace") and e.index == 3


@pytest.mark.parametrize(
    "row,field",
    [
        (_row(problem="  "), "prompt[1].content"),
        (_row(gold=None), "reward_model.ground_truth"),
        (_row(target=None), "target"),
    ],
)
def test_bad_parquet_rows_are_named_or_counted(tmp_path, row, field):
    path = tmp_path / "bad.parquet"
    _write_parquet(path, [_row(), row])
    with pytest.raises(
        D.DataError, match=rf"bad.parquet: row 1: field '{__import__('re').escape(field)}'"
    ):
        list(D.read_examples(path, require_traces=True))
    stats = Counter()
    kept = list(D.read_examples(path, require_traces=True, on_error="skip", stats=stats))
    assert (
        len(kept) == 1
        and stats["read"] == 1
        and sum(v for k, v in stats.items() if k.startswith("skipped/")) == 1
    )


def test_missing_column_and_corrupt_files(tmp_path):
    pq.write_table(pa.table({"data_source": ["x"]}), tmp_path / "nocol.parquet")
    with pytest.raises(D.DataError, match="missing column 'prompt'"):
        list(D.read_examples(tmp_path / "nocol.parquet"))
    _write_parquet(tmp_path / "ok.parquet", [_row()] * 50)
    raw = (tmp_path / "ok.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(D.DataError, match="cut.parquet"):
        list(D.read_examples(tmp_path / "cut.parquet"))
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(
        b'{"problem": "a", "answer": "1"}\n{"problem": "\xff\xfe", "answer": "2"}\n{not json}\n'
    )
    with pytest.raises(D.DataError, match="row 1: field '<line>': invalid UTF-8"):
        list(D.read_examples(bad))
    stats = Counter()
    assert len(list(D.read_examples(bad, on_error="skip", stats=stats))) == 1
    assert stats["skipped/'<line>'"] == 2
    with pytest.raises(FileNotFoundError):
        list(D.read_examples(tmp_path / "absent.jsonl"))


def test_chat_template_and_think_rules(qwen_tokenizer, shared_data):
    (e,) = list(D.read_examples(shared_data / "luffy_eval" / "valid.gpqa.parquet"))[:1]
    text = D.render_prompt(qwen_tokenizer, e.prompt)
    assert text.startswith(
        "<|im_start|>system\n" + D.LUFFY_SYSTEM_PROMPT + "<|im_end|>\n<|im_start|>user\n"
    )
    assert text.endswith("<|im_end|>\n<|im_start|>assistant\n<think>\n")
    no_sys = D.render_prompt(qwen_tokenizer, e.prompt, remove_system=True, add_think=False)
    # the Qwen2.5-Math template injects its own default system prompt when none is given
    assert "Please reason step by step" in no_sys and no_sys.endswith("assistant\n")
    assert D.strip_think_prefix("<think>\nabc", text) == "abc"
    assert D.strip_think_prefix("<think>\nabc", no_sys) == "<think>\nabc"


def test_tokenization_limits_are_counted(qwen_tokenizer):
    long_trace = "<think>\n" + "word " * 300 + "</think> \\boxed{1}"
    ex = [
        D.Example(
            "s", tuple(D.build_messages("short?")), "1", (long_trace, "<think>\nok</think> 1"), 0
        ),
        D.Example("s", tuple(D.build_messages("x " * 2000)), "1", ("t",), 1),
        D.Example("s", tuple(D.build_messages("only long?")), "1", (long_trace,), 2),
    ]
    stats = Counter()
    out = D.encode_examples(
        ex,
        qwen_tokenizer,
        max_prompt_length=512,
        max_trace_length=64,
        require_traces=True,
        stats=stats,
    )
    assert [o.index for o in out] == [0]
    assert stats["dropped/prompt_too_long"] == 1 and stats["dropped/trace_too_long"] == 2
    assert stats["dropped/no_trace_left"] == 1
    first = qwen_tokenizer.decode(out[0].trace_ids[0])
    assert first == "ok</think> 1"  # leading <think>\n stripped, no special tokens added
    stats = Counter()
    out = D.encode_examples(
        ex[:1],
        qwen_tokenizer,
        max_prompt_length=512,
        max_trace_length=64,
        truncate_traces=True,
        stats=stats,
    )
    assert len(out[0].trace_ids[0]) == 64 and stats["truncated/trace"] == 1


def _toy_encoded(n=23):
    return [D.TokenizedExample((i, i + 1), ((i,),), str(i), "toy", i) for i in range(n)]


def test_pipeline_is_deterministic_reshuffles_epochs_and_drops_last():
    ds = D.rollout_batches(_toy_encoded(), 5, seed=7)
    it = D.BatchIterator(ds)
    batches = [next(it) for _ in range(8)]  # 4 steps per epoch (23 // 5)
    epoch0 = np.concatenate([b["index"] for b in batches[:4]])
    epoch1 = np.concatenate([b["index"] for b in batches[4:]])
    assert len(set(epoch0)) == 20 and not np.array_equal(epoch0, epoch1)
    again = [next(D.BatchIterator(D.rollout_batches(_toy_encoded(), 5, seed=7))) for _ in range(1)]
    np.testing.assert_array_equal(again[0]["index"], batches[0]["index"])
    other = next(D.BatchIterator(D.rollout_batches(_toy_encoded(), 5, seed=8)))
    assert not np.array_equal(other["index"], batches[0]["index"])
    np.testing.assert_array_equal(batches[2]["group_id"], np.arange(10, 15))
    assert batches[5]["epoch"] == 1


def test_pipeline_resumes_exactly_from_saved_state(tmp_path):
    import orbax.checkpoint as ocp

    it = D.BatchIterator(D.rollout_batches(_toy_encoded(), 4, seed=1))
    for _ in range(3):
        next(it)
    with ocp.CheckpointManager(tmp_path / "ckpt") as mgr:
        mgr.save(3, args=ocp.args.Composite(data=ocp.args.JsonSave(it.get_state())))
        mgr.wait_until_finished()
    expected = [next(it) for _ in range(4)]
    with ocp.CheckpointManager(tmp_path / "ckpt") as mgr:
        state = mgr.restore(3, args=ocp.args.Composite(data=ocp.args.JsonRestore()))["data"]
    fresh = D.BatchIterator(D.rollout_batches(_toy_encoded(), 4, seed=1))
    fresh.set_state(state)
    for want in expected:
        got = next(fresh)
        np.testing.assert_array_equal(got["index"], want["index"])
        assert got["gold"] == want["gold"] and got["step"] == want["step"]


def test_hosts_share_the_global_batch_whatever_their_number():
    one = D.BatchIterator(D.rollout_batches(_toy_encoded(12), 4, seed=3))
    two = [
        D.BatchIterator(
            D.rollout_batches(
                _toy_encoded(12), 4, seed=3, shard_index=i, shard_count=2, block_size=2
            )
        )
        for i in range(2)
    ]
    for _ in range(4):  # over an epoch boundary (3 steps per epoch)
        whole, parts = next(one), [next(it) for it in two]
        np.testing.assert_array_equal(parts[0]["position"], [0, 2])  # one prompt per mini-batch
        np.testing.assert_array_equal(parts[1]["position"], [1, 3])
        for part in parts:
            np.testing.assert_array_equal(part["index"], whole["index"][part["position"]])
            np.testing.assert_array_equal(part["group_id"], whole["group_id"][part["position"]])
            assert part["gold"] == [whole["gold"][p] for p in part["position"]]
    with pytest.raises(ValueError, match="equal shares"):
        D.rollout_batches(_toy_encoded(12), 4, seed=0, shard_index=0, shard_count=3)


def test_host_shards_are_disjoint_and_complete():
    items = list(range(17))
    shards = [D.host_shard(items, i, 3) for i in range(3)]
    assert sorted(sum(shards, [])) == items
    b0 = next(
        D.BatchIterator(
            D.rollout_batches(_toy_encoded(12), 2, seed=0, shard_index=0, shard_count=2)
        )
    )
    b1 = next(
        D.BatchIterator(
            D.rollout_batches(_toy_encoded(12), 2, seed=0, shard_index=1, shard_count=2)
        )
    )
    assert not set(b0["index"]) & set(b1["index"])
    assert not set(b0["group_id"]) & set(b1["group_id"])
    with pytest.raises(ValueError, match="larger than"):
        D.rollout_batches(_toy_encoded(3), 4, seed=0)
