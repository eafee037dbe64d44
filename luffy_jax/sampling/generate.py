"""Rollout generation with continuous batching over a fixed set of decode slots.

A run keeps ``R`` slots (``max_concurrent`` rows, or what fits in memory) over one preallocated,
donated KV cache of ``S = P + T`` positions per slot (``P`` the bucketed longest prompt, ``T =
max_new_tokens``). A host loop runs three kinds of jitted programs (``luffy_jax.sampling.slots``):

- **refill**: the next pending rows of the rollout take the free slots; their prompts are prefilled
  once each (a prompt's n samples share its prefill) and copied into the slots;
- **decode chunk**: a ``while_loop`` of decode steps in which each step reads only the first
  ``attend`` cache positions, the smallest of ``decode_buckets`` block multiples covering the
  furthest active row, and which returns to the host when enough slots are free to refill or the
  furthest row needs the next block;
- **compact**: once no row is pending, the active rows move into a batch of half, a quarter...
  of the slots (``compact_sizes``), so that a tail of long rows costs what its own rows cost.

Row ``r`` of the rollout always draws its token ``i`` from ``fold_in(fold_in(key, r), i)``, so the
samples do not depend on the slot or time a row ran in, on ``max_concurrent``, on the attended
length or on sharding. ``refill=False`` gives waves (the old behaviour, for comparison).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh

from luffy_jax import distributed, sharding
from luffy_jax.models import ModelConfig, shard_params
from luffy_jax.sampling import schedule, slots
from luffy_jax.sampling.config import SampleOutput, SamplingConfig


def generate(
    params,
    config: ModelConfig,
    prompts: Sequence[Sequence[int]],
    key: jax.Array,
    sampling_config: SamplingConfig,
    *,
    n: int = 1,
    mesh: Mesh | None = None,
    row_max_new_tokens: Sequence[int] | None = None,
) -> SampleOutput:
    """Samples ``n`` continuations of each prompt.

    Args:
      params, config: the policy (the same arrays the trainer updates).
      prompts: ``B`` lists of token ids, of any (non-zero) lengths.
      key: a PRNG key; the output is a deterministic function of it.
      sampling_config: temperature / top-p / top-k / EOS / lengths / slots / refill.
      n: samples per prompt; a prompt is prefilled once for the samples that start together.
      mesh: optional ``('data', 'fsdp', 'tensor')`` mesh: slots over ``data x fsdp``, KV heads
        over ``tensor``; parameters are placed by their logical axes. On a mesh spanning several
        processes every process passes the same prompts and receives every row.
      row_max_new_tokens: optional ``B * n`` per-row caps (``1..max_new_tokens``): row ``r`` ends
        after that many tokens as if it had emitted EOS (benchmarks force a length distribution
        with it).

    Returns:
      :class:`SampleOutput` with ``B * n`` rows, the samples of prompt i consecutive.
    """
    sc = sampling_config
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    prompts = [list(map(int, p)) for p in prompts]
    if not prompts:
        raise ValueError("prompts is empty")
    for i, p in enumerate(prompts):
        if not p:
            raise ValueError(f"prompt {i} is empty")
        if min(p) < 0 or max(p) >= config.vocab_size:
            raise ValueError(f"prompt {i} has a token id outside [0, {config.vocab_size})")
    longest = max(len(p) for p in prompts)
    if longest + sc.max_new_tokens > config.max_position_embeddings:
        raise ValueError(
            f"prompt length {longest} + max_new_tokens {sc.max_new_tokens} exceeds the model's "
            f"max_position_embeddings {config.max_position_embeddings}"
        )
    total_rows = len(prompts) * n
    limits = _row_limits(row_max_new_tokens, total_rows, sc.max_new_tokens)
    divisor = sharding.batch_divisor(mesh) if mesh is not None else 1
    if mesh is not None:
        params = shard_params(params, config, mesh)
    prompt_slots = schedule.round_up(longest, sc.prompt_bucket)
    total_slots = prompt_slots + sc.max_new_tokens
    fit = distributed.agree_min(_rows_that_fit(config, total_slots))  # one plan on every process
    max_rows = sc.max_concurrent or fit or total_rows
    n_slots = schedule.slot_count(total_rows, max_rows, divisor)
    run = _Run(params, config, sc, prompts, n, key, limits, divisor, prompt_slots, mesh)
    state = slots.init_state(
        config,
        n_slots,
        total_slots,
        total_rows,
        sc.max_new_tokens,
        sc.pad_id,
        run.shardings(n_slots),
    )
    state = run(state)
    if jax.process_count() > 1:  # the whole rollout on every process
        return SampleOutput(
            *(distributed.fetch(x) for x in (state.tokens, state.logprobs, state.lengths))
        )
    return SampleOutput(state.tokens, state.logprobs, state.lengths)


class _Run:
    """The host loop of one ``generate`` call: refill free slots, decode a chunk, repeat; once no
    row is pending, move the active rows into fewer slots as they drop below a smaller size."""

    def __init__(self, params, config, sc, prompts, n, key, limits, divisor, prompt_slots, mesh):
        self.params, self.config, self.sc = params, config, sc
        self.prompts, self.n, self.key, self.divisor = prompts, n, key, divisor
        self.prompt_slots, self.mesh = prompt_slots, mesh
        self.total_slots = prompt_slots + sc.max_new_tokens
        self.limits = self._put(limits)
        self.key = self._put(key)
        self.rule = slots.TokenRule(sc.temperature, sc.top_k, sc.top_p, sc.eos_ids, sc.ignore_eos)
        self._shardings = {}

    def _put(self, x, target=None):
        """Host values onto the devices: replicated over the mesh (or ``target``); on a mesh
        spanning several processes every process holds the same value and places its shards."""
        if self.mesh is None:
            return jax.device_put(x)
        return distributed.put(x, target or sharding.replicated(self.mesh))

    def shardings(self, n_slots: int) -> slots.SlotState | None:
        if self.mesh is None:
            return None
        if n_slots not in self._shardings:
            self._shardings[n_slots] = slots.state_shardings(
                self.config, self.mesh, n_slots, self.total_slots
            )
        return self._shardings[n_slots]

    def __call__(self, state: slots.SlotState) -> slots.SlotState:
        sc, n_slots = self.sc, state.step.shape[0]
        total_rows = len(self.prompts) * self.n
        lengths = schedule.attend_lengths(self.total_slots, sc.decode_buckets)
        sizes = schedule.slot_sizes(n_slots, self.divisor, sc.compact_sizes)
        threshold = schedule.refill_threshold(n_slots, sc.refill, sc.refill_min_free, self.n)
        active = np.zeros(n_slots, bool)
        step = np.zeros(n_slots, np.int64)
        next_row = 0
        while True:
            pending = total_rows - next_row
            free = np.flatnonzero(~active)
            if pending and len(free) >= (min(threshold, pending) if sc.refill else len(active)):
                plan = schedule.plan_refill(free, next_row, total_rows, self.n)
                state = self._refill(state, plan)
                next_row += len(plan.rows)
                active[plan.slots] = True
                step[plan.slots] = 0
                pending = total_rows - next_row
            if not active.any():
                break
            if not pending:
                size = schedule.compact_size(sizes, len(active), int(active.sum()))
                if size < len(active):
                    keep = np.argsort(~active, kind="stable")[:size].astype(np.int32)
                    state = slots.compact(state, self._put(keep), shardings=self.shardings(size))
                    active, step = active[keep], step[keep]
            cur = len(active)
            attend = schedule.attend_length(
                lengths, self.prompt_slots + int(step[active].max()) + 1
            )
            if pending:  # waves (no refill): run until every slot is idle
                stop_idle = min(threshold, pending) if sc.refill else cur + 1
            else:  # stop when the active rows fit in the next smaller size
                smaller = [s for s in sizes if s < cur]
                stop_idle = cur - smaller[0] if smaller else cur + 1
            state = slots.decode_chunk(
                self.params,
                self.config,
                self.rule,
                state,
                self.key,
                self.limits,
                stop_idle,
                prompt_slots=self.prompt_slots,
                attend=attend,
                shardings=self.shardings(cur),
            )
            active, step = (distributed.fetch(x) for x in (state.active, state.step))
            active = active.copy()
            step = step.astype(np.int64)
        return state

    def _refill(self, state: slots.SlotState, plan: schedule.Refill) -> slots.SlotState:
        n_slots = state.step.shape[0]
        size = schedule.prefill_size(len(plan.prompts), self.divisor, n_slots)
        tokens = np.full((size, self.prompt_slots), self.sc.pad_id, np.int32)
        mask = np.zeros((size, self.prompt_slots), bool)
        tokens[:, -1], mask[:, -1] = 0, True  # unused prefill rows: one token, never copied
        for i, prompt_id in enumerate(plan.prompts):
            p = self.prompts[prompt_id]
            tokens[i, :] = self.sc.pad_id
            mask[i, :] = False
            tokens[i, -len(p) :] = p
            mask[i, -len(p) :] = True
        k = len(plan.slots)
        slot_ids = np.full(n_slots, n_slots, np.int32)
        source = np.zeros(n_slots, np.int32)
        rows = np.zeros(n_slots, np.int32)
        slot_ids[:k], source[:k], rows[:k] = plan.slots, plan.source, plan.rows
        # device_put, not jnp.asarray: no small staging programs to compile per shape
        shardings = self.shardings(n_slots)
        rows_sharding = shardings.kv_mask if shardings is not None else None
        tokens_j, mask_j = (self._put(x, rows_sharding) for x in (tokens, mask))
        return slots.refill(
            self.params,
            self.config,
            state,
            tokens_j,
            mask_j,
            *(self._put(x) for x in (slot_ids, source, rows)),
            k,
            shardings=shardings,
        )


def _row_limits(caps: Sequence[int] | None, total_rows: int, max_new_tokens: int) -> np.ndarray:
    if caps is None:
        return np.full(total_rows, max_new_tokens, np.int32)
    caps = np.asarray(caps, np.int64).reshape(-1)
    if caps.shape[0] != total_rows:
        raise ValueError(
            f"row_max_new_tokens has {caps.shape[0]} entries, expected B * n = {total_rows}"
        )
    bad = np.flatnonzero((caps < 1) | (caps > max_new_tokens))
    if len(bad):
        raise ValueError(
            f"row_max_new_tokens[{bad[0]}] = {caps[bad[0]]} is outside [1, {max_new_tokens}]"
        )
    return caps.astype(np.int32)


def _rows_that_fit(config: ModelConfig, slots: int) -> int | None:
    """Rows whose KV cache and logits fit in half of the first device's free memory, if known."""
    try:
        stats = jax.local_devices()[0].memory_stats()
    except Exception:  # backends without memory stats
        return None
    if not stats or "bytes_limit" not in stats:
        return None
    free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
    itemsize = jnp.dtype(config.compute_dtype).itemsize
    per_row = 2 * config.num_layers * slots * config.num_kv_heads * config.head_dim * itemsize
    per_row += 4 * config.vocab_size * 4
    return max(1, int(0.5 * free // per_row))
