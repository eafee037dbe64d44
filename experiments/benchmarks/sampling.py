"""Rollout throughput of ``luffy_jax.sampling.generate`` (random weights).

Fixed lengths (default): every row runs ``--new_tokens`` (EOS ignored); generated tokens/s against
transformers ``generate`` (eager, and with a static cache + torch.compile) in the same run, and the
fraction of the memory-bandwidth roofline.

    python experiments/benchmarks/sampling.py --config=tiny --batch=8 --prompt_len=32 --new_tokens=32 --torch
    python experiments/benchmarks/sampling.py --config=../shared/data/model_configs/qwen2.5-1.5b.json \
        --batch=64,256 --prompt_len=256 --new_tokens=512 --dtype=bfloat16 --torch

Length distribution (``--lengths=rollouts``): each row is forced to end at a length drawn from the
Qwen2.5-Math-7B responses in ``../shared/data/rollouts`` (token counts, scaled so that the longest
is ``--new_tokens``; prompts likewise from their problems), through ``row_max_new_tokens``. Reports
useful tokens/s (tokens before each row's end) of five sampler settings in one run, interleaved:
``today`` (waves of ``--slots`` rows that last as long as their longest row, every step attending
to the whole cache), ``bounded`` (decode reads only the filled cache blocks), ``refill`` (finished
rows' slots take pending rows), ``bounded_refill``, and ``bounded_refill_compact`` (the default
``SamplingConfig``: also the tail's active rows moved into fewer slots), with ratios to ``today``.

    python experiments/benchmarks/sampling.py --config=tiny --lengths=rollouts --rows=128 --n=8 \
        --slots=32 --new_tokens=512 --repeats=3

Roofline: every decode step reads the weights once and each row's KV cache; bytes per step over the
bandwidth of a large device-to-device copy gives the fastest possible step.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import pathlib
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import jax
import jax.numpy as jnp
import numpy as np
from _common import count_compilations, device_summary, emit, load_config_dict

from luffy_jax.models import ModelConfig, init_params
from luffy_jax.sampling import SamplingConfig, generate


def copy_bandwidth() -> float:
    """Bytes/s of a device-to-device copy (read + write counted)."""
    n = 256 * 1024 * 1024 // 4 if jax.devices()[0].platform != "cpu" else 16 * 1024 * 1024 // 4
    x = jnp.ones((n,), jnp.float32)
    f = jax.jit(lambda a: a + 1.0)
    jax.block_until_ready(f(x))
    start = time.perf_counter()
    for _ in range(10):
        y = f(x)
    jax.block_until_ready(y)
    return 2 * x.nbytes * 10 / (time.perf_counter() - start)


def ours(config, params, batch, prompt_len, new_tokens):
    rng = np.random.default_rng(0)
    prompts = [rng.integers(0, config.vocab_size, prompt_len).tolist() for _ in range(batch)]
    sc = SamplingConfig(
        max_new_tokens=new_tokens,
        temperature=1.0,
        ignore_eos=True,
        eos_ids=(0,),
        prompt_bucket=prompt_len,
        max_concurrent=batch,
    )
    out = generate(params, config, prompts, jax.random.key(0), sc)  # compile + warm-up
    jax.block_until_ready(out.tokens)
    start = time.perf_counter()
    out = generate(params, config, prompts, jax.random.key(1), sc)
    jax.block_until_ready(out.tokens)
    dt = time.perf_counter() - start
    return {"seconds": dt, "tokens_per_s": batch * new_tokens / dt}


def torch_generate(config_dict, batch, prompt_len, new_tokens, dtype, compiled):
    import torch
    import transformers

    device = "cuda" if torch.cuda.is_available() else "cpu"
    tdtype = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    cfg = transformers.AutoConfig.for_model(
        **{k: v for k, v in config_dict.items() if not k.startswith("_")}
    )
    model = transformers.AutoModelForCausalLM.from_config(cfg, torch_dtype=tdtype).to(device).eval()
    tokens = torch.randint(1, cfg.vocab_size, (batch, prompt_len), device=device)
    kw = dict(max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=True, pad_token_id=0)
    if compiled:
        kw.update(cache_implementation="static")
        model.forward = torch.compile(model.forward, mode="reduce-overhead")
    with torch.no_grad():
        model.generate(tokens, **kw)  # warm-up on the same shapes
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        model.generate(tokens, **kw)
        if device == "cuda":
            torch.cuda.synchronize()
    dt = time.perf_counter() - start
    return {"seconds": dt, "tokens_per_s": batch * new_tokens / dt, "device": device}


LENGTH_VARIANTS = {  # today's sampler first; the last one is the default SamplingConfig
    "today": dict(decode_buckets=1, refill=False, compact_sizes=1),
    "bounded": dict(refill=False, compact_sizes=1),
    "refill": dict(decode_buckets=1, compact_sizes=1),
    "bounded_refill": dict(compact_sizes=1),
    "bounded_refill_compact": dict(),
}


def rollout_lengths(shared: pathlib.Path, tokenizer_dir: pathlib.Path) -> tuple[list, list]:
    """Token counts of the rollouts' responses and of their problems (plus the chat template)."""
    import transformers

    tok = transformers.AutoTokenizer.from_pretrained(str(tokenizer_dir))
    responses, problems = [], []
    for path in sorted(glob.glob(str(shared / "rollouts" / "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                responses.append(row["response"])
                problems.append(row["problem"])
    if not responses:
        raise FileNotFoundError(f"no rollouts under {shared / 'rollouts'}")
    template = 40  # system prompt + chat markers of the qwen25-math-cot prompt, about
    response_lengths = [len(ids) for ids in tok(responses)["input_ids"]]
    prompt_lengths = [len(ids) + template for ids in tok(problems)["input_ids"]]
    return response_lengths, prompt_lengths


def length_distribution(config, params, args) -> dict:
    """The four sampler settings on rows forced to end at drawn lengths (see the module doc)."""
    responses, prompts_len = rollout_lengths(args.shared_data, args.tokenizer)
    scale = args.new_tokens / max(responses)
    rng = np.random.default_rng(args.seed)
    n_prompts = args.rows // args.n
    rows = n_prompts * args.n
    caps = np.clip(np.round(rng.choice(responses, rows) * scale), 1, args.new_tokens).astype(int)
    plens = np.clip(np.round(rng.choice(prompts_len, n_prompts) * scale), 4, None).astype(int)
    prompts = [rng.integers(1, config.vocab_size, int(p)).tolist() for p in plens]
    useful = int(caps.sum())
    base = dict(
        max_new_tokens=args.new_tokens,
        temperature=1.0,
        ignore_eos=True,
        prompt_bucket=args.prompt_bucket,
        max_concurrent=args.slots,
    )

    def run(variant, key):
        sc = SamplingConfig(**base, **LENGTH_VARIANTS[variant])
        start, cpu = time.perf_counter(), time.process_time()
        out = generate(
            params, config, prompts, jax.random.key(key), sc, n=args.n, row_max_new_tokens=caps
        )
        jax.block_until_ready(out.tokens)
        return (time.perf_counter() - start, time.process_time() - cpu), out

    results, outputs = {}, {}
    for variant in LENGTH_VARIANTS:  # compile + warm up, same shapes and lengths
        with count_compilations() as compiles:
            (first, _), outputs[variant] = run(variant, 0)
        results[variant] = {
            "first_run_seconds": first,
            "compilations": compiles["n"],
            "runs": [],
            "cpu_seconds": [],
        }
    for _ in range(args.repeats):  # interleaved, so that load from other processes hits each alike
        for variant in LENGTH_VARIANTS:
            with count_compilations() as compiles:
                (dt, cpu), _ = run(variant, 1)
            results[variant]["runs"].append(dt)
            results[variant]["cpu_seconds"].append(cpu)
            results[variant]["compilations_after_warmup"] = (
                results[variant].get("compilations_after_warmup", 0) + compiles["n"]
            )
    ref = outputs["today"]
    for variant, r in results.items():
        r["median_seconds"] = float(np.median(r["runs"]))
        r["best_seconds"] = float(np.min(r["runs"]))
        r["useful_tokens_per_s_median"] = useful / r["median_seconds"]
        r["useful_tokens_per_s_best"] = useful / r["best_seconds"]
        r["useful_tokens_per_cpu_s_median"] = useful / float(np.median(r["cpu_seconds"]))
        out = outputs[variant]
        r["same_tokens_as_today"] = bool(
            np.array_equal(np.asarray(out.tokens), np.asarray(ref.tokens))
            and np.array_equal(np.asarray(out.lengths), caps)
        )
    today = results["today"]
    for r in results.values():
        r["speedup_median"] = today["median_seconds"] / r["median_seconds"]
        r["speedup_best"] = today["best_seconds"] / r["best_seconds"]
        r["cpu_time_ratio_median"] = float(
            np.median(today["cpu_seconds"]) / np.median(r["cpu_seconds"])
        )
    return {
        "rows": rows,
        "n": args.n,
        "slots": args.slots,
        "length_scale": scale,
        "response_length": {
            "mean": float(caps.mean()),
            "median": float(np.median(caps)),
            "p90": float(np.percentile(caps, 90)),
            "max": int(caps.max()),
        },
        "prompt_length": {"mean": float(plens.mean()), "max": int(plens.max())},
        "useful_tokens": useful,
        "variants": results,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="tiny")
    ap.add_argument("--batch", default="8", help="comma-separated batch sizes")
    ap.add_argument("--prompt_len", type=int, default=32)
    ap.add_argument("--new_tokens", type=int, default=32)
    ap.add_argument("--layers", type=int, default=None)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--torch", action="store_true")
    ap.add_argument(
        "--torch_compile",
        action="store_true",
        help="also transformers static cache + torch.compile",
    )
    ap.add_argument(
        "--lengths",
        default="fixed",
        choices=["fixed", "rollouts"],
        help="fixed: every row runs --new_tokens; rollouts: forced lengths drawn from the rollouts",
    )
    shared = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
    ap.add_argument("--shared_data", type=pathlib.Path, default=shared)
    ap.add_argument(
        "--tokenizer", type=pathlib.Path, default=shared / "tokenizers" / "qwen2.5-math"
    )
    ap.add_argument("--rows", type=int, default=128, help="rollout rows (--lengths=rollouts)")
    ap.add_argument("--n", type=int, default=8, help="samples per prompt (--lengths=rollouts)")
    ap.add_argument("--slots", type=int, default=32, help="max_concurrent (--lengths=rollouts)")
    ap.add_argument("--prompt_bucket", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    cd = load_config_dict(args.config, args.layers)
    config = ModelConfig.from_hf(cd, dtype=args.dtype, param_dtype=args.dtype)
    params = init_params(config, jax.random.key(0))
    if args.lengths == "rollouts":
        emit(
            {
                "benchmark": "sampling_length_distribution",
                "config": args.config,
                "params": config.num_params(),
                "dtype": args.dtype,
                "new_tokens": args.new_tokens,
                **device_summary(),
                **length_distribution(config, params, args),
            }
        )
        return
    bw = copy_bandwidth()
    itemsize = jnp.dtype(args.dtype).itemsize
    weight_bytes = config.num_params() * itemsize
    results = []
    for batch in [int(b) for b in args.batch.split(",")]:
        mean_ctx = args.prompt_len + args.new_tokens / 2
        kv_bytes = (
            2
            * config.num_layers
            * batch
            * mean_ctx
            * config.num_kv_heads
            * config.head_dim
            * itemsize
        )
        roofline = batch / ((weight_bytes + kv_bytes) / bw)
        r = {
            "batch": batch,
            "jax": ours(config, params, batch, args.prompt_len, args.new_tokens),
            "roofline_tokens_per_s": roofline,
        }
        r["jax"]["roofline_fraction"] = r["jax"]["tokens_per_s"] / roofline
        if args.torch:
            r["torch_eager"] = torch_generate(
                cd, batch, args.prompt_len, args.new_tokens, args.dtype, False
            )
            if args.torch_compile:
                r["torch_compiled_static"] = torch_generate(
                    cd, batch, args.prompt_len, args.new_tokens, args.dtype, True
                )
        results.append(r)
    emit(
        {
            "benchmark": "sampling",
            "config": args.config,
            "params": config.num_params(),
            "dtype": args.dtype,
            "prompt_len": args.prompt_len,
            "new_tokens": args.new_tokens,
            "copy_bandwidth_bytes_per_s": bw,
            **device_summary(),
            "results": results,
        }
    )


if __name__ == "__main__":
    main()
