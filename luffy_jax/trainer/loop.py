"""``run_training``: the resumable loop around :func:`luffy_jax.trainer.rl_step.train_step`.

Set-up (:func:`luffy_jax.trainer.setup.validate`, all checks before compute), then per step:
draw ``prompts_per_step`` prompts (Grain, position checkpointed), run the step of the stage in
force (a fresh optimizer at a stage boundary of ``sft_then_rl``), validate every ``eval.every``
steps, write metrics, and save params, optimizer state, step, RNG and the data position every
``checkpoint.every`` steps, on SIGTERM and at the end.

With several processes (hosts) every process runs this loop: each draws its share of the
prompts (:mod:`luffy_jax.trainer.hosts`), process 0 writes ``metrics.jsonl``, TensorBoard and
``config.json``, all take part in every checkpoint, and a SIGTERM on any process stops them all
after the same step: the stop flags are combined by a collective at the end of every step.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from luffy_jax import distributed, sharding
from luffy_jax.data import BatchIterator, rollout_batches
from luffy_jax.evaluation import evaluate_policy
from luffy_jax.trainer import step as S
from luffy_jax.trainer.checkpoint import Checkpointer
from luffy_jax.trainer.config import Stage
from luffy_jax.trainer.metrics import MetricsWriter
from luffy_jax.trainer.rl_step import train_step
from luffy_jax.trainer.setup import RunContext, load_params, validate, workdir_files

log = logging.getLogger("luffy_jax.train")


class _StopFlag:
    """Set by SIGTERM (preemption): the loop saves a checkpoint and returns."""

    def __init__(self):
        self.stop = False
        self._previous = None

    def install(self):
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not in the main thread: no handler, the caller stops the run
            self._previous = None

    def _handle(self, signum, frame):
        log.warning("SIGTERM received: saving a checkpoint and stopping after this step")
        self.stop = True

    def uninstall(self):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _init_opt(tx, params, mesh):
    """Optimizer state: scalars (step counts) replicated on the mesh, the rest sharded like the
    params."""
    return jax.tree.map(
        lambda x: jax.device_put(x, sharding.replicated(mesh)) if x.ndim == 0 else x,
        tx.init(params),
    )


def _validate(ctx: RunContext, params, examples, step: int) -> dict[str, float]:
    t0 = time.monotonic()
    ev = ctx.run.eval
    result = evaluate_policy(
        params,
        ctx.model_config,
        ctx.tokenizer,
        examples,
        key=jax.random.key(ctx.run.seed + 10_000 + step),
        temperature=ev.temperature,
        max_new_tokens=ev.max_new_tokens,
        max_prompt_length=ev.max_prompt_length,
        stop_ids=ctx.sampling.eos_ids,
        grader=ev.reward.kind,
        remove_system=ev.remove_system,
        reward_timeout_s=ev.reward.timeout_s,
        reward_workers=ev.reward.workers,
        mesh=ctx.mesh,
    )
    out = {f"val/test_score/{k}": v for k, v in result["scores"].items()}
    out["val/avg_score"] = result["average"]
    out["timing_s/testing"] = time.monotonic() - t0
    return out


def run_training(
    config: ml_collections.ConfigDict,
    workdir: str,
    max_steps: int | None = None,
    *,
    on_step: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Trains (or resumes) a run in ``workdir`` up to ``min(max_steps, config.total_steps)``.

    Args:
      config: a config from ``experiments/`` (schema: :mod:`luffy_jax.trainer.schema`).
      workdir: output folder: ``checkpoints/``, ``metrics.jsonl``, ``tensorboard/``, ``config.json``.
      max_steps: stop after this step (a later call with a larger value resumes and extends).
      on_step: called as ``on_step(step, metrics)`` after every step (tests, notebooks).

    Returns:
      The metrics of the last step run (empty if nothing was left to run).
    """
    stop = _StopFlag()
    stop.install()  # from the start: a SIGTERM during set-up or compilation stops after step 1
    try:
        return _train(config, workdir, max_steps, on_step, stop)
    finally:
        stop.uninstall()


