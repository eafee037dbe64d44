"""Pod-scale checks without a pod: compile one training step of a config for a TPU slice on a
CPU-only host (``libtpu`` installed, no TPU) and estimate its memory and speed.

    python -m luffy_jax.compile_check --config=experiments/luffy_qwen25_math_7b.py \
        --topology=v5p:2x2x4 --model_config=../shared/data/model_configs/qwen2.5-7b.json

:func:`check` builds the run's mesh over the compile-only devices of the topology
(``jax.experimental.topologies``), abstract parameters and optimizer state with the run's
shardings, and compiles every jitted piece of one step at the config's shapes (the sampler's
refill and decode step at the slot count and KV cache the run would use, the old-log-prob pass,
the micro-batch gradient, the optimizer update). Per piece and per chip it reports the compiler's
memory (arguments, outputs, temporaries, code, plus the state that stays resident meanwhile: the
optimizer state while sampling, ...) against the chip's HBM, XLA's FLOPs and bytes (plus the
attention kernels' by formula, which XLA does not see), the collective bytes, and a roofline
time; then the step's estimated time split, tokens/s and the update's MFU.

``layers=(a, b)`` compiles the model at ``a`` and ``b`` layers and extrapolates every compiled
figure linearly to the real depth (the layers are unrolled, so a 28-layer compile takes minutes
per piece); the resident state, kernel costs and slot count are always those of the real model.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Sequence
from typing import Any

import ml_collections

from luffy_jax import sharding
from luffy_jax.compile_check import estimate as E
from luffy_jax.compile_check import pieces as P
from luffy_jax.compile_check.chips import (
    CHIPS,
    GPU_TARGETS,
    ChipSpec,
    accelerator_type,
    chip_of,
    gpu_topology,
)
from luffy_jax.compile_check.table import format_table, summary
from luffy_jax.sampling import SamplingConfig
from luffy_jax.trainer import step as S
from luffy_jax.trainer.config import ConfigError, translate
from luffy_jax.trainer.setup import check_shapes, model_config_of

__all__ = ["CHIPS", "ChipSpec", "check", "chip_of", "format_table", "reusable", "summary"]

GB = 1e9
_OOM = re.compile(r"Used ([\d.]+)([KMGT]) of ([\d.]+)([KMGT]) hbm")
_UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def compile_only_devices(topology: str) -> list[Any]:
    """The compile-only devices of ``topology``: a TPU slice (e.g. ``"v5p:2x2x1"``; needs
    ``libtpu``) or NVIDIA GPUs (e.g. ``"h100:8"``; needs the CUDA plugin, ``jax[cuda13]``)."""
    from jax.experimental import topologies

    chip = chip_of(topology)
    if chip.platform == "cuda":
        try:
            desc = topologies.get_topology_desc(
                platform="cuda",
                target_config=GPU_TARGETS[chip.name],
                topology=gpu_topology(topology),
            )
        except Exception as e:
            raise RuntimeError(
                f"topology {topology!r}: no compile-only GPU devices ({type(e).__name__}: {e}). "
                'Install the CUDA plugin (pip install "jax[cuda13]==0.10.2"; no GPU needed)'
            ) from e
        return list(desc.devices)
    os.environ.setdefault("TPU_ACCELERATOR_TYPE", accelerator_type(topology))
    # Compile-only: no chip to guard, so several checks (and a test run) may load libtpu at once.
    os.environ.setdefault("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")
    try:
        return list(topologies.get_topology_desc(platform="tpu", topology_name=topology).devices)
    except Exception as e:
        raise RuntimeError(
            f"topology {topology!r}: no compile-only TPU devices ({type(e).__name__}: {e}). "
            "Install libtpu (requirements-test.txt; BUILD.md 'Checking a config before booking "
            "a slice') and name a slice as GEN:AxBxC, e.g. v5p:2x2x1 or v5e:2x4"
        ) from e


def check(
    config: ml_collections.ConfigDict,
    topology: str,
    *,
    model_config_path: str | None = None,
    layers: Sequence[int] | None = None,
    decode_steps: int | None = None,
    max_hbm_frac: float = 1.0,
    reuse: dict[int, list[P.Measured]] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Compiles one step of ``config`` for ``topology`` and returns the report (a JSON-able dict).

    Args:
      config: a training config (a preset's ``get_config()`` with any overrides).
      topology: a TPU slice, ``GEN:AxB[xC]`` (``v4``, ``v5e``, ``v5p``, ``v6e``), or NVIDIA GPUs,
        ``h100:N`` / ``h200:N`` (``HOSTSxN`` for several hosts).
      model_config_path: the model's ``config.json`` (or its folder) when ``model.hf_path`` is
        not on this machine (no weights are read either way).
      layers: two depths ``(a, b)`` to compile at and extrapolate from; ``None``: the real depth.
      decode_steps: tokens each sampled row generates (default: ``data.max_response_length``,
        the worst case); the decode steps are ``rows x decode_steps / slots`` (slots refilled).
      max_hbm_frac: a piece fits when its bytes per chip are at most this fraction of the HBM
        (e.g. 0.9 to demand 10% headroom).
      reuse: measurements per depth from earlier reports of the same config and topology
        (:func:`reusable`); those depths are not compiled again.
      log: called with a line per compiled piece (progress).

    Returns:
      The report: ``pieces`` (per-chip figures per piece), ``compiled`` (the raw measurements
      per compiled depth), the step's estimate and the summary
      fields of :func:`summary` (``fits``, ``peak_hbm_frac``, ``update_mfu_est``,
      ``decode_tokens_per_s_est``, ...). Raises :class:`ConfigError` for a config that cannot run
      on this mesh.
    """
    log = log or (lambda _: None)
    run = translate(config)
    stage = run.stages[-1]
    shape, method = stage.shape, stage.method
    chip = chip_of(topology)
    devices = compile_only_devices(topology)
    try:
        mesh = sharding.make_mesh(run.mesh, devices)
    except ValueError as e:
        raise ConfigError(f"config.mesh on {topology} ({len(devices)} chips): {e}") from e
    source = run.model
    if model_config_path:
        field = "hf_path" if source.hf_path else "config_json"
        source = dataclasses.replace(source, **{field: model_config_path})
    model_config = model_config_of(source)
    check_shapes(run, model_config, mesh)
    tx = S.make_optimizer(stage.optim)[0]

    params = P.abstract_params(model_config, mesh)
    resident = {
        "params": P.per_chip_bytes(params),
        "opt_state": P.per_chip_bytes(P.abstract_opt_state(tx, params, mesh)),
        "ref_params": P.per_chip_bytes(params) if run.uses_kl else 0.0,
    }
    sc = SamplingConfig(
        max_new_tokens=shape.max_response_length,
        temperature=run.rollout.temperature,
        top_p=run.rollout.top_p,
        top_k=run.rollout.top_k,
        eos_ids=(0,),
        pad_id=0,
        max_concurrent=run.rollout.max_concurrent,
    )
    free = chip.hbm_bytes - resident["params"] - resident["opt_state"] - resident["ref_params"]
    total_rows = shape.prompts_per_step * shape.n_on
    n_slots = P.decode_slots(model_config, sc, total_rows, shape.max_prompt_length, mesh, free)
    refill_prompts = P.refill_prompts(n_slots, shape.n_on, mesh)
    # a refill starts whole prompts (their samples together) in the free slots
    refills = math.ceil(shape.prompts_per_step / max(1, n_slots // shape.n_on))
    steps = decode_steps or shape.max_response_length
    # every slot busy until the last rows: rows x tokens per row / slots decode steps
    decode_calls = math.ceil(total_rows * steps / n_slots)
    logprob_passes = 0
    if method.rewards:
        logprob_passes = (0 if run.rollout.use_sampler_logprobs else 1) + int(run.uses_kl)

    def pieces_at(depth: int) -> list[P.Piece]:
        cfg = model_config.replace(num_layers=depth)
        p = P.abstract_params(cfg, mesh)
        out = []
        if method.samples:
            out += P.sampler_pieces(
                p,
                cfg,
                sc,
                n_slots,
                shape.n_on,
                total_rows,
                shape.max_prompt_length,
                mesh,
                refills=refills,
                decode_steps=decode_calls,
            )
        opt = P.abstract_opt_state(tx, p, mesh)
        out += P.update_pieces(
            cfg, stage, p, opt, tx, mesh, logprob_passes=logprob_passes, with_ref=run.uses_kl
        )
        return out

    depths = tuple(layers) if layers else (model_config.num_layers,)
    if len(depths) not in (1, 2) or (len(depths) == 2 and depths[0] == depths[1]):
        raise ValueError(f"layers={layers!r}: give two different depths, one, or none")
    measured: list[list[P.Measured]] = []
    for depth in depths:
        if depth in (reuse or {}):
            measured.append(reuse[depth])
            log(f"reused the pieces compiled at {depth} layers")
            continue
        row = []
        for piece in pieces_at(depth):
            m = P.measure(piece)
            log(
                f"compiled {m.name} at {depth} layers in {m.compile_s:.0f} s"
                + (f" ({m.error})" if m.error else "")
            )
            row.append(m)
        measured.append(row)
    final = (
        measured[0]
        if len(depths) == 1
        else _extrapolate(measured[0], measured[1], depths, model_config.num_layers)
    )
    report = _report(
        final,
        chip,
        topology,
        mesh,
        model_config,
        run,
        stage,
        resident,
        slots=n_slots,
        refill_prompts=refill_prompts,
        refills=refills,
        decode_calls=decode_calls,
        prompt_width=P.prompt_bucket(sc, shape.max_prompt_length),
        decode_steps=steps,
        depths=depths,
        max_hbm_frac=max_hbm_frac,
    )
    report["compiled"] = {
        str(d): [dataclasses.asdict(m) for m in row] for d, row in zip(depths, measured)
    }
    return report


def reusable(reports: Sequence[dict[str, Any]]) -> dict[int, list[P.Measured]]:
    """The raw per-depth measurements (``report["compiled"]``) of earlier reports of the same
    config and topology, for :func:`check`'s ``reuse`` (e.g. depths compiled by two processes)."""
    out = {}
    for report in reports:
        for depth, rows in report.get("compiled", {}).items():
            out[int(depth)] = [P.Measured(**row) for row in rows]
    return out


def _extrapolate(
    a: list[P.Measured], b: list[P.Measured], depths: Sequence[int], target: int
) -> list[P.Measured]:
    """Each numeric figure of ``a`` (at ``depths[0]``) and ``b`` (at ``depths[1]``) on the line
    through both, at ``target`` layers."""
    da, db = depths
    out = []
    for ma, mb in zip(a, b):
        m = P.Measured(ma.name, ma.calls)
        for k in P.Measured.NUMERIC:
            va, vb = getattr(ma, k), getattr(mb, k)
            setattr(m, k, max(0.0, va + (vb - va) * (target - da) / (db - da)))
        m.compile_s = ma.compile_s + mb.compile_s
        m.error = ma.error or mb.error
        out.append(m)
    return out


def _oom_bytes(error: str) -> float | None:
    match = _OOM.search(error)
    if not match:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)]


