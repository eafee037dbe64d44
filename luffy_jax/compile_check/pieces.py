"""The jitted pieces of one training step, with abstract inputs at the run's real shapes and
shardings, compiled for a mesh of compile-only devices.

Nothing is materialised: parameters, optimizer state, gradients, micro-batches, the sampler's
KV cache are ``jax.ShapeDtypeStruct`` s carrying ``NamedSharding`` s built by the same rules as
the trainer's (:mod:`luffy_jax.sharding`, ``models.param_shardings``, ``update.micro_batches``).
Each piece is ``(name, jitted function, args, kwargs)``, compiled with ``fn.lower(...).compile()``
and read back with :func:`measure`.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import re
import time
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from luffy_jax import sharding
from luffy_jax.models import ModelConfig, init_params, param_shardings
from luffy_jax.objectives import zero_terms
from luffy_jax.sampling import SamplingConfig
from luffy_jax.trainer import step as S
from luffy_jax.trainer.config import RunShape, Stage

# The sampler's module (its package exports a function of the same name).
sampler = importlib.import_module("luffy_jax.sampling.generate")


@dataclasses.dataclass(frozen=True)
class Piece:
    """One jitted call: ``fn.lower(*args, **kwargs)``; ``calls`` per training step."""

    name: str
    fn: Any
    args: tuple
    kwargs: dict
    calls: float


@dataclasses.dataclass
class Measured:
    """Per-chip figures of one compiled piece (bytes; FLOPs; seconds to compile).

    ``flops`` / ``bytes_accessed`` are XLA's ``cost_analysis()`` (a ``while`` loop's body counted
    once: for the sampler's decode loop that is one decode step); ``ici_bytes`` the bytes each
    chip sends through collectives, summed from the compiled HLO (see :func:`collective_bytes`).
    ``error`` holds the compiler's message when compiling failed (e.g. out of HBM).
    """

    name: str
    calls: float
    argument: float = 0.0
    output: float = 0.0
    alias: float = 0.0
    temp: float = 0.0
    code: float = 0.0
    flops: float = 0.0
    bytes_accessed: float = 0.0
    ici_bytes: float = 0.0
    compile_s: float = 0.0
    error: str = ""

    NUMERIC = (
        "argument",
        "output",
        "alias",
        "temp",
        "code",
        "flops",
        "bytes_accessed",
        "ici_bytes",
    )

    @property
    def program_bytes(self) -> float:
        """HBM the call needs: arguments + outputs - donated aliases + temporaries + code."""
        return self.argument + self.output - self.alias + self.temp + self.code


def abstract(shapes: Any, shardings: Any) -> Any:
    """``ShapeDtypeStruct`` s of ``shapes`` (a pytree of arrays or structs) with ``shardings``."""
    return jax.tree.map(
        lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh), shapes, shardings
    )


def per_chip_bytes(tree: Any) -> float:
    """Bytes one chip holds of a pytree of sharded ``ShapeDtypeStruct`` s (its largest shard)."""
    total = 0
    for leaf in jax.tree.leaves(tree):
        shape = leaf.sharding.shard_shape(leaf.shape) if leaf.sharding is not None else leaf.shape
        total += math.prod(shape) * jnp.dtype(leaf.dtype).itemsize
    return float(total)


def abstract_params(config: ModelConfig, mesh: Mesh) -> Any:
    """The policy's parameters as sharded structs (the trainer's ``shard_params`` placement)."""
    shapes = jax.eval_shape(lambda: init_params(config, jax.random.key(0)))
    return abstract(shapes, param_shardings(config, mesh))


def abstract_opt_state(tx: optax.GradientTransformation, params: Any, mesh: Mesh) -> Any:
    """``tx.init(params)`` as structs: parameter-shaped leaves sharded like their parameter,
    scalars (step counts) replicated, as ``trainer.loop`` places them."""
    shapes = jax.eval_shape(tx.init, params)
    param_sh = jax.tree.map(lambda p: p.sharding, params)
    replicated = sharding.replicated(mesh)
    shardings = optax.tree_map_params(
        tx,
        lambda _, sh: sh,
        shapes,
        param_sh,
        transform_non_params=lambda _: replicated,
    )
    return abstract(shapes, shardings)


def _rows(mesh: Mesh, shape: tuple[int, ...], dtype: Any) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(shape, dtype, sharding=sharding.batch_sharding(mesh, len(shape)))


def _scalar(mesh: Mesh, dtype: Any = jnp.float32) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct((), dtype, sharding=sharding.replicated(mesh))


def micro_batch(mesh: Mesh, shape: RunShape, with_ref: bool) -> dict[str, jax.ShapeDtypeStruct]:
    """One micro-batch of the update as ``update.micro_batches`` places it (rows over
    ``data x fsdp``)."""
    m, p, r = shape.micro_batch_rows, shape.max_prompt_length, shape.max_response_length
    mb = {
        "tokens": _rows(mesh, (m, p + r), jnp.int32),
        "attention_mask": _rows(mesh, (m, p + r), jnp.bool_),
        "old_logp": _rows(mesh, (m, r), jnp.float32),
        "advantages": _rows(mesh, (m,), jnp.float32),
        "response_mask": _rows(mesh, (m, r), jnp.float32),
        "off_policy_mask": _rows(mesh, (m, r), jnp.float32),
    }
    if with_ref:
        mb["ref_logp"] = _rows(mesh, (m, r), jnp.float32)
    return mb


def update_pieces(
    config: ModelConfig,
    stage: Stage,
    params: Any,
    opt_state: Any,
    tx: optax.GradientTransformation,
    mesh: Mesh,
    *,
    logprob_passes: int,
    with_ref: bool,
) -> list[Piece]:
    """The log-prob pass, the micro-batch gradient and the optimizer update of ``stage``
    (``trainer.update``: ``response_logprobs``, ``accumulate_micro_batch``, ``apply_update``)."""
    shape, loss_config, objective = stage.shape, stage.loss, stage.method.objective
    p, r, m = shape.max_prompt_length, shape.max_response_length, shape.micro_batch_rows
    grads = abstract(params, jax.tree.map(lambda x: x.sharding, params))
    grads = jax.tree.map(
        lambda g: jax.ShapeDtypeStruct(g.shape, jnp.float32, sharding=g.sharding), grads
    )
    terms = jax.tree.map(lambda _: _scalar(mesh), zero_terms())
    counts = {k: _scalar(mesh) for k in S.COUNT_KEYS}
    mb = micro_batch(mesh, shape, with_ref)
    temperature = _scalar(mesh)
    rows_per_step = shape.rows_per_step
    micro_per_mini = math.ceil(shape.rows_per_mini_batch / m)
    statics = dict(prompt_len=p, response_len=r)
    pieces = []
    if logprob_passes:
        pieces.append(
            Piece(
                "logprob_pass",
                S.response_logprobs,
                (params, config, mb["tokens"], mb["attention_mask"], temperature),
                statics,
                logprob_passes * math.ceil(rows_per_step / m),
            )
        )
    pieces.append(
        Piece(
            "micro_batch_grad",
            S.accumulate_micro_batch,
            (params, grads, terms, mb, counts, temperature),
            dict(config=config, loss_config=loss_config, objective=objective, **statics),
            shape.mini_batches * micro_per_mini,
        )
    )
    pieces.append(
        Piece(
            "optimizer_update",
            S.apply_update,
            (params, opt_state, grads),
            dict(tx=tx),
            shape.mini_batches,
        )
    )
    return pieces


def wave_prompts(
    config: ModelConfig,
    sc: SamplingConfig,
    prompts: int,
    n: int,
    prompt_len: int,
    mesh: Mesh,
    free_bytes: float,
) -> int:
    """Prompts per sampler wave as ``sampling.generate`` picks them: ``max_concurrent`` rows
    (or, unset, the rows whose KV cache and logits fit half of ``free_bytes``, the chip's HBM
    left by the resident state), divided by ``n`` and rounded up to the mesh's row split."""
    divisor = sharding.batch_divisor(mesh)
    max_rows = sc.max_concurrent
    if max_rows is None:
        slots = prompt_bucket(sc, prompt_len) + sc.max_new_tokens
        itemsize = jnp.dtype(config.compute_dtype).itemsize
        per_row = 2 * config.num_layers * slots * config.num_kv_heads * config.head_dim * itemsize
        per_row += 4 * config.vocab_size * 4
        max_rows = max(1, int(0.5 * free_bytes // per_row))
    per_wave = max(1, max_rows // n)
    return _round_up(min(per_wave, prompts), divisor)


def prompt_bucket(sc: SamplingConfig, prompt_len: int) -> int:
    """The sampler's padded prompt width for prompts of up to ``prompt_len`` tokens."""
    return _round_up(prompt_len, sc.prompt_bucket)


def sampler_pieces(
    params: Any,
    config: ModelConfig,
    sc: SamplingConfig,
    wave: int,
    n: int,
    prompt_len: int,
    mesh: Mesh,
    *,
    waves: int,
    decode_steps: int,
) -> list[Piece]:
    """The sampler's prefill and decode loop for one wave of ``wave`` prompts of up to
    ``prompt_len`` tokens, ``n`` samples each, as ``sampling.generate._generate_wave`` calls
    them. This is the only function that knows the sampler's internals."""
    length = prompt_bucket(sc, prompt_len)
    rows = wave * n
    max_len = length + sc.max_new_tokens
    cache_shape = jax.ShapeDtypeStruct(
        (config.num_layers, rows, max_len, config.num_kv_heads, config.head_dim),
        config.compute_dtype,
    )
    cache_sharding = sharding.logical_to_sharding(sampler.CACHE_LOGICAL_AXES, mesh, cache_shape)
    tokens = _rows(mesh, (wave, length), jnp.int32)
    mask = _rows(mesh, (wave, length), jnp.bool_)
    prefill_args = (params, config, tokens, mask, max_len, n, cache_sharding)
    prefill = Piece("sampler_prefill", sampler._prefill, prefill_args, {}, waves)
    out_shapes = jax.eval_shape(
        lambda p, t, m: sampler._prefill(p, config, t, m, max_len, n, cache_sharding),
        params,
        tokens,
        mask,
    )
    logits, cache, kv_mask, next_pos = out_shapes
    cache = abstract(cache, type(cache)(cache_sharding, cache_sharding))
    logits = _rows(mesh, logits.shape, logits.dtype)
    kv_mask = _rows(mesh, kv_mask.shape, kv_mask.dtype)
    next_pos = _rows(mesh, next_pos.shape, next_pos.dtype)
    keys = jax.eval_shape(lambda: jax.random.split(jax.random.key(0), rows))
    keys = jax.ShapeDtypeStruct(keys.shape, keys.dtype, sharding=sharding.batch_sharding(mesh, 1))
    decode_args = (params, config, sc, logits, cache, kv_mask, next_pos, keys, length)
    decode = Piece("sampler_decode_step", sampler._decode, decode_args, {}, waves * decode_steps)
    return [prefill, decode]


def measure(piece: Piece) -> Measured:
    """Compiles ``piece`` and reads its per-chip memory, cost and collective traffic."""
    out = Measured(piece.name, piece.calls)
    start = time.perf_counter()
    try:
        lowered = piece.fn.lower(*piece.args, **piece.kwargs)
        compiled = lowered.compile()
    except Exception as e:  # the compiler's own verdict (e.g. HBM exhausted) is the result
        out.compile_s = time.perf_counter() - start
        out.error = f"{type(e).__name__}: {str(e).splitlines()[0][:400]}" if str(e) else repr(e)
        return out
    out.compile_s = time.perf_counter() - start
    mem = compiled.memory_analysis()
    out.argument = float(mem.argument_size_in_bytes)
    out.output = float(mem.output_size_in_bytes)
    out.alias = float(mem.alias_size_in_bytes)
    out.temp = float(mem.temp_size_in_bytes)
    out.code = float(mem.generated_code_size_in_bytes)
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    if cost:
        out.flops = float(cost.get("flops", 0.0))
        out.bytes_accessed = float(cost.get("bytes accessed", 0.0))
    else:  # the GPU compiler reports none: the whole program's, before partitioning, per device
        whole = lowered.cost_analysis() or {}
        devices = _device_count(piece.args)
        out.flops = float(whole.get("flops", 0.0)) / devices
        out.bytes_accessed = float(whole.get("bytes accessed", 0.0)) / devices
    out.ici_bytes = collective_bytes(compiled.as_text())
    return out


def _device_count(args: Any) -> int:
    for leaf in jax.tree.leaves(args):
        sh = getattr(leaf, "sharding", None)
        if sh is not None:
            return len(sh.device_set)
    return 1


_ITEMSIZE = {
    "pred": 1,
    "s8": 1,
    "u8": 1,
    "bf16": 2,
    "f16": 2,
    "s16": 2,
    "u16": 2,
    "f32": 4,
    "s32": 4,
    "u32": 4,
    "f64": 8,
    "s64": 8,
    "u64": 8,
}
_COLLECTIVE = re.compile(
    r"=\s*(?P<shape>\(?[^=]*?\)?)\s+(?P<op>all-gather|all-reduce|reduce-scatter|all-to-all|"
    r"collective-permute)(?:-start)?\("
)
_COMPUTATION = re.compile(r"^(?:ENTRY\s+)?%(?P<name>[\w.-]+)\s.*\{\s*$")
_ARRAY = re.compile(r"\b(pred|[subf]\d+|bf16)\[([\d,]*)\]")
_GROUPS_IOTA = re.compile(r"replica_groups=\[(\d+),(\d+)\]")
_GROUPS_LIST = re.compile(r"replica_groups=\{\{([\d,]*)\}")
_GROUPS_MESH = re.compile(r"replica_groups=mesh\[([^\]]*)\]\s*\{([^}]*)\}")


def collective_bytes(hlo_text: str) -> float:
    """Bytes one chip sends through collectives, summed over the optimized HLO's collective ops
    (each op counted once, also inside a ``while`` body: per loop iteration), with ring costs:
    all-gather ``out (g-1)/g``, reduce-scatter ``out (g-1)`` (TPU writes it as an all-reduce
    inside an ``all-reduce-scatter`` computation: ``in (g-1)/g``), all-reduce ``2 size (g-1)/g``,
    all-to-all ``size (g-1)/g``, collective-permute ``size``; ``g`` the replica group size.
    An estimate: it ignores the topology and overlap with compute."""
    total, computation = 0.0, ""
    for line in hlo_text.splitlines():
        head = _COMPUTATION.match(line)
        if head:
            computation = head.group("name")
            continue
        match = _COLLECTIVE.search(line)
        if not match:
            continue
        arrays = [
            math.prod(int(d) for d in dims.split(",") if d) * _ITEMSIZE.get(dt, 4)
            for dt, dims in _ARRAY.findall(match.group("shape"))
        ]
        if not arrays:
            continue
        size = float(max(arrays))
        g = _group_size(line)
        op = match.group("op")
        if g <= 1 and op != "collective-permute":
            continue
        if op == "all-reduce" and computation.startswith("all-reduce-scatter"):
            total += size * (g - 1) / g
        elif op == "all-gather":
            total += size * (g - 1) / g
        elif op == "reduce-scatter":
            total += size * (g - 1)
        elif op == "all-reduce":
            total += 2 * size * (g - 1) / g
        elif op == "all-to-all":
            total += size * (g - 1) / g
        else:
            total += size
    return total


def _group_size(line: str) -> int:
    iota = _GROUPS_IOTA.search(line)
    if iota:
        return int(iota.group(2))
    listed = _GROUPS_LIST.search(line)
    if listed:
        return len([x for x in listed.group(1).split(",") if x])
    mesh = _GROUPS_MESH.search(line)
    if mesh:
        sizes = dict(re.findall(r"'([^']+)'=(\d+)", mesh.group(1)))
        axes = re.findall(r"'([^']+)'", mesh.group(2))
        return math.prod(int(sizes.get(a, 1)) for a in axes)
    return 1


def _round_up(x: int, m: int) -> int:
    return int(math.ceil(x / m) * m)
