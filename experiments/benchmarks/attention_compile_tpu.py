"""Ahead-of-time compile for a TPU slice from a CPU host: attention alone, and one micro-batch
gradient of the model, with ``attention_impl="xla"`` against ``"splash"``.

Needs ``libtpu`` (``pip install "jax[tpu]==0.10.2"``), no TPU: the devices come from
``jax.experimental.topologies.get_topology_desc``. Prints one JSON object with, per piece, the
per-chip ``memory_analysis()`` bytes and XLA's ``cost_analysis()`` FLOPs / bytes (which do not see
inside Pallas kernels: the splash rows leave the attention out).

    TPU_ACCELERATOR_TYPE=v5p-8 JAX_PLATFORMS=cpu python experiments/benchmarks/attention_compile_tpu.py \
        --topology=v5p:2x2x1 --config=../shared/data/model_configs/qwen2.5-1.5b.json \
        --batch=8 --length=9216
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

import jax
import jax.numpy as jnp
from _common import emit, load_config_dict
from jax.experimental import topologies
from jax.sharding import NamedSharding

from luffy_jax import sharding
from luffy_jax.models import ModelConfig, param_shardings, token_logprobs_and_entropy
from luffy_jax.models import attention as attn_lib


def _memory(compiled) -> dict:
    m = compiled.memory_analysis()
    out = {
        "argument_gb": m.argument_size_in_bytes / 1e9,
        "output_gb": m.output_size_in_bytes / 1e9,
        "temp_gb": m.temp_size_in_bytes / 1e9,
        "code_mb": m.generated_code_size_in_bytes / 1e6,
    }
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    if cost:
        out["xla_tflops"] = float(cost.get("flops", 0.0)) / 1e12
        out["xla_bytes_accessed_gb"] = float(cost.get("bytes accessed", 0.0)) / 1e9
    return out


def attention_piece(mesh, config: ModelConfig, batch: int, length: int, impl: str) -> dict:
    """Forward + backward of one attention layer at the model's head shape."""
    dt = config.compute_dtype
    q = jax.ShapeDtypeStruct(
        (batch, length, config.num_heads, config.head_dim),
        dt,
        sharding=sharding.logical_to_sharding(
            attn_lib.Q_AXES, mesh, jax.ShapeDtypeStruct((batch, length, config.num_heads, 1), dt)
        ),
    )
    kv_shape = (batch, length, config.num_kv_heads, config.head_dim)
    kv = jax.ShapeDtypeStruct(
        kv_shape,
        dt,
        sharding=sharding.logical_to_sharding(
            attn_lib.KV_AXES, mesh, jax.ShapeDtypeStruct(kv_shape, dt)
        ),
    )
    seg = jax.ShapeDtypeStruct(
        (batch, length), jnp.int32, sharding=sharding.batch_sharding(mesh, 2)
    )

    def loss(q, k, v, seg):
        with sharding.activation_sharding(q):
            out = attn_lib.attention(q, k, v, seg, impl=impl)
        return jnp.sum(out.astype(jnp.float32) ** 2)

    fn = jax.jit(jax.grad(loss, argnums=(0, 1, 2)))
    return _compile(fn, q, kv, kv, seg)


def model_piece(mesh, config: ModelConfig, batch: int, length: int, chunk: int) -> dict:
    """Gradient of the token log-prob objective of one micro-batch (what the update computes)."""
    shapes = jax.eval_shape(lambda: _init(config))
    shards = param_shardings(config, mesh)
    params = jax.tree.map(
        lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh), shapes, shards
    )
    rows = sharding.batch_sharding(mesh, 2)
    tokens = jax.ShapeDtypeStruct((batch, length), jnp.int32, sharding=rows)
    mask = jax.ShapeDtypeStruct((batch, length), jnp.int32, sharding=rows)

    def loss(p, tokens, mask):
        lp, ent = token_logprobs_and_entropy(
            p, config, tokens, attention_mask=mask, chunk_size=chunk
        )
        return -lp.mean() - 0.001 * ent.mean()

    fn = jax.jit(jax.value_and_grad(loss), out_shardings=(NamedSharding(mesh, jax.P()), shards))
    return _compile(fn, params, tokens, mask)


def _init(config):
    from luffy_jax.models import init_params

    return init_params(config, jax.random.key(0))


def _compile(fn, *args) -> dict:
    start = time.perf_counter()
    compiled = fn.lower(*args).compile()
    return {**_memory(compiled), "compile_s": time.perf_counter() - start}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--topology", default="v5p:2x2x1")
    ap.add_argument("--config", default="../shared/data/model_configs/qwen2.5-1.5b.json")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--length", type=int, default=9216)
    ap.add_argument("--layers", type=int, default=0, help="override num_layers (0: the config's)")
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--data", type=int, default=1)
    ap.add_argument("--fsdp", type=int, default=-1)
    ap.add_argument("--tensor", type=int, default=1)
    ap.add_argument("--param_dtype", default="float32")
    ap.add_argument("--impls", default="xla,splash", help="comma-separated attention_impl values")
    ap.add_argument("--no_model", action="store_true", help="attention pieces only")
    args = ap.parse_args()

    topo = topologies.get_topology_desc(platform="tpu", topology_name=args.topology)
    devices = topo.devices
    mesh = sharding.make_mesh(sharding.MeshConfig(args.data, args.fsdp, args.tensor), devices)
    overrides = {"dtype": "bfloat16", "param_dtype": args.param_dtype, "remat": True}
    base = ModelConfig.from_hf(load_config_dict(args.config, args.layers or None), **overrides)
    result = {
        "topology": args.topology,
        "device_kind": devices[0].device_kind,
        "chips": len(devices),
        "mesh": dict(mesh.shape),
        "model": os.path.basename(args.config),
        "num_layers": base.num_layers,
        "batch": args.batch,
        "length": args.length,
        "param_dtype": args.param_dtype,
        "attention": {},
        "micro_batch_grad": {},
    }
    impls = [i for i in args.impls.split(",") if i]
    for impl in impls:
        result["attention"][impl] = attention_piece(mesh, base, args.batch, args.length, impl)
    if not args.no_model:
        for impl in impls:
            cfg = base.replace(attention_impl=impl)
            result["micro_batch_grad"][impl] = model_piece(
                mesh, cfg, args.batch, args.length, args.chunk
            )
    emit(result)


if __name__ == "__main__":
    main()
