"""Training methods as data: one frozen record per method, looked up once at the start of a run.

A method says which rows a step builds (sampled on-policy rows, trace rows), whether rewards and
group advantages are computed, which registered objective (``luffy_jax.objectives.OBJECTIVES``)
turns the rows into a loss, and the loss rules it imposes (PPO clip, where the advantages'
statistics come from, whether the entropy/KL regularisers apply). A staged method
(``sft_then_rl``) is a sequence of single-stage methods; the stage lengths and learning rates come
from the config (``sft.steps``, ``sft.lr``).

Adding a method: add a record to :data:`METHODS` (and, if its loss is new, register an objective
with ``luffy_jax.objectives.register_objective``).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Method:
    """One training method.

    Attributes:
      name: the ``config.method`` value.
      objective: the registered objective of a single-stage method ("" for a staged one).
      samples: on-policy rows are sampled from the current policy (``rollout.n - n_off`` per prompt).
      trace_rows: off-policy trace rows per prompt: ``None`` = ``rollout.n_off`` from the config,
        an int = fixed (0: no traces; SFT: the trace is the only row of its prompt).
      rewards: rows are rewarded and group advantages computed (SFT: no).
      force_clip: the PPO ratio clip is on whatever ``loss.use_clip`` says (the GRPO baselines).
      advantage_stats: ``"all"`` (mixed group, LUFFY) or ``"on_policy"`` (grpo_split).
      regularize: the entropy bonus and KL penalty of the config apply (SFT: off).
      stages: a staged method's single-stage methods, in order (stage 1 runs ``sft.steps`` steps).
    """

    name: str
    objective: str = ""
    samples: bool = True
    trace_rows: int | None = None
    rewards: bool = True
    force_clip: bool = False
    advantage_stats: str = "all"
    regularize: bool = True
    stages: tuple[str, ...] = ()

    @property
    def needs_traces(self) -> bool:
        """Whether the training data must hold a trace for every prompt."""
        if self.stages:
            return any(METHODS[s].needs_traces for s in self.stages)
        return self.trace_rows is None or self.trace_rows > 0


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("luffy", objective="luffy"),
        Method("luffy_no_shaping", objective="luffy_no_shaping"),
        Method("on_policy_grpo", objective="on_policy_grpo", trace_rows=0, force_clip=True),
        Method("rl_with_sft_loss", objective="rl_with_sft_loss", advantage_stats="on_policy"),
        Method(
            "sft", objective="sft", samples=False, trace_rows=1, rewards=False, regularize=False
        ),
        Method("sft_then_rl", stages=("sft", "on_policy_grpo")),
    )
}


def lookup(name: str) -> Method:
    """The record of ``config.method``; raises ``KeyError`` listing the known names."""
    if name not in METHODS:
        raise KeyError(f"config.method={name!r} is unknown; use one of {tuple(METHODS)}")
    return METHODS[name]
