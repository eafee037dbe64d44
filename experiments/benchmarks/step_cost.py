"""Cost of the log-prob pass + the update of one LUFFY batch, padded rows vs packed rows (issue 14).

Response lengths are drawn from real data: on-policy rows from the Qwen2.5-Math-7B responses in
``../shared/data/rollouts``, off-policy rows (one per group: ``--n_off``) from the R1 traces in
``../shared/data/traces`` (``--traces``: every file by default, mostly short CS336 R1 traces of
~120 tokens; ``--traces=s1k_sample5.jsonl``: the five long s1K traces), prompt lengths from the
rollouts' problems (plus the chat template), all token counts under the Qwen2.5-Math tokenizer.
They are scaled from the 7B preset's maxima (``--full_prompt`` 1024 / ``--full_response`` 8192;
longer rows are cut there, as the run's ``max_response_length`` cuts them) to a CPU-sized
``--max_prompt`` / ``--max_response``.

The same rows (random tokens, random weights) then run the old-log-prob pass and the policy update
(``--mini_batches`` optimizer steps) twice per repeat, interleaved: ``padded`` (every row
``P + R`` columns, ``--micro_batch_rows`` rows per micro-batch) and ``packed`` (``batch.packing``:
rows end to end in ``P + R`` sequences, micro-batches of the same token budget,
``micro_batch_rows x (P + R)``). Reports median / best seconds, the ratio, the compiles, the token
fill of each layout and the largest relative difference of the step's terms (the two must agree).

    nice -n 10 python experiments/benchmarks/step_cost.py --prompts=8 --n=8 --max_response=512
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pathlib
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))

import jax
import numpy as np
from _common import count_compilations, device_summary, emit, load_config_dict

from luffy_jax import sharding
from luffy_jax.models import ModelConfig, init_params, shard_params
from luffy_jax.trainer import schema, translate
from luffy_jax.trainer import step as S
from luffy_jax.trainer.update import logprob_pass, update_policy


def _jsonl(pattern: str, key: str) -> list[str]:
    out = []
    for path in sorted(glob.glob(pattern)):
        with open(path, encoding="utf-8") as f:
            out += [json.loads(line)[key] for line in f if line.strip()]
    if not out:
        raise FileNotFoundError(f"no rows under {pattern}")
    return out


def token_lengths(
    shared: pathlib.Path, tokenizer_dir: pathlib.Path, traces: str = "*.jsonl"
) -> dict[str, np.ndarray]:
    """Token counts: on-policy responses, R1 traces, prompts (problem + ~40 template tokens)."""
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir))
    count = lambda texts: np.array([len(i) for i in tok(texts)["input_ids"]])  # noqa: E731
    return {
        "on_policy": count(_jsonl(str(shared / "rollouts" / "*.jsonl"), "response")),
        "traces": count(_jsonl(str(shared / "traces" / traces), "trace")),
        "prompts": count(_jsonl(str(shared / "rollouts" / "*.jsonl"), "problem")) + 40,
    }


def make_rows(lengths, args, vocab, rng):
    """The step's host arrays (rows in groups of ``n``, the first ``n_off`` of each a trace)."""
    p_max, r_max = args.max_prompt, args.max_response
    rows = args.prompts * args.n
    r_scale, p_scale = r_max / args.full_response, p_max / args.full_prompt
    trace = (np.arange(rows) % args.n) < args.n_off
    full = np.where(
        trace, rng.choice(lengths["traces"], rows), rng.choice(lengths["on_policy"], rows)
    )
    r_len = np.clip(np.round(np.minimum(full, args.full_response) * r_scale), 1, r_max).astype(int)
    p_len = np.repeat(rng.choice(lengths["prompts"], args.prompts), args.n)
    p_len = np.clip(np.round(np.minimum(p_len, args.full_prompt) * p_scale), 4, p_max).astype(int)
    tokens = rng.integers(1, vocab, (rows, p_max + r_max)).astype(np.int32)
    attn = np.zeros((rows, p_max + r_max), bool)
    attn[:, :p_max] = np.arange(p_max)[None] >= (p_max - p_len)[:, None]
    response_mask = (np.arange(r_max)[None] < r_len[:, None]).astype(np.float32)
    attn[:, p_max:] = response_mask > 0
    tokens[~attn] = 0
    arrays = {
        "tokens": tokens,
        "attention_mask": attn,
        "advantages": rng.normal(size=rows).astype(np.float32),
        "response_mask": response_mask,
        "off_policy_mask": response_mask * trace[:, None],
    }
    return arrays, r_len, p_len


def stage_for(args, packed: bool, config_json: str):
    c = schema.get_config()
    c.model.config_json = config_json
    c.data.train_files = "unused.jsonl"  # translate wants one; nothing is read
    c.method = "luffy"
    c.data.max_prompt_length, c.data.max_response_length = args.max_prompt, args.max_response
    c.rollout.prompts_per_step, c.rollout.n, c.rollout.n_off = args.prompts, args.n, args.n_off
    c.batch.mini_batch_prompts = args.prompts // args.mini_batches
    c.batch.micro_batch_rows = args.micro_batch_rows
    c.batch.packing = packed
    c.optim.lr = 1e-6
    return translate(c).stages[0]