def _report(
    measured, chip, topology, mesh, model_config, run, stage, resident, **shape_info
) -> dict[str, Any]:
    shape = stage.shape
    row_shards, head_shards = sharding.batch_divisor(mesh), mesh.shape["tensor"]
    seq = shape.max_prompt_length + shape.max_response_length
    kernel_rows = {
        "sampler_refill": (shape_info["refill_prompts"], shape_info["prompt_width"]),
        "logprob_pass": (shape.micro_batch_rows, seq),
        "micro_batch_grad": (shape.micro_batch_rows, seq),
    }
    codes = {m.name: m.code for m in measured}
    rows = []
    for m in measured:
        kflops, kbytes = E.kernel_cost(
            model_config, m.name, *kernel_rows.get(m.name, (1, 1)), row_shards, head_shards
        )
        other = resident["ref_params"] + sum(c for k, c in codes.items() if k != m.name)
        if m.name != "optimizer_update":
            other += resident["opt_state"]
        flops, nbytes = m.flops + kflops, m.bytes_accessed + kbytes
        total = m.program_bytes + other
        oom = _oom_bytes(m.error) if m.error else None
        if oom is not None:
            total = oom + other
        t = E.roofline_s(flops, nbytes, m.ici_bytes, chip) if not m.error else float("nan")
        rows.append(
            {
                "piece": m.name,
                "calls_per_step": m.calls,
                "argument_gb": m.argument / GB,
                "output_gb": m.output / GB,
                "alias_gb": m.alias / GB,
                "temp_gb": m.temp / GB,
                "code_gb": m.code / GB,
                "other_resident_gb": other / GB,
                "total_gb": total / GB,
                "hbm_frac": total / chip.hbm_bytes,
                "fits": not m.error and total <= shape_info["max_hbm_frac"] * chip.hbm_bytes,
                "tflops": flops / 1e12,
                "kernel_tflops": kflops / 1e12,
                "hbm_gb_accessed": nbytes / GB,
                "ici_gb": m.ici_bytes / GB,
                "roofline_ms": t * 1e3,
                "bound": E.bound_of(flops, nbytes, m.ici_bytes, chip) if not m.error else "",
                "compile_s": m.compile_s,
                "error": m.error,
            }
        )
    by = {r["piece"]: r for r in rows}

    def seconds(*names: str) -> float:
        return sum(by[n]["calls_per_step"] * by[n]["roofline_ms"] / 1e3 for n in names if n in by)

    split = {
        "rollout_s": seconds("sampler_refill", "sampler_decode_step"),
        "logprob_s": seconds("logprob_pass"),
        "update_s": seconds("micro_batch_grad", "optimizer_update"),
    }
    step_s = sum(split.values())
    chips = mesh.devices.size
    tokens = shape.rows_per_step * seq
    n = E.matmul_params(model_config)
    update_s = split["update_s"]
    update_mfu = (
        6.0 * n * tokens / (chips * chip.peak_tflops * 1e12 * update_s) if update_s else 0.0
    )
    sampled = shape.prompts_per_step * shape.n_on * shape_info["decode_steps"]
    decode_tps = sampled / split["rollout_s"] if split["rollout_s"] else 0.0
    fits = all(r["fits"] for r in rows)
    peak = max(r["hbm_frac"] for r in rows)
    return {
        "topology": topology,
        "chip": chip.name,
        "chips": chips,
        "hbm_gb_per_chip": chip.hbm_gb,
        "mesh": {k: int(v) for k, v in mesh.shape.items()},
        "method": stage.method.name,
        "model": {
            "num_layers": model_config.num_layers,
            "hidden_size": model_config.hidden_size,
            "params": model_config.num_params(),
            "attention_impl": model_config.attention_impl,
            "remat": model_config.remat,
            "param_dtype": model_config.param_dtype,
            "dtype": model_config.dtype,
        },
        "layers_compiled": list(shape_info["depths"]),
        "batch": {
            "prompts_per_step": shape.prompts_per_step,
            "n": shape.n,
            "rows_per_step": shape.rows_per_step,
            "micro_batch_rows": shape.micro_batch_rows,
            "mini_batches": shape.mini_batches,
            "sequence": seq,
            "decode_slots": shape_info["slots"],
            "refill_prompts": shape_info["refill_prompts"],
            "refills": shape_info["refills"],
            "decode_steps": shape_info["decode_steps"],
            "decode_step_calls": shape_info["decode_calls"],
        },
        "resident_gb": {k: v / GB for k, v in resident.items()},
        "pieces": rows,
        "step_split_s": split,
        "step_time_s_est": step_s,
        "tokens_per_s_est": tokens / step_s if step_s else 0.0,
        "fits": fits,
        "max_hbm_frac": shape_info["max_hbm_frac"],
        "peak_hbm_frac": peak,
        "update_mfu_est": update_mfu,
        "decode_tokens_per_s_est": decode_tps,
    }
