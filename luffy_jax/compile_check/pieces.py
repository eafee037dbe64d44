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
import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh

from luffy_jax import sharding
from luffy_jax.compile_check.collectives import collective_bytes
from luffy_jax.models import ModelConfig, init_params, param_shardings
from luffy_jax.objectives import zero_terms
from luffy_jax.sampling import SamplingConfig, schedule, slots
from luffy_jax.trainer import packed_step as PS
from luffy_jax.trainer import packing
from luffy_jax.trainer import step as S
from luffy_jax.trainer.config import RunShape, Stage


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


def micro_batch(
    mesh: Mesh, shape: RunShape, with_ref: bool, official_weights: bool = False
) -> dict[str, jax.ShapeDtypeStruct]:
    """One micro-batch of the update as ``update.micro_batches`` places it (rows over
    ``data x fsdp``); ``official_weights``: with the per-row weights of the official entropy /
    SFT reductions (``trainer.layout``)."""
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
    if official_weights:
        mb["entropy_weight"] = _rows(mesh, (m,), jnp.float32)
        mb["sft_weight"] = _rows(mesh, (m,), jnp.float32)
    return mb


def packed_micro_batch(
    mesh: Mesh, shape: RunShape, with_ref: bool, official_weights: bool = False
) -> dict[str, jax.ShapeDtypeStruct]:
    """One packed micro-batch (``trainer.packing.pack``) at the token budget's largest shape:
    ``max_sequences`` sequences of ``P + R`` tokens per row shard, and row slots for every row
    of a mini-batch's shard (short rows: many to a sequence), the worst case for memory."""
    shards = sharding.batch_divisor(mesh)
    length, r = shape.max_prompt_length + shape.max_response_length, shape.max_response_length
    seqs = shards * packing.max_sequences(packing.micro_batch_tokens(shape), length, shards)
    per_shard = -(-shape.rows_per_mini_batch // shards)
    slots_ = shards * (1 << max(0, per_shard - 1).bit_length())
    mb = {
        "tokens": _rows(mesh, (seqs, length), jnp.int32),
        "segment_ids": _rows(mesh, (seqs, length), jnp.int32),
        "positions": _rows(mesh, (seqs, length), jnp.int32),
        "gather_index": _rows(mesh, (slots_, r), jnp.int32),
        "gather_valid": _rows(mesh, (slots_, r), jnp.bool_),
        "old_logp": _rows(mesh, (slots_, r), jnp.float32),
        "advantages": _rows(mesh, (slots_,), jnp.float32),
        "response_mask": _rows(mesh, (slots_, r), jnp.float32),
        "off_policy_mask": _rows(mesh, (slots_, r), jnp.float32),
    }
    if with_ref:
        mb["ref_logp"] = _rows(mesh, (slots_, r), jnp.float32)
    if official_weights:
        mb["entropy_weight"] = _rows(mesh, (slots_,), jnp.float32)
        mb["sft_weight"] = _rows(mesh, (slots_,), jnp.float32)
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
    (``trainer.update``: ``response_logprobs``, ``accumulate_micro_batch``, ``apply_update``;
    with ``batch.packing`` the packed twins of ``trainer.packed_step`` at the budget's largest
    shape, counted as often as padded micro-batches: every row at the full length, the worst
    case -- ``experiments/benchmarks/packed_compile_tpu.py`` counts them at real lengths)."""
    shape, loss_config, objective = stage.shape, stage.loss, stage.method.objective
    p, r, m = shape.max_prompt_length, shape.max_response_length, shape.micro_batch_rows
    grads = abstract(params, jax.tree.map(lambda x: x.sharding, params))
    grads = jax.tree.map(
        lambda g: jax.ShapeDtypeStruct(g.shape, jnp.float32, sharding=g.sharding), grads
    )
    terms = jax.tree.map(lambda _: _scalar(mesh), zero_terms())
    counts = {k: _scalar(mesh) for k in S.COUNT_KEYS}
    official = "official" in (loss_config.entropy_reduction, loss_config.sft_reduction)
    mb = micro_batch(mesh, shape, with_ref, official)
    temperature = _scalar(mesh)
    rows_per_step = shape.rows_per_step
    micro_per_mini = math.ceil(shape.rows_per_mini_batch / m)
    statics = dict(prompt_len=p, response_len=r)
    grad_kwargs = dict(config=config, loss_config=loss_config, objective=objective)
    if shape.packing:
        mb = packed_micro_batch(mesh, shape, with_ref, official)
        shards = dict(shards=sharding.batch_divisor(mesh))
        logprob = (PS.packed_response_logprobs, (params, config, mb, temperature), shards)
        grad = (PS.accumulate_packed_micro_batch, {**grad_kwargs, **shards})
    else:
        logprob = (
            S.response_logprobs,
            (params, config, mb["tokens"], mb["attention_mask"], temperature),
            statics,
        )
        grad = (S.accumulate_micro_batch, {**grad_kwargs, **statics})
    pieces = []
    if logprob_passes:
        pieces.append(
            Piece("logprob_pass", *logprob, logprob_passes * math.ceil(rows_per_step / m))
        )
    pieces.append(
        Piece(
            "micro_batch_grad",
            grad[0],
            (params, grads, terms, mb, counts, temperature),
            grad[1],
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


def decode_slots(
    config: ModelConfig,
    sc: SamplingConfig,
    rows: int,
    prompt_len: int,
    mesh: Mesh,
    free_bytes: float,
) -> int:
    """Decode slots as ``sampling.generate`` picks them for ``rows`` rollout rows:
    ``max_concurrent`` (or, unset, the rows whose KV cache and logits fit half of ``free_bytes``,
    the chip's HBM left by the resident state), rounded down to the mesh's row split."""
    max_rows = sc.max_concurrent
    if max_rows is None:
        cache_slots = prompt_bucket(sc, prompt_len) + sc.max_new_tokens
        itemsize = jnp.dtype(config.compute_dtype).itemsize
        per_row = 2 * config.num_layers * cache_slots * config.num_kv_heads * config.head_dim
        per_row = per_row * itemsize + 4 * config.vocab_size * 4
        max_rows = max(1, int(0.5 * free_bytes // per_row))
    return schedule.slot_count(rows, max_rows, sharding.batch_divisor(mesh))


def refill_prompts(slots: int, n: int, mesh: Mesh) -> int:
    """Prompts one full refill prefills (every slot free, whole prompts of ``n`` samples), as the
    prefill batch ``sampling.schedule.prefill_size`` pads it to."""
    return schedule.prefill_size(max(1, slots // n), sharding.batch_divisor(mesh), slots)


def prompt_bucket(sc: SamplingConfig, prompt_len: int) -> int:
    """The sampler's padded prompt width for prompts of up to ``prompt_len`` tokens."""
    return schedule.round_up(prompt_len, sc.prompt_bucket)


def sampler_pieces(
    params: Any,
    config: ModelConfig,
    sc: SamplingConfig,
    n_slots: int,
    n: int,
    total_rows: int,
    prompt_len: int,
    mesh: Mesh,
    *,
    refills: float,
    decode_steps: float,
) -> list[Piece]:
    """The slot decoder's two programs (``sampling.slots``) at the run's shapes: ``refill`` of a
    full prefill batch (whole prompts of ``n`` samples) into ``n_slots`` slots over a cache of ``prompt_len + max_new_tokens``
    positions, and one step of ``decode_chunk`` attending to the whole cache (its longest bucket:
    the memory the run needs and an upper bound on a step's cost). This is the only function
    that knows the sampler's internals."""
    width = prompt_bucket(sc, prompt_len)
    total_slots = width + sc.max_new_tokens
    shardings = slots.state_shardings(config, mesh, n_slots, total_slots)
    state_shapes = jax.eval_shape(
        lambda: slots.init_state(
            config, n_slots, total_slots, total_rows, sc.max_new_tokens, sc.pad_id
        )
    )
    state = abstract(state_shapes, shardings)
    rows_sharding = shardings.kv_mask
    u = refill_prompts(n_slots, n, mesh)
    tokens = jax.ShapeDtypeStruct((u, width), jnp.int32, sharding=rows_sharding)
    mask = jax.ShapeDtypeStruct((u, width), jnp.bool_, sharding=rows_sharding)
    per_slot = [jax.ShapeDtypeStruct((n_slots,), jnp.int32, sharding=sharding.replicated(mesh))]
    refill_args = (params, config, state, tokens, mask, *(per_slot * 3), _scalar(mesh, jnp.int32))
    refill = Piece("sampler_refill", slots.refill, refill_args, dict(shardings=shardings), refills)
    rule = slots.TokenRule(sc.temperature, sc.top_k, sc.top_p, sc.eos_ids, sc.ignore_eos)
    key = jax.eval_shape(lambda: jax.random.key(0))
    key = jax.ShapeDtypeStruct(key.shape, key.dtype, sharding=sharding.replicated(mesh))
    limits = jax.ShapeDtypeStruct((total_rows,), jnp.int32, sharding=sharding.replicated(mesh))
    decode_args = (params, config, rule, state, key, limits, _scalar(mesh, jnp.int32))
    decode = Piece(
        "sampler_decode_step",
        slots.decode_chunk,
        decode_args,
        dict(prompt_slots=width, attend=total_slots, shardings=shardings),
        decode_steps,
    )
    return [refill, decode]


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
