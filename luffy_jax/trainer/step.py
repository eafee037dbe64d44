"""The jitted pieces of an update: log-probs of response tokens, one micro-batch's loss and
gradient, the optimizer.

Micro-batch accumulation is exact: the denominators of the objective (token, row and trace
counts) are computed for the whole mini-batch first and substituted into every micro-batch's
:func:`luffy_jax.objectives.finalize`, which makes each micro-batch loss linear in its sums, so
the summed micro-batch gradients equal the gradient of the whole mini-batch's objective whatever
the micro-batch size. (The official code instead finalises each micro-batch; see
``luffy_jax.objectives.losses`` for what that changes.)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import ml_collections
import optax

from luffy_jax.models import ModelConfig, token_logprobs_and_entropy
from luffy_jax.objectives import LossConfig, finalize, objective_terms

COUNT_KEYS = ("pg_tokens", "pg_seqs", "valid_tokens", "sft_tokens", "pg_width")


def make_optimizer(optim: ml_collections.ConfigDict, total_steps: int, lr: float | None = None):
    """AdamW with global-norm clipping and a constant or cosine schedule (with linear warmup).

    The learning rate is ``lr`` from the first optimizer step on: the official code's first-step
    lr=0 (spec 6.2.2, a scheduler created with 0 warmup steps) is deliberately not replicated.
    """
    peak = float(optim.lr if lr is None else lr)
    warmup = int(optim.warmup_steps)
    if optim.schedule == "cosine":
        schedule = optax.warmup_cosine_decay_schedule(
            init_value=0.0 if warmup else peak,
            peak_value=peak,
            warmup_steps=warmup,
            decay_steps=max(total_steps, warmup + 1),
            end_value=peak * float(optim.min_lr_ratio),
        )
    elif warmup:
        schedule = optax.join_schedules(
            [optax.linear_schedule(peak / warmup, peak, warmup), optax.constant_schedule(peak)],
            [warmup],
        )
    else:
        schedule = optax.constant_schedule(peak)
    tx = optax.chain(
        optax.clip_by_global_norm(float(optim.grad_clip)),
        optax.adamw(
            schedule,
            b1=float(optim.b1),
            b2=float(optim.b2),
            eps=float(optim.eps),
            weight_decay=float(optim.weight_decay),
        ),
    )
    return tx, schedule


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
    logp, ent = token_logprobs_and_entropy(
        params, config, tokens, attention_mask=attention_mask, temperature=temperature
    )
    s = slice(prompt_len - 1, prompt_len - 1 + response_len)
    return logp[:, s], ent[:, s]


def _batch_terms(params, config, loss_config, objective, mb, temperature, prompt_len, response_len):
    logp, ent = token_logprobs_and_entropy(
        params, config, mb["tokens"], attention_mask=mb["attention_mask"], temperature=temperature
    )
    s = slice(prompt_len - 1, prompt_len - 1 + response_len)
    batch = {
        "logp": logp[:, s],
        "entropy": ent[:, s],
        "old_logp": mb["old_logp"],
        "advantages": mb["advantages"],
        "response_mask": mb["response_mask"],
        "off_policy_mask": mb["off_policy_mask"],
    }
    if "ref_logp" in mb:
        batch["ref_logp"] = mb["ref_logp"]
    return objective_terms(objective, batch, loss_config)


@functools.partial(
    jax.jit, static_argnames=("config", "loss_config", "objective", "prompt_len", "response_len")
)
def micro_batch_grad(
    params,
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
    """Gradient of one micro-batch's share of the mini-batch objective, and its term sums."""

    def loss_fn(p):
        terms = _batch_terms(
            p, config, loss_config, objective, mb, temperature, prompt_len, response_len
        )
        loss, _ = finalize({**terms, **counts}, loss_config)
        return loss, terms

    (_, terms), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    return grads, terms


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
    }
    terms = objective_terms(objective, batch, loss_config)
    return {k: terms[k] for k in COUNT_KEYS}


@jax.jit
def add_trees(a, b):
    return jax.tree.map(jnp.add, a, b)


@functools.partial(jax.jit, donate_argnames=("params", "opt_state"), static_argnames=("tx",))
def apply_update(params, opt_state, grads, *, tx):
    """One optimizer step; returns new params/state and the pre-clip global gradient norm."""
    norm = jnp.sqrt(sum(jnp.sum(jnp.square(g.astype(jnp.float32))) for g in jax.tree.leaves(grads)))
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, norm
