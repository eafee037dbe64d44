"""Shared bits of the benchmark scripts (kept light: no grain/tfds imports)."""

from __future__ import annotations

import contextlib
import json
import os
import resource

import jax


def device_summary() -> dict:
    d = jax.devices()[0]
    return {
        "platform": d.platform,
        "device_kind": d.device_kind,
        "device_count": jax.device_count(),
    }


def peak_memory_bytes() -> int | None:
    """Peak device memory where the backend reports it, else the host process's peak RSS."""
    stats = None
    try:
        stats = jax.devices()[0].memory_stats()
    except Exception:  # backends without memory stats
        stats = None
    if stats and "peak_bytes_in_use" in stats:
        return int(stats["peak_bytes_in_use"])
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def default_peak_tflops() -> float:
    kind = jax.devices()[0].device_kind.lower()
    for name, tflops in (
        ("h200", 989.0),
        ("h100", 989.0),
        ("a100", 312.0),
        ("v5p", 459.0),
        ("v5e", 197.0),
        ("v4", 275.0),
    ):
        if name in kind:
            return tflops
    return 0.0


def tiny_config_dict(vocab: int = 2048, layers: int = 2) -> dict:
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "model_type": "qwen2",
        "vocab_size": vocab,
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": layers,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        "tie_word_embeddings": True,
    }


def load_config_dict(spec: str, layers: int | None) -> dict:
    if spec == "tiny":
        d = tiny_config_dict()
    else:
        with open(spec, encoding="utf-8") as f:
            d = json.load(f)
    if layers:
        d["num_hidden_layers"] = layers
    return d


def emit(result: dict) -> None:
    print(json.dumps(result, indent=None, sort_keys=True))


os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@contextlib.contextmanager
def count_compilations():
    """Counts XLA backend compilations inside the block: ``with count_compilations() as c: ...``,
    then ``c["n"]``."""
    counter = {"n": 0}

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/backend_compile_duration":
            counter["n"] += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield counter
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
