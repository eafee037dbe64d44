"""A PyTorch reference of the official actor's loss for one mini-batch, written from the spec
(``luffy_spec.md`` 1.8-1.10, 3.4): rows dispatched to ranks, micro-batches per rank, each
micro-batch's loss finalised on its own, micro-batch losses summed, ranks averaged.

The micro-batch membership (which rows each rank's micro-batches hold) is an input: tests give it
from worked examples or from the partition function under test, whose own results are checked
against worked examples separately.
"""

from __future__ import annotations

import numpy as np
import torch


def token_loss(logp, old_logp, adv, off, gamma=0.1):
    """LUFFY's per-token loss: ``-A exp(logp - old)`` on on-policy tokens (no clip),
    ``-A p / (p + gamma)`` on trace tokens (behaviour probability 1)."""
    p = torch.exp(logp)
    on = -adv[:, None] * torch.exp(logp - old_logp)
    shaped = -adv[:, None] * p / (p + gamma)
    return torch.where(off > 0, shaped, on)


def micro_batch_loss(
    rows,
    *,
    logp,
    old_logp,
    entropy,
    adv,
    mask,
    off,
    objective="luffy",
    entropy_coef=0.001,
    sft_coef=1.0,
    width=8192,
):
    """The loss of one official micro-batch (``rows``: a LongTensor of row indices)."""
    lp, olp, h, a, m, z = (t[rows] for t in (logp, old_logp, entropy, adv, mask, off))
    trace_row = (z * m).sum(-1) > 0
    if objective == "luffy":
        pg = (m * token_loss(lp, olp, a, z)).sum() / width
    elif objective == "rl_with_sft_loss":
        on = ~trace_row
        pg = (m[on] * -a[on][:, None] * torch.exp(lp[on] - olp[on])).sum() / width
        if trace_row.any():
            pg = pg + sft_coef * (m[trace_row] * -lp[trace_row]).sum() / m[trace_row].sum()
    else:
        raise ValueError(objective)
    ent = (m * h).sum() / m.sum()
    return pg - entropy_coef * ent


def official_loss(rank_micro_batches, ranks, **tensors):
    """``(1 / ranks) * sum over ranks and their micro-batches of micro_batch_loss``."""
    total = 0.0
    for rows in rank_micro_batches:
        total = total + micro_batch_loss(torch.as_tensor(rows, dtype=torch.long), **tensors)
    return total / ranks


def official_loss_and_grads(rank_micro_batches, ranks, arrays, **options):
    """:func:`official_loss` of numpy ``arrays`` (logp, old_logp, entropy, adv, mask, off) with
    its gradients w.r.t. ``logp`` and ``entropy``, one micro-batch at a time (each micro-batch's
    rows as leaf tensors, so the backward passes stay micro-batch sized)."""
    grads = {k: np.zeros_like(arrays[k]) for k in ("logp", "entropy")}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # many tiny ops: threads only contend
    try:
        return _loop(rank_micro_batches, ranks, arrays, grads, options)
    finally:
        torch.set_num_threads(threads)


def _loop(rank_micro_batches, ranks, arrays, grads, options):
    total = 0.0
    for rows in rank_micro_batches:
        part = {k: torch.tensor(v[rows], dtype=torch.float64) for k, v in arrays.items()}
        for k in grads:
            part[k].requires_grad_(True)
        loss = micro_batch_loss(torch.arange(len(rows)), **part, **options) / ranks
        loss.backward()
        total += loss.item()
        for k in grads:
            grads[k][rows] = part[k].grad.numpy()
    return total, grads["logp"], grads["entropy"]