def _train(
    config: ml_collections.ConfigDict,
    workdir: str,
    max_steps: int | None,
    on_step: Callable[[int, dict[str, Any]], None] | None,
    stop: _StopFlag,
) -> dict[str, Any]:
    prepared = validate(config)
    ctx = prepared.ctx
    run = ctx.run
    primary = distributed.is_primary()
    if primary:
        workdir_files(workdir, config)
    log.info("training data: %d examples (%s)", len(prepared.train), prepared.data_stats)
    share = distributed.row_share(ctx.mesh)
    batches = BatchIterator(
        rollout_batches(
            prepared.train,
            run.stages[0].shape.prompts_per_step,
            seed=run.seed,
            shard_index=share.index,
            shard_count=share.count,
            block_size=run.stages[0].shape.mini_batch_prompts,
        )
    )
    params = load_params(ctx)
    last = min(run.total_steps, int(max_steps)) if max_steps else run.total_steps
    optimizers: dict[int, tuple[Any, Any]] = {}

    def optimizer_for(stage: Stage):
        if stage.first_step not in optimizers:
            optimizers[stage.first_step] = S.make_optimizer(stage.optim)
        return optimizers[stage.first_step]

    stage = run.stage_at(1)
    rng = jax.random.key(run.seed)
    start = 0
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), keep=run.checkpoint_keep)
    meta = {
        "model_config": ctx.model_config.to_hf_dict(),
        "tokenizer": os.path.abspath(run.tokenizer_path),
        "method": run.method.name,
    }
    latest = ckpt.latest_step()
    if latest is not None:
        stage = run.stage_at(latest)
        target = {
            "params": params,
            "opt_state": _init_opt(optimizer_for(stage)[0], params, ctx.mesh),
            "step": np.zeros((), np.int64),
            "rng": np.asarray(jax.random.key_data(rng)),
        }
        state, data_state, _ = ckpt.restore(latest, target)
        params, opt_state = state["params"], state["opt_state"]
        rng = jax.random.wrap_key_data(jnp.asarray(state["rng"]))
        start = int(state["step"])
        batches.set_state(data_state)
        log.info("resumed from %s at step %d", ckpt.directory, start)
    else:
        opt_state = _init_opt(optimizer_for(stage)[0], params, ctx.mesh)
    ref_params = params if run.uses_kl else None

    writer = None
    if primary:
        writer = MetricsWriter(
            workdir, total_steps=last, tensorboard=run.tensorboard, first_step=start
        )
    metrics: dict[str, Any] = {}

    def save(step_done: int) -> None:
        state = {
            "params": params,
            "opt_state": opt_state,
            "step": np.asarray(step_done, np.int64),
            "rng": np.asarray(jax.random.key_data(rng)),
        }
        meta_now = {**meta, "stage_method": run.stage_at(step_done).method.name}
        ckpt.save(step_done, state, batches.get_state(), meta_now)

    try:
        for step in range(start + 1, last + 1):
            if run.stage_at(step) is not stage:  # sft_then_rl: a fresh optimizer, checkpointed
                save(step - 1)
                stage = run.stage_at(step)
                opt_state = _init_opt(optimizer_for(stage)[0], params, ctx.mesh)
                ref_params = params if run.uses_kl else ref_params
            t0 = time.monotonic()
            batch = next(batches)
            key = jax.random.fold_in(rng, step)
            params, opt_state, metrics = train_step(
                ctx, stage, params, opt_state, optimizer_for(stage), batch, key, ref_params
            )
            metrics["timing_s/step"] = time.monotonic() - t0
            if run.peak_tflops > 0:
                flops = 6.0 * ctx.model_config.num_params() * metrics["perf/tokens"]
                peak = run.peak_tflops * 1e12 * jax.device_count()
                metrics["perf/mfu"] = flops / metrics["timing_s/step"] / peak
            if prepared.eval_examples and run.eval.every and step % run.eval.every == 0:
                metrics.update(_validate(ctx, params, prepared.eval_examples, step))
            if writer is not None:
                writer.write(step, metrics)
            if on_step is not None:
                on_step(step, metrics)
            if distributed.any_process(stop.stop) and not stop.stop:  # SIGTERM on another host
                log.warning("another process received SIGTERM: saving step %d and stopping", step)
                stop.stop = True
            if stop.stop or step == last or step % run.checkpoint_every == 0:
                save(step)
            if stop.stop:
                break
    finally:
        if writer is not None:
            writer.close()
        ckpt.close()
    return metrics
