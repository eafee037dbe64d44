"""Rollout throughput: generated tokens/s of ``luffy_jax.sampling.generate`` (random weights, EOS
ignored so every row runs the full length), against transformers ``generate`` (eager, and with a
static cache + torch.compile) in the same run, and the fraction of the memory-bandwidth roofline.

    python experiments/benchmarks/sampling.py --config=tiny --batch=8 --prompt_len=32 --new_tokens=32 --torch
    python experiments/benchmarks/sampling.py --config=../shared/data/model_configs/qwen2.5-1.5b.json \
        --batch=64,256 --prompt_len=256 --new_tokens=512 --dtype=bfloat16 --torch

Roofline: every decode step reads the weights once and each row's KV cache; bytes per step over the
bandwidth of a large device-to-device copy gives the fastest possible step.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import jax
import jax.numpy as jnp
import numpy as np
from _common import device_summary, emit, load_config_dict

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
    args = ap.parse_args()

    cd = load_config_dict(args.config, args.layers)
    config = ModelConfig.from_hf(cd, dtype=args.dtype, param_dtype=args.dtype)
    params = init_params(config, jax.random.key(0))
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