def main() -> None:
    shared = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--n_off", type=int, default=1)
    ap.add_argument("--mini_batches", type=int, default=2)
    ap.add_argument("--micro_batch_rows", type=int, default=8)
    ap.add_argument("--max_prompt", type=int, default=64)
    ap.add_argument("--max_response", type=int, default=512)
    ap.add_argument("--full_prompt", type=int, default=1024)
    ap.add_argument("--full_response", type=int, default=8192)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--traces",
        default="*.jsonl",
        help="trace files (glob under traces/); s1k_sample5.jsonl: only the 5 long s1K traces",
    )
    ap.add_argument("--shared_data", type=pathlib.Path, default=shared)
    ap.add_argument(
        "--tokenizer", type=pathlib.Path, default=shared / "tokenizers" / "qwen2.5-math"
    )
    args = ap.parse_args()

    cd = load_config_dict(args.config, args.layers)
    config = ModelConfig.from_hf(cd, dtype="float32", param_dtype="float32")
    mesh = sharding.make_mesh(sharding.MeshConfig(data=1, fsdp=-1, tensor=1))
    params0 = shard_params(init_params(config, jax.random.key(0)), config, mesh)
    lengths = token_lengths(args.shared_data, args.tokenizer, args.traces)
    arrays, r_len, p_len = make_rows(
        lengths, args, config.vocab_size, np.random.default_rng(args.seed)
    )
    width = args.max_prompt + args.max_response
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(cd, f)
    stages = {v: stage_for(args, v == "packed", f.name) for v in ("padded", "packed")}
    os.unlink(f.name)

    txs = {v: S.make_optimizer(stage.optim)[0] for v, stage in stages.items()}  # static arg
    inits = {v: jax.jit(tx.init) for v, tx in txs.items()}

    def run(variant):
        stage, tx = stages[variant], txs[variant]
        params = jax.tree.map(lambda x: x.copy(), params0)
        opt_state = inits[variant](params)
        jax.block_until_ready(params)
        start = time.perf_counter()
        old, _ = logprob_pass(
            params, config, arrays["tokens"], arrays["attention_mask"], stage.shape, 1.0, mesh
        )
        step_arrays = {**arrays, "old_logp": old}
        params, _, terms, norms = update_policy(
            params, opt_state, tx, step_arrays, stage, config, 1.0, mesh
        )
        jax.block_until_ready(params)
        return time.perf_counter() - start, {k: float(v) for k, v in terms.items()}, norms

    results, terms = {}, {}
    for variant in stages:  # compile + warm up
        with count_compilations() as compiles:
            first, terms[variant], _ = run(variant)
        results[variant] = {"first_run_seconds": first, "compilations": compiles["n"], "runs": []}
    for _ in range(args.repeats):  # interleaved: outside load hits both alike
        for variant in stages:
            with count_compilations() as compiles:
                dt, _, _ = run(variant)
            results[variant]["runs"].append(dt)
            results[variant]["compilations_after_warmup"] = (
                results[variant].get("compilations_after_warmup", 0) + compiles["n"]
            )
    for r in results.values():
        r["median_seconds"] = float(np.median(r["runs"]))
        r["best_seconds"] = float(np.min(r["runs"]))
    real = int(arrays["attention_mask"].sum())
    rel = {
        k: abs(terms["packed"][k] - terms["padded"][k]) / max(abs(terms["padded"][k]), 1e-6)
        for k in terms["padded"]
    }
    emit(
        {
            "benchmark": "step_cost",
            "config": args.config,
            "traces": args.traces,
            "params": config.num_params(),
            "rows": int(r_len.size),
            "n": args.n,
            "n_off": args.n_off,
            "mini_batches": args.mini_batches,
            "micro_batch_rows": args.micro_batch_rows,
            "max_prompt": args.max_prompt,
            "max_response": args.max_response,
            "length_scale": args.max_response / args.full_response,
            "response_length": {
                "on_policy_mean": float(
                    r_len[(np.arange(r_len.size) % args.n) >= args.n_off].mean()
                ),
                "off_policy_mean": float(
                    r_len[(np.arange(r_len.size) % args.n) < args.n_off].mean()
                ),
                "median": float(np.median(r_len)),
                "max": int(r_len.max()),
            },
            "prompt_length_mean": float(p_len.mean()),
            "real_token_fraction_of_padded": real / (r_len.size * width),
            "terms_max_relative_difference": max(rel.values()),
            "terms_relative_difference": rel,
            **device_summary(),
            "variants": results,
            "speedup_median": results["padded"]["median_seconds"]
            / results["packed"]["median_seconds"],
            "speedup_best": results["padded"]["best_seconds"] / results["packed"]["best_seconds"],
        }
    )


if __name__ == "__main__":
    main()
