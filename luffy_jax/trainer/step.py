"""The jitted pieces of an update: log-probs of response tokens, one micro-batch's loss and
gradient accumulated into the mini-batch's, the optimizer.

Micro-batch accumulation is exact: the denominators of the objective (token, row and trace
counts) are computed for the whole mini-batch first (:func:`count_terms`) and substituted into
every micro-batch's :func:`luffy_jax.objectives.finalize`, which makes each micro-batch loss
linear in its sums, so the summed micro-batch gradients equal the gradient of the whole
mini-batch's objective whatever the micro-batch size. (The official code instead finalises each
micro-batch; see ``luffy_jax.objectives.losses`` for what that changes.) Term sums are added with
:func:`luffy_jax.objectives.accumulate`, gradients leaf by leaf, inside the same jitted call.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import optax

from luffy_jax.models import ModelConfig, token_logprobs_and_entropy
from luffy_jax.objectives import LossConfig, accumulate, finalize, objective_terms
from luffy_jax.trainer.config import OptimConfig

COUNT_KEYS = ("pg_tokens", "pg_seqs", "valid_tokens", "sft_tokens", "pg_width")


def make_optimizer(optim: OptimConfig) -> tuple[optax.GradientTransformation, optax.Schedule]:
    """AdamW with global-norm clipping and a constant or cosine schedule (with linear warmup).

    The learning rate is ``optim.lr`` from the first optimizer step on: the official code's
    first-step lr=0 (spec 6.2.2, a scheduler created with 0 warmup steps) is deliberately not
    replicated.
    """
    peak, warmup = optim.lr, optim.warmup_steps
    if optim.schedule == "cosine":
        schedule = optax.warmup_cosine_decay_schedule(
            init_value=0.0 if warmup else peak,
            peak_value=peak,
            warmup_steps=warmup,
            decay_steps=optim.decay_steps,
            end_value=peak * optim.min_lr_ratio,
        )
    elif warmup:
        schedule = optax.join_schedules(
            [optax.linear_schedule(peak / warmup, peak, warmup), optax.constant_schedule(peak)],
            [warmup],
        )
    else:
        schedule = optax.constant_schedule(peak)
    tx = optax.chain(
        optax.clip_by_global_norm(optim.grad_clip),
        optax.adamw(
            schedule, b1=optim.b1, b2=optim.b2, eps=optim.eps, weight_decay=optim.weight_decay
        ),
    )
    return tx, schedule


def schedule_count(opt_state) -> int:
    """Optimizer steps taken, read from the learning-rate schedule's own counter."""
    found = [
        s
        for s in jax.tree.leaves(
            opt_state, is_leaf=lambda x: isinstance(x, optax.ScaleByScheduleState)
        )
        if isinstance(s, optax.ScaleByScheduleState)
    ]
    if len(found) != 1:
        raise ValueError(f"expected one schedule state in the optimizer state, found {len(found)}")
    return int(found[0].count)


@functools.partial(jax.jit, static_argnames=("config", "prompt_len", "response_len"))
def response_logprobs(
    params,
    config: ModelConfig,
    tokens,
    attention_mask,
    temperature,
    *,
    prompt_len: int,
    response_len: int,
):
    """float32 ``[m, R]`` log-probs and entropies of the response tokens (no gradient needed)."""
    return token_logprobs_and_entropy(
        params,
        config,
        tokens,
        attention_mask=attention_mask,
        temperature=temperature,
        start=prompt_len - 1,
        length=response_len,
    )


def batch_terms(loss_config, objective, mb, logp, ent):
    """The objective's term sums of a batch whose log-probs / entropies ``[m, R]`` are ``logp`` /
    ``ent`` and whose other arrays are ``mb``'s (the padded and the packed path alike)."""
    batch = {
        "logp": logp,
        "entropy": ent,
        "old_logp": mb["old_logp"],
        "advantages": mb["advantages"],
        "response_mask": mb["response_mask"],
        "off_policy_mask": mb["off_policy_mask"],
    }
    for key in ("ref_logp", "entropy_weight", "sft_weight"):
        if key in mb:
            batch[key] = mb[key]
    return objective_terms(objective, batch, loss_config)


def _batch_terms(params, config, loss_config, objective, mb, temperature, prompt_len, response_len):
    logp, ent = token_logprobs_and_entropy(
        params,
        config,
        mb["tokens"],
        attention_mask=mb["attention_mask"],
        temperature=temperature,
        start=prompt_len - 1,
        length=response_len,
    )
    return batch_terms(loss_config, objective, mb, logp, ent)


@functools.partial(
    jax.jit,
    static_argnames=("config", "loss_config", "objective", "prompt_len", "response_len"),
    donate_argnames=("grads", "terms"),
)
def accumulate_micro_batch(
    params,
    grads,
    terms,
    mb: Mapping[str, jax.Array],
    counts: Mapping[str, jax.Array],
    temperature,
    *,
    config: ModelConfig,
    loss_config: LossConfig,
    objective: str,
    prompt_len: int,
    response_len: int,
):
    """Adds one micro-batch's share of the mini-batch objective's gradient to ``grads`` and its
    term sums to ``terms`` (start from zeros: :func:`zero_grads` and ``objectives.zero_terms``)."""

    def loss_fn(p):
        t = _batch_terms(
            p, config, loss_config, objective, mb, temperature, prompt_len, response_len
        )
        loss, _ = finalize({**t, **counts}, loss_config)
        return loss, t

    (_, mb_terms), g = jax.value_and_grad(loss_fn, has_aux=True)(params)
    return jax.tree.map(jnp.add, grads, g), accumulate(terms, mb_terms)


def zero_grads(params):
    """float32 zeros shaped and sharded like ``params`` (the gradient accumulator), each created on
    its parameter's own sharding (a jitted ``zeros_like`` left the whole accumulator on one
    device, uncommitted, and cost an extra compile per mini-batch's first micro-batch)."""
    return jax.tree.map(lambda p: jnp.zeros(p.shape, jnp.float32, device=p.sharding), params)


@functools.partial(jax.jit, static_argnames=("loss_config", "objective"))
def count_terms(mb: Mapping[str, jax.Array], *, loss_config: LossConfig, objective: str):
    """The objective's denominators for a batch (they depend on masks only)."""
    zeros = jnp.zeros_like(mb["response_mask"])
    batch = {
        "logp": zeros,
        "entropy": zeros,
        "old_logp": zeros,
        "advantages": jnp.zeros(zeros.shape[0]),
        "response_mask": mb["response_mask"],
        "off_policy_mask": mb["off_policy_mask"],
        "entropy_weight": jnp.zeros(zeros.shape[0]),
        "sft_weight": jnp.zeros(zeros.shape[0]),
    }
    terms = objective_terms(objective, batch, loss_config)
    return {k: terms[k] for k in COUNT_KEYS}


@functools.partial(jax.jit, donate_argnames=("params", "opt_state"), static_argnames=("tx",))
def apply_update(params, opt_state, grads, *, tx):
    """One optimizer step; returns new params/state and the pre-clip global gradient norm."""
    norm = jnp.sqrt(sum(jnp.sum(jnp.square(g.astype(jnp.float32))) for g in jax.tree.leaves(grads)))
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, norm
