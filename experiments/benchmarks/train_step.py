"""Forward + backward of the token log-prob objective: tokens/s, MFU, peak memory; and the same
step with transformers/PyTorch (gradient checkpointing on) in the same run.

    python experiments/benchmarks/train_step.py --config=tiny --batch=4 --length=256 --torch
    python experiments/benchmarks/train_step.py --config=../shared/data/model_configs/qwen2.5-1.5b.json \
        --batch=8 --length=2048 --dtype=bfloat16 --remat --torch

Prints one JSON object. MFU = 6 * N_params * tokens/s / peak FLOP/s (``--peak_tflops``, default by
device kind; 0 on CPU, where no MFU is reported).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import jax
import jax.numpy as jnp
from _common import default_peak_tflops, device_summary, emit, load_config_dict, peak_memory_bytes

from luffy_jax.models import ModelConfig, init_params, token_logprobs_and_entropy


def jax_step(config: ModelConfig, batch: int, length: int, steps: int, chunk: int) -> dict:
    params = init_params(config, jax.random.key(0))
    tokens = jax.random.randint(jax.random.key(1), (batch, length), 0, config.vocab_size, jnp.int32)

    def loss(p):
        lp, ent = token_logprobs_and_entropy(p, config, tokens, chunk_size=chunk)
        return -lp.mean() - 0.001 * ent.mean()

    step = jax.jit(jax.value_and_grad(loss))
    compile_start = time.perf_counter()
    jax.block_until_ready(step(params))
    compile_s = time.perf_counter() - compile_start
    start = time.perf_counter()
    for _ in range(steps):
        out = step(params)
    jax.block_until_ready(out)
    dt = (time.perf_counter() - start) / steps
    return {"step_s": dt, "tokens_per_s": batch * length / dt, "first_call_s": compile_s}


def torch_step(config_dict: dict, batch: int, length: int, steps: int, dtype: str) -> dict:
    import torch
    import transformers

    device = "cuda" if torch.cuda.is_available() else "cpu"
    tdtype = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    cfg = transformers.AutoConfig.for_model(
        **{k: v for k, v in config_dict.items() if not k.startswith("_")}
    )
    model = transformers.AutoModelForCausalLM.from_config(cfg, torch_dtype=tdtype).to(device)
    model.gradient_checkpointing_enable()
    model.train()
    tokens = torch.randint(0, cfg.vocab_size, (batch, length), device=device)

    def run():
        logits = model(tokens).logits.float()
        lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, tokens[:, 1:, None])[..., 0]
        loss = -lp.mean()
        loss.backward()
        model.zero_grad(set_to_none=True)

    try:
        run()
        if device == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        for _ in range(steps):
            run()
        if device == "cuda":
            torch.cuda.synchronize()
        dt = (time.perf_counter() - start) / steps
        peak = torch.cuda.max_memory_allocated() if device == "cuda" else None
        return {
            "step_s": dt,
            "tokens_per_s": batch * length / dt,
            "peak_memory_bytes": peak,
            "device": device,
        }
    except torch.OutOfMemoryError:
        return {"oom": True, "device": device}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", default="tiny", help="'tiny' or a Hugging Face config.json")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--length", type=int, default=256)
    ap.add_argument("--layers", type=int, default=None, help="override num_hidden_layers")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--remat", action="store_true")
    ap.add_argument("--chunk", type=int, default=1024, help="log-prob chunk (tokens)")
    ap.add_argument(
        "--attention_impl", default="xla", help="xla | splash (TPU) | cudnn | pallas_gpu (GPU)"
    )
    ap.add_argument("--peak_tflops", type=float, default=None)
    ap.add_argument("--torch", action="store_true", help="also time transformers/PyTorch")
    args = ap.parse_args()

    cd = load_config_dict(args.config, args.layers)
    config = ModelConfig.from_hf(
        cd,
        dtype=args.dtype,
        param_dtype=args.dtype,
        remat=args.remat,
        attention_impl=args.attention_impl,
    )
    n_params = config.num_params()
    ours = jax_step(config, args.batch, args.length, args.steps, args.chunk)
    peak_tflops = default_peak_tflops() if args.peak_tflops is None else args.peak_tflops
    result = {
        "benchmark": "train_step",
        "config": args.config,
        "layers": config.num_layers,
        "params": n_params,
        "batch": args.batch,
        "length": args.length,
        "dtype": args.dtype,
        "remat": args.remat,
        "attention_impl": args.attention_impl,
        **device_summary(),
        "jax": {**ours, "peak_memory_bytes": peak_memory_bytes()},
    }
    if peak_tflops > 0:
        result["jax"]["mfu"] = 6 * n_params * ours["tokens_per_s"] / (peak_tflops * 1e12)
        result["peak_tflops"] = peak_tflops
    if args.torch:
        t = torch_step(cd, args.batch, args.length, args.steps, args.dtype)
        if peak_tflops > 0 and "tokens_per_s" in t:
            t["mfu"] = 6 * n_params * t["tokens_per_s"] / (peak_tflops * 1e12)
        result["torch_transformers_grad_ckpt"] = t
    emit(result)


if __name__ == "__main__":
    main()
