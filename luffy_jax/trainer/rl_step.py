"""One training step (spec 1.14), top to bottom, for any method record.

1. (the loop draws ``prompts_per_step`` prompts)
2. sample ``n - n_off`` continuations per prompt with the current parameters;
3. build the mixed batch: per prompt ``n_off`` trace rows (trace + EOS) then the samples;
4. reward every row (LUFFY's v3 rule, bounded worker pool);
5. old log-probs of every row with the same parameters (a forward pass, as the official code, or
   the sampler's own with ``rollout.use_sampler_logprobs``), and the frozen reference's for KL;
6. group advantages over the group (the mixed group, or its on-policy rows for grpo_split);
7. (optionally the official row balancing and entropy/SFT term weights, ``layout``) one AdamW
   step per mini-batch, gradients accumulated exactly over micro-batches.

A method without sampled rows (SFT) skips 2; one without rewards skips 4-6.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from luffy_jax.objectives import finalize, group_advantages
from luffy_jax.rewards import score_with
from luffy_jax.sampling import generate
from luffy_jax.trainer import hosts
from luffy_jax.trainer import step as S
from luffy_jax.trainer.config import Stage
from luffy_jax.trainer.layout import arrange_rows
from luffy_jax.trainer.metrics import batch_metrics, row_stats
from luffy_jax.trainer.prefixes import prefix_ratios, prefix_tokens
from luffy_jax.trainer.rollout import build_rollout
from luffy_jax.trainer.setup import RunContext
from luffy_jax.trainer.update import logprob_pass, update_policy


def train_step(
    ctx: RunContext,
    stage: Stage,
    params: Any,
    opt_state: Any,
    optimizer: tuple[Any, Any],
    batch: dict[str, Any],
    key: jax.Array,
    ref_params: Any | None,
) -> tuple[Any, Any, dict[str, Any]]:
    """One step of ``stage.method``; returns ``(params, opt_state, metrics)``.

    ``optimizer`` is ``(optax transformation, learning-rate schedule)``; ``batch`` one element of
    ``data.rollout_batches``; ``ref_params`` the frozen reference (KL term) or None.
    """
    method, shape, loss_config = stage.method, stage.shape, stage.loss
    model_config, mesh = ctx.model_config, ctx.mesh
    temperature = ctx.run.rollout.temperature
    stop_id, pad_id = ctx.sampling.eos_ids[0], ctx.sampling.pad_id
    tx, schedule = optimizer
    timing: dict[str, float] = {}

    # 2. sample the on-policy rows (one sampler call over every host's prompts; this host's rows),
    # or, with partial-trace prefixes, continue the prefixes
    t = time.monotonic()
    samples, row_prefixes, prefix_metrics = (None, None, None), None, {}
    prefix_cfg = ctx.run.rollout.prefix
    if method.samples and shape.n_off and not prefix_cfg.full_traces:
        if jax.process_count() > 1:
            raise NotImplementedError(
                "rollout.prefix_strategy with partial traces runs in one process only"
            )
        step = S.schedule_count(opt_state) // shape.mini_batches  # 0-based, as the official
        samples, row_prefixes, prefix_metrics = _sample_after_prefixes(
            ctx, params, batch, key, shape, stop_id, step
        )
    elif method.samples:
        prompts = hosts.global_prompts(batch["prompt_ids"], shape, mesh)
        out = generate(params, model_config, prompts, key, ctx.sampling, n=shape.n_on, mesh=mesh)
        samples = hosts.own_samples(out, shape, mesh)
    timing["gen"] = time.monotonic() - t

    # 3. the mixed batch
    rb = build_rollout(
        batch,
        *samples,
        shape,
        stop_id,
        pad_id,
        mask_end=ctx.run.rollout.response_mask_end,
        row_prefixes=row_prefixes,
    )

    # 4. rewards
    t = time.monotonic()
    scores, reward_stats = np.zeros(rb.rows, np.float32), {}
    if method.rewards:
        texts = [ctx.tokenizer.decode(r, skip_special_tokens=False) for r in rb.responses]
        scores, reward_stats = score_with(ctx.run.rollout.reward, texts, rb.golds)
    timing["reward"] = time.monotonic() - t

    # 5. old log-probs (and the frozen reference's, for the KL term)
    t = time.monotonic()
    old_logp, ref_logp = np.zeros_like(rb.response_mask), None
    if method.rewards:
        if ctx.run.rollout.use_sampler_logprobs:
            old_logp = rb.sampler_logprobs
        else:
            old_logp, _ = logprob_pass(
                params, model_config, rb.tokens, rb.attention_mask, shape, temperature, mesh
            )
        if ref_params is not None and loss_config.kl_coef > 0:
            ref_logp, _ = logprob_pass(
                ref_params, model_config, rb.tokens, rb.attention_mask, shape, temperature, mesh
            )
    timing["old_log_prob"] = time.monotonic() - t

    # 6. advantages
    adv = np.zeros(rb.rows, np.float32)
    if method.rewards:
        adv = np.asarray(
            group_advantages(
                jnp.asarray(scores),
                jnp.asarray(rb.group_ids),
                jnp.asarray(rb.is_off),
                stats_from=loss_config.advantage_stats,
                use_std=loss_config.advantage_use_std,
            )
        )

    # 7. updates
    t = time.monotonic()
    arrays = {
        "tokens": rb.tokens,
        "attention_mask": rb.attention_mask,
        "old_logp": old_logp.astype(np.float32),
        "advantages": adv.astype(np.float32),
        "response_mask": rb.response_mask,
        "off_policy_mask": rb.off_policy_mask,
    }
    if ref_logp is not None:
        arrays["ref_logp"] = ref_logp.astype(np.float32)
    arrays, layout_metrics = arrange_rows(arrays, stage)  # the official layout, if asked for
    params, opt_state, terms, grad_norms = update_policy(
        params, opt_state, tx, arrays, stage, model_config, temperature, mesh
    )
    timing["update_actor"] = time.monotonic() - t

    loss, actor = finalize(terms, loss_config)
    metrics: dict[str, Any] = {k: float(v) for k, v in actor.items()}
    metrics["loss"] = float(loss)
    metrics["actor/grad_norm"] = float(np.mean(grad_norms))
    metrics["actor/lr"] = float(schedule(max(S.schedule_count(opt_state) - 1, 0)))
    rows = hosts.gather_rows(row_stats(rb, scores, adv), mesh)  # every host's rows
    metrics.update(batch_metrics(rows, shape, rewarded=method.rewards))
    metrics.update(layout_metrics)
    metrics.update(prefix_metrics)
    for k, v in reward_stats.items():  # timeouts/crashes/errors counts; durations under timing_s/
        if isinstance(v, (int, float)) and k.endswith("_s"):
            metrics[f"timing_s/reward_{k}"] = v
    counters = {k: v for k, v in reward_stats.items() if isinstance(v, (int, float))}
    for k, v in hosts.sum_over_hosts(counters, mesh, take_max=("workers",)).items():
        if not k.endswith("_s"):
            metrics[f"reward/{k}"] = v
    tokens = float(rows["response_lengths"].sum() + rows["prompt_lengths"].sum())
    metrics["perf/tokens"] = tokens
    for k, v in timing.items():
        metrics[f"timing_s/{k}"] = v
    metrics["perf/tokens_per_s"] = tokens / max(sum(timing.values()), 1e-9)
    metrics["method"] = method.name
    return params, opt_state, metrics


def _sample_after_prefixes(ctx, params, batch, key, shape, eos_id, step):
    """Prefix ratios per copy (``rollout.prefix_*``), the prefixes, and one continuation per
    copy whose prefix is not its whole trace + EOS, sampled from ``prompt + prefix``."""
    prompts, traces = batch["prompt_ids"], batch["trace_ids"]
    rng_key, sample_key = jax.random.split(key)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(rng_key)).ravel().tolist())
    ratios = prefix_ratios(ctx.run.rollout.prefix, len(prompts), shape.n, shape.n_off, step, rng)
    row_prefixes, gen_prompts = [], []
    for i, prompt in enumerate(prompts):
        for j in range(shape.n):
            trace = list(np.asarray(traces[i][j % len(traces[i])]).tolist()) if traces[i] else []
            prefix = prefix_tokens(trace, eos_id, float(ratios[i, j]))
            row_prefixes.append(prefix)
            if not trace or len(prefix) < len(trace) + 1:
                gen_prompts.append(list(np.asarray(prompt).tolist()) + prefix)
    samples = (None, None, None)
    if gen_prompts:
        out = generate(
            params, ctx.model_config, gen_prompts, sample_key, ctx.sampling, mesh=ctx.mesh
        )
        samples = tuple(np.asarray(x) for x in out)
    return samples, row_prefixes, {"batch/avg_prefix_ratio": float(ratios.mean())}
