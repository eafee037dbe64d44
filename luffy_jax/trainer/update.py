"""Forward passes over a rollout batch: the log-prob pass, and the policy update (mini-batches,
exact micro-batch accumulation, one optimizer step per mini-batch).

Rows are cut into micro-batches of ``micro_batch_rows`` (the last one zero-padded: padded rows
have empty masks and add nothing), each placed on the mesh with its rows split over
``data x fsdp``. With several hosts the arrays passed here are this host's rows (its share of
every mini-batch, :mod:`luffy_jax.trainer.hosts`): each host cuts its share of every
micro-batch, the objective's denominators are summed over the hosts, and the update is the
single-process one. :func:`update_policy` is the trainer's only accumulation path: per mini-batch,
the denominators first (:func:`luffy_jax.trainer.step.count_terms`), then every micro-batch's
gradient and term sums added by :func:`luffy_jax.trainer.step.accumulate_micro_batch`.

With ``batch.packing`` the micro-batches are packed instead (:mod:`luffy_jax.trainer.packing`,
cut by the token budget ``batch.max_tokens_per_micro_batch``) and run by
:mod:`luffy_jax.trainer.packed_step`; same denominators, same terms, same gradients.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from luffy_jax import distributed, sharding
from luffy_jax.models import ModelConfig
from luffy_jax.objectives import accumulate, zero_terms
from luffy_jax.trainer import hosts, packing
from luffy_jax.trainer import packed_step as PS
from luffy_jax.trainer import step as S
from luffy_jax.trainer.config import RunShape, Stage


def _pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    if x.shape[0] == rows:
        return x
    pad = np.zeros((rows - x.shape[0],) + x.shape[1:], x.dtype)
    return np.concatenate([x, pad])


def micro_batches(
    arrays: Mapping[str, np.ndarray], rows: int, mesh: Mesh
) -> Iterator[dict[str, jax.Array]]:
    """Micro-batches of ``rows`` rows over all hosts: consecutive slices of this host's
    ``arrays`` (all with the same leading dim; its share of ``rows`` each), the last zero-padded,
    each put on ``mesh`` with its rows sharded over ``data x fsdp``."""
    rows //= distributed.row_share(mesh).count
    n = next(iter(arrays.values())).shape[0]
    for s in range(0, n, rows):
        mb = {k: _pad_rows(v[s : s + rows], rows) for k, v in arrays.items()}
        yield {k: distributed.to_global(v, mesh) for k, v in mb.items()}


def _pack_plan(attention_mask: np.ndarray, shape: RunShape, mesh: Mesh) -> packing.PackPlan:
    """This host's packing plan; with several processes every micro-batch gets the largest
    shape any process planned, and all run the same number of micro-batches."""
    shards = sharding.batch_divisor(mesh)
    local = shards // distributed.row_share(mesh).count
    args = (
        packing.real_lengths(attention_mask),
        shape.max_prompt_length + shape.max_response_length,
        packing.micro_batch_tokens(shape),
        shards,
        local,
    )
    plan = packing.plan(*args)
    if jax.process_count() > 1:
        shapes = distributed.gather_objects((plan.seqs, plan.slots))
        count = max(len(s) for s, _ in shapes)
        plan = packing.plan(*args, min_micro_batches=count)
        seqs = tuple(max(s[m] if m < len(s) else 0 for s, _ in shapes) for m in range(count))
        slots = tuple(max(c[m] if m < len(c) else 0 for _, c in shapes) for m in range(count))
        plan = packing.PackPlan(plan.micro_batches, seqs, slots)
    return plan


def packed_micro_batches(
    arrays: Mapping[str, np.ndarray], shape: RunShape, mesh: Mesh
) -> Iterator[tuple[dict[str, jax.Array], list[list[int]]]]:
    """Packed micro-batches of this host's rows ``arrays`` (see :func:`packing.pack`), each put
    on ``mesh`` with its sequences and row slots sharded over ``data x fsdp``, with the rows
    (this host's indices) in each local shard's slots."""
    plan = _pack_plan(arrays["attention_mask"], shape, mesh)
    for m in range(len(plan.seqs)):
        mb, slot_rows = packing.pack(arrays, plan, m, shape.max_prompt_length)
        yield {k: distributed.to_global(v, mesh) for k, v in mb.items()}, slot_rows


def _packed_logprob_pass(params, model_config, tokens, attention_mask, shape, temperature, mesh):
    n, r = tokens.shape[0], shape.max_response_length
    out_lp, out_ent = np.zeros((n, r), np.float32), np.zeros((n, r), np.float32)
    arrays = {"tokens": tokens, "attention_mask": attention_mask}
    shards = sharding.batch_divisor(mesh)
    for mb, slot_rows in packed_micro_batches(arrays, shape, mesh):
        lp, ent = PS.packed_response_logprobs(params, model_config, mb, temperature, shards=shards)
        lp, ent = (distributed.local_rows(x).reshape(len(slot_rows), -1, r) for x in (lp, ent))
        for s, rows in enumerate(slot_rows):
            out_lp[rows], out_ent[rows] = lp[s, : len(rows)], ent[s, : len(rows)]
    return out_lp, out_ent


def logprob_pass(
    params: Any,
    model_config: ModelConfig,
    tokens: np.ndarray,
    attention_mask: np.ndarray,
    shape: RunShape,
    temperature: float,
    mesh: Mesh,
) -> tuple[np.ndarray, np.ndarray]:
    """float32 ``[N, R]`` log-probs and entropies of the response tokens of ``tokens``
    (int32 ``[N, P + R]``), micro-batch by micro-batch (packed with ``shape.packing``: then
    0 at positions that are not real response tokens)."""
    if shape.packing:
        return _packed_logprob_pass(
            params, model_config, tokens, attention_mask, shape, temperature, mesh
        )
    outs_lp, outs_ent = [], []
    arrays = {"tokens": tokens, "attention_mask": attention_mask}
    for mb in micro_batches(arrays, shape.micro_batch_rows, mesh):
        lp, ent = S.response_logprobs(
            params,
            model_config,
            mb["tokens"],
            mb["attention_mask"],
            temperature,
            prompt_len=shape.max_prompt_length,
            response_len=shape.max_response_length,
        )
        outs_lp.append(distributed.local_rows(lp))
        outs_ent.append(distributed.local_rows(ent))
    n = tokens.shape[0]
    return np.concatenate(outs_lp)[:n], np.concatenate(outs_ent)[:n]


def _zero_terms(mesh: Mesh) -> dict[str, jax.Array]:
    """``objectives.zero_terms()`` replicated on ``mesh``, the placement of the jitted steps'
    term outputs (fresh host zeros are another argument type and cost an extra compile of the
    whole micro-batch step)."""
    rep = sharding.replicated(mesh)
    return {k: distributed.put(np.asarray(v), rep) for k, v in zero_terms().items()}


def update_policy(
    params: Any,
    opt_state: Any,
    tx: Any,
    arrays: Mapping[str, np.ndarray],
    stage: Stage,
    model_config: ModelConfig,
    temperature: float,
    mesh: Mesh,
) -> tuple[Any, Any, dict[str, jax.Array], list[float]]:
    """One optimizer step per mini-batch of ``arrays`` (the rows of one step, in group order or
    the official layout of :mod:`luffy_jax.trainer.layout`).

    ``arrays``: ``tokens`` int32 ``[N, P+R]``, ``attention_mask`` bool ``[N, P+R]``,
    ``old_logp`` / ``response_mask`` / ``off_policy_mask`` float32 ``[N, R]``, ``advantages``
    float32 ``[N]`` and optionally ``ref_logp`` float32 ``[N, R]`` and the official term weights
    ``entropy_weight`` / ``sft_weight`` float32 ``[N]``.

    Returns ``(params, opt_state, term sums over the whole step, pre-clip gradient norms)``.
    """
    shape, loss_config, objective = stage.shape, stage.loss, stage.method.objective
    n = next(iter(arrays.values())).shape[0]
    per_mini = shape.rows_per_mini_batch // distributed.row_share(mesh).count  # this host's
    step_terms = _zero_terms(mesh)
    grad_norms = []
    for m0 in range(0, n, per_mini):
        mini = {k: v[m0 : m0 + per_mini] for k, v in arrays.items()}
        counts = S.count_terms(
            {k: jnp.asarray(mini[k]) for k in ("response_mask", "off_policy_mask")},
            loss_config=loss_config,
            objective=objective,
        )
        counts = hosts.global_counts(counts, mesh)
        grads, terms = S.zero_grads(params), _zero_terms(mesh)
        if shape.packing:
            accumulate_fn = functools.partial(
                PS.accumulate_packed_micro_batch, shards=sharding.batch_divisor(mesh)
            )
            mbs = (mb for mb, _ in packed_micro_batches(mini, shape, mesh))
        else:
            accumulate_fn = functools.partial(
                S.accumulate_micro_batch,
                prompt_len=shape.max_prompt_length,
                response_len=shape.max_response_length,
            )
            mbs = micro_batches(mini, shape.micro_batch_rows, mesh)
        for mb in mbs:
            grads, terms = accumulate_fn(
                params,
                grads,
                terms,
                mb,
                counts,
                temperature,
                config=model_config,
                loss_config=loss_config,
                objective=objective,
            )
        params, opt_state, norm = S.apply_update(params, opt_state, grads, tx=tx)
        grad_norms.append(float(norm))
        step_terms = accumulate(step_terms, terms)
    return params, opt_state, step_terms, grad_norms
