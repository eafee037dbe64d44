"""Group-relative advantages (official ``grpo`` and ``grpo_split`` estimators, spec 1.7).

``stats_from="all"`` (LUFFY's mixed group): the mean (and std) of a group are taken over all its
rows, the off-policy trace included::

    A_i = R_i - mean_{j in g(i)} R_j                     (use_std=False, all official scripts)
    A_i = (R_i - mean_g) / (std_g + eps)                 (use_std=True; std unbiased)

A group of one row uses mean 0 and std 1. A zero std is *not* replaced (official quirk, spec 6.2.19),
so an all-equal group gets A = 0 either way.

``stats_from="on_policy"`` (``grpo_split``, the RL-with-SFT-loss baseline): mean and std come from
the group's on-policy rows only, and every row (the trace too) gets ``R_i - mean_on``; a zero std
becomes 1; a group with one on-policy row uses mean 0 and std 1. A group with no on-policy row
(the official code crashes with a KeyError) also uses mean 0 and std 1, i.e. ``A = R``.

Groups are found by comparing ids pairwise (an ``[N, N]`` boolean matrix), so ids may be any
integers, need no sorting, and the function is jit-able with no static group count.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def group_advantages(
    rewards: jax.Array,
    group_ids: jax.Array,
    is_off_policy: jax.Array,
    *,
    stats_from: str = "all",
    use_std: bool = False,
    eps: float = 1e-6,
) -> jax.Array:
    """Per-row advantages.

    Args:
      rewards: float ``[N]`` sequence rewards.
      group_ids: int ``[N]``; rows with equal ids form a group.
      is_off_policy: bool ``[N]``; True for off-policy (trace) rows.
      stats_from: ``"all"`` or ``"on_policy"`` (see the module docstring).
      use_std: divide by the group's unbiased standard deviation plus ``eps``.
      eps: added to the std.

    Returns:
      float ``[N]`` advantages (the rewards' dtype, at least float32).
    """
    if stats_from not in ("all", "on_policy"):
        raise ValueError(f"stats_from must be 'all' or 'on_policy', got {stats_from!r}")
    r = jnp.asarray(rewards)
    r = r.astype(jnp.promote_types(r.dtype, jnp.float32))
    same = group_ids[:, None] == group_ids[None, :]
    if stats_from == "on_policy":
        same = same & ~jnp.asarray(is_off_policy, bool)[None, :]
    w = same.astype(r.dtype)
    count = w.sum(axis=1)
    safe = jnp.maximum(count, 1.0)
    mean = (w * r[None, :]).sum(axis=1) / safe
    var = (w * (r[None, :] - mean[:, None]) ** 2).sum(axis=1) / jnp.maximum(count - 1.0, 1.0)
    std = jnp.sqrt(var)
    singleton = count <= 1.0
    mean = jnp.where(singleton, 0.0, mean)
    std = jnp.where(singleton, 1.0, std)
    if stats_from == "on_policy":
        std = jnp.where(std == 0.0, 1.0, std)
    if use_std:
        return (r - mean) / (std + eps)
    return r - mean
