"""Building the mixed on/off-policy batch of one step (spec 1.3 and 1.14, items 1-3).

For each prompt of the data batch: ``n_off`` off-policy rows (the prompt's traces, each followed by
EOS, cut to the response width) then ``n - n_off`` on-policy rows sampled from the current policy.
Rows of a group are consecutive and share the prompt's ``group_id``.

Arrays (numpy), with ``N`` rows, ``P = max_prompt_length`` (prompts left-padded), ``R`` =
``max_response_length`` (responses right-padded):

- ``tokens`` int32 ``[N, P + R]`` and ``attention_mask`` bool ``[N, P + R]``;
- ``response_mask`` float32 ``[N, R]``: 1 up to and including the first EOS (all ones if none);
- ``off_policy_mask`` float32 ``[N, R]``: equal to ``response_mask`` on off-policy rows, 0 elsewhere;
- ``group_ids`` int64 ``[N]``, ``is_off`` bool ``[N]``;
- ``sampler_logprobs`` float32 ``[N, R]`` (0 on off-policy rows);
- ``responses``: the ``N`` valid response token lists (for decoding and rewards).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from luffy_jax.trainer.config import RunShape


@dataclasses.dataclass
class RolloutBatch:
    tokens: np.ndarray
    attention_mask: np.ndarray
    response_mask: np.ndarray
    off_policy_mask: np.ndarray
    group_ids: np.ndarray
    is_off: np.ndarray
    sampler_logprobs: np.ndarray
    responses: list[list[int]]
    golds: list[str]
    data_sources: list[str]

    @property
    def rows(self) -> int:
        return self.tokens.shape[0]


def build_rollout(
    data_batch: dict[str, Any],
    sampled_tokens: np.ndarray | None,
    sampled_logprobs: np.ndarray | None,
    sampled_lengths: np.ndarray | None,
    shape: RunShape,
    eos_id: int,
    pad_id: int,
    *,
    mask_end: str = "stop_token",
    row_prefixes: Sequence[list[int]] | None = None,
) -> RolloutBatch:
    """Assembles the step's rows from the data batch and the sampler's output.

    ``sampled_*`` hold ``B * (n - n_off)`` rows grouped by prompt (``None`` when every row is
    off-policy, as in SFT). With ``row_prefixes`` (one token list per row, from
    :mod:`luffy_jax.trainer.prefixes`), a row's response is its prefix followed by a sampled
    continuation, and ``sampled_*`` hold one continuation for each row whose prefix is not its
    whole trace + EOS, in row order; the off-policy mask covers the prefix. ``mask_end``: ``stop_token`` (a response's valid tokens end at the
    token that stopped it) or ``official`` (at the first ``eos_id`` of the ``pad_id``-padded
    response, all ``R`` positions if there is none -- the official ``get_eos_mask``).
    """
    if mask_end not in ("stop_token", "official"):
        raise ValueError(f"mask_end must be 'stop_token' or 'official', got {mask_end!r}")
    p_len, r_len = shape.max_prompt_length, shape.max_response_length
    prompts: Sequence[np.ndarray] = data_batch["prompt_ids"]
    b = len(prompts)
    n, n_off, n_on = shape.n, shape.n_off, shape.n_on
    rows = b * n
    tokens = np.full((rows, p_len + r_len), pad_id, np.int32)
    attn = np.zeros((rows, p_len + r_len), bool)
    resp_mask = np.zeros((rows, r_len), np.float32)
    off_mask = np.zeros((rows, r_len), np.float32)
    samp_lp = np.zeros((rows, r_len), np.float32)
    is_off = np.zeros(rows, bool)
    group_ids = np.repeat(np.asarray(data_batch["group_id"], np.int64), n)
    responses: list[list[int]] = []
    next_sample = 0
    for i, prompt in enumerate(prompts):
        prompt = np.asarray(prompt, np.int32)
        if len(prompt) > p_len:
            raise ValueError(f"prompt {i} has {len(prompt)} tokens > max_prompt_length {p_len}")
        traces = data_batch["trace_ids"][i]
        if n_off and not traces and row_prefixes is None:
            raise ValueError(
                f"example index {data_batch['index'][i]} ({data_batch['data_source'][i]!r}) has no "
                "off-policy trace, but the method needs one per prompt"
            )
        for j in range(n):
            r = i * n + j
            tokens[r, p_len - len(prompt) : p_len] = prompt
            attn[r, p_len - len(prompt) : p_len] = True
            if row_prefixes is not None:
                prefix = list(row_prefixes[r])
                full = bool(traces) and len(prefix) == len(traces[j % len(traces)]) + 1
                resp = prefix
                if not full:
                    length = int(sampled_lengths[next_sample])
                    resp = prefix + np.asarray(sampled_tokens[next_sample][:length]).tolist()
                    lp = np.asarray(sampled_logprobs[next_sample][:length])[: r_len - len(prefix)]
                    samp_lp[r, len(prefix) : len(prefix) + len(lp)] = lp
                    next_sample += 1
                resp = resp[:r_len]
                if mask_end == "official":
                    resp = _through_first_eos(resp, eos_id, pad_id, r_len)
                is_off[r] = len(prefix) > 0
                off_mask[r, : min(len(prefix), len(resp))] = 1.0
            elif j < n_off:
                resp = list(np.asarray(traces[j % len(traces)]).tolist()) + [eos_id]
                resp = resp[:r_len]
                is_off[r] = True
            else:
                s = i * n_on + (j - n_off)
                length = int(sampled_lengths[s])
                resp = np.asarray(sampled_tokens[s][:length]).tolist()
                samp_lp[r, :length] = sampled_logprobs[s][:length]
                if mask_end == "official":
                    resp = _through_first_eos(resp, eos_id, pad_id, r_len)
            tokens[r, p_len : p_len + len(resp)] = resp
            attn[r, p_len : p_len + len(resp)] = True
            resp_mask[r, : len(resp)] = 1.0
            if is_off[r] and row_prefixes is None:
                off_mask[r, : len(resp)] = 1.0
            responses.append(resp)
    golds = [g for g in data_batch["gold"] for _ in range(n)]
    sources = [s for s in data_batch["data_source"] for _ in range(n)]
    return RolloutBatch(
        tokens, attn, resp_mask, off_mask, group_ids, is_off, samp_lp, responses, golds, sources
    )


def _through_first_eos(resp: list[int], eos_id: int, pad_id: int, width: int) -> list[int]:
    """The official valid tokens of a sampled response: the response right-padded with
    ``pad_id`` to ``width``, up to and including its first ``eos_id`` (all if none)."""
    padded = resp + [pad_id] * (width - len(resp))
    return padded[: padded.index(eos_id) + 1] if eos_id in padded else padded
