"""From the ``ml_collections`` config to frozen dataclasses, once, at the start of a run.

:func:`translate` reads every field of a config (schema: :mod:`luffy_jax.trainer.schema`) and
returns a :class:`RunConfig`; nothing below the run's set-up sees a ``ConfigDict``. It also
resolves the method's stages (:class:`Stage`: the method record, its steps, batch shape, loss and
optimizer), so the loop looks a stage up by step number and the step function takes one. Every
error is a :class:`ConfigError` naming the field. The checks that need the model, the mesh, the
tokenizer or the data files are in :mod:`luffy_jax.trainer.setup`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import ml_collections

from luffy_jax.data import JsonlFields
from luffy_jax.data.sources import split_sources
from luffy_jax.data.templating import LUFFY_SYSTEM_PROMPT
from luffy_jax.objectives import LossConfig
from luffy_jax.rewards import RewardConfig
from luffy_jax.sharding import MeshConfig
from luffy_jax.trainer.methods import Method, lookup
from luffy_jax.trainer.prefixes import PrefixConfig
from luffy_jax.trainer.schema import JUDGE_KINDS, LONG_TRACES, MASK_ENDS, ROW_ORDERS


class ConfigError(ValueError):
    """A bad configuration; the message names the field."""


@dataclasses.dataclass(frozen=True)
class RunShape:
    """Batch geometry of one step (``row_order``, ``official_*``: see ``trainer.layout``)."""

    prompts_per_step: int
    n: int
    n_off: int
    mini_batch_prompts: int
    micro_batch_rows: int
    max_prompt_length: int
    max_response_length: int
    row_order: str = "groups"
    official_ranks: int = 8
    official_max_tokens: int = 32768
    packing: bool = False
    max_tokens_per_micro_batch: int = 0

    @property
    def n_on(self) -> int:
        return self.n - self.n_off

    @property
    def rows_per_step(self) -> int:
        return self.prompts_per_step * self.n

    @property
    def rows_per_mini_batch(self) -> int:
        return self.mini_batch_prompts * self.n

    @property
    def mini_batches(self) -> int:
        return self.prompts_per_step // self.mini_batch_prompts


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    """AdamW with global-norm clipping and a constant or cosine schedule (linear warmup);
    ``decay_steps``: the cosine schedule's horizon in optimizer steps."""

    lr: float
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    schedule: str = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.1
    decay_steps: int = 1


@dataclasses.dataclass(frozen=True)
class Stage:
    """A stretch of steps ``first_step..last_step`` (1-based, inclusive) run by one method."""

    method: Method
    first_step: int
    last_step: int
    shape: RunShape
    loss: LossConfig
    optim: OptimConfig


@dataclasses.dataclass(frozen=True)
class ModelSource:
    """Where the policy comes from: a Hugging Face checkpoint folder, or a ``config.json`` for a
    random model; ``overrides`` are :class:`~luffy_jax.models.ModelConfig` fields (the compute
    ``dtype``, the ``param_dtype`` of the weights the optimizer updates, ``remat`` included)."""

    hf_path: str
    config_json: str
    overrides: tuple[tuple[str, Any], ...]

    @property
    def path(self) -> str:
        return self.hf_path or self.config_json

    def overrides_dict(self) -> dict[str, Any]:
        return dict(self.overrides)


@dataclasses.dataclass(frozen=True)
class DataConfig:
    train_files: tuple[str, ...]
    fmt: str | None
    fields: JsonlFields
    system_prompt: str | None
    max_examples: int
    long_traces: str
    on_error: str


@dataclasses.dataclass(frozen=True)
class RolloutConfig:
    temperature: float
    top_p: float
    top_k: int
    max_concurrent: int | None
    use_sampler_logprobs: bool
    reward: RewardConfig
    stop_on_generation_config_eos: bool = True
    response_mask_end: str = "stop_token"
    prefix: PrefixConfig = PrefixConfig()


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    files: tuple[str, ...]
    every: int
    temperature: float
    max_new_tokens: int
    max_prompt_length: int
    remove_system: bool
    max_examples: int
    reward: RewardConfig


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything a run needs, translated once from the config."""

    method: Method
    seed: int
    total_steps: int
    stages: tuple[Stage, ...]
    model: ModelSource
    tokenizer_path: str
    data: DataConfig
    rollout: RolloutConfig
    eval: EvalConfig
    mesh: MeshConfig
    checkpoint_every: int
    checkpoint_keep: int
    peak_tflops: float
    tensorboard: bool

    def stage_at(self, step: int) -> Stage:
        """The stage that runs ``step`` (1-based)."""
        found = (s for s in self.stages if s.first_step <= step <= s.last_step)
        return next(found, self.stages[-1])

    @property
    def uses_kl(self) -> bool:
        return any(s.loss.kl_coef > 0 for s in self.stages)


def _neg_to_none(x: float | None) -> float | None:
    return None if x is None or x < 0 else float(x)


def _choice(field: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ConfigError(f"config.{field}={value!r}: use one of {choices}")
    return value


def loss_config(cfg: ml_collections.ConfigDict, method: Method, shape: RunShape) -> LossConfig:
    """The :class:`LossConfig` of ``cfg.loss`` under ``method``'s rules.

    The ``constant`` normaliser is always a number here: ``loss.constant_normalizer < 0`` means
    the response budget ``data.max_response_length``, not whatever width a batch is padded to.
    """
    lc = cfg.loss
    normalizer = _neg_to_none(lc.constant_normalizer)
    try:
        return LossConfig(
            use_clip=bool(lc.use_clip) or method.force_clip,
            clip_ratio=float(lc.clip_ratio),
            clip_ratio_high=_neg_to_none(lc.clip_ratio_high),
            off_policy_shaping=str(lc.off_policy_shaping),
            shaping_gamma=float(lc.shaping_gamma),
            shaping_pow=float(lc.shaping_pow),
            shaping_weight=float(lc.shaping_weight),
            on_policy_shaping=str(lc.on_policy_shaping),
            aggregation=str(lc.aggregation),
            constant_normalizer=float(shape.max_response_length)
            if normalizer is None
            else normalizer,
            off_max_clip=_neg_to_none(lc.off_max_clip),
            off_min_clip=_neg_to_none(lc.off_min_clip),
            entropy_coef=float(lc.entropy_coef) if method.regularize else 0.0,
            kl_coef=float(lc.kl_coef) if method.regularize else 0.0,
            sft_coef=float(lc.sft_coef),
            entropy_reduction=str(lc.entropy_reduction) if method.rewards else "mini_batch_mean",
            sft_reduction=str(lc.sft_reduction) if method.rewards else "mini_batch_mean",
            advantage_stats=method.advantage_stats,
            advantage_use_std=bool(lc.advantage_use_std),
        )
    except ValueError as e:
        raise ConfigError(f"config.loss: {e}") from e


def run_shape(cfg: ml_collections.ConfigDict, method: Method) -> RunShape:
    """The batch geometry of ``method``: rows per prompt from the record and ``cfg.rollout``."""
    n_off = int(cfg.rollout.n_off) if method.trace_rows is None else method.trace_rows
    n = int(cfg.rollout.n) if method.samples else n_off
    return RunShape(
        prompts_per_step=int(cfg.rollout.prompts_per_step),
        n=n,
        n_off=n_off,
        mini_batch_prompts=int(cfg.batch.mini_batch_prompts),
        micro_batch_rows=int(cfg.batch.micro_batch_rows),
        max_prompt_length=int(cfg.data.max_prompt_length),
        max_response_length=int(cfg.data.max_response_length),
        row_order=_choice("batch.row_order", str(cfg.batch.row_order), ROW_ORDERS),
        official_ranks=int(cfg.batch.official_ranks),
        official_max_tokens=int(cfg.batch.official_max_tokens),
        packing=bool(cfg.batch.packing),
        max_tokens_per_micro_batch=int(cfg.batch.max_tokens_per_micro_batch),
    )


def optim_config(cfg: ml_collections.ConfigDict, lr: float, decay_steps: int) -> OptimConfig:
    o = cfg.optim
    return OptimConfig(
        lr=float(lr),
        b1=float(o.b1),
        b2=float(o.b2),
        eps=float(o.eps),
        weight_decay=float(o.weight_decay),
        grad_clip=float(o.grad_clip),
        schedule=_choice("optim.schedule", str(o.schedule), ("constant", "cosine")),
        warmup_steps=int(o.warmup_steps),
        min_lr_ratio=float(o.min_lr_ratio),
        decay_steps=max(int(decay_steps), int(o.warmup_steps) + 1),
    )


def _check_shape(method: Method, shape: RunShape) -> None:
    if method.samples and method.trace_rows is None:
        if shape.n_off < 1:
            raise ConfigError(
                f"config.rollout.n_off={shape.n_off}: {method.name} needs at least one trace"
            )
        if shape.n <= shape.n_off:
            raise ConfigError(
                f"config.rollout.n={shape.n} must be larger than config.rollout.n_off="
                f"{shape.n_off} (a group needs on-policy samples)"
            )
    elif method.rewards and shape.n < 2:
        raise ConfigError(f"config.rollout.n={shape.n}: group advantages need n >= 2")
    ppp, mbp = shape.prompts_per_step, shape.mini_batch_prompts
    if ppp < 1 or mbp < 1 or ppp % mbp:
        raise ConfigError(
            f"config.rollout.prompts_per_step={ppp} must be a positive multiple of "
            f"config.batch.mini_batch_prompts={mbp}"
        )
    if shape.micro_batch_rows < 1:
        raise ConfigError(f"config.batch.micro_batch_rows={shape.micro_batch_rows} must be >= 1")


def _stages(cfg: ml_collections.ConfigDict, method: Method, total: int) -> tuple[Stage, ...]:
    if not method.stages:
        parts = [(method, 1, total, float(cfg.optim.lr))]
    else:
        first, then = (lookup(s) for s in method.stages)
        sft_steps = int(cfg.sft.steps)
        if sft_steps < 1:
            raise ConfigError(f"config.sft.steps must be >= 1 for method {method.name}")
        parts = [
            (first, 1, sft_steps, float(cfg.sft.lr)),
            (then, sft_steps + 1, max(total, sft_steps + 1), float(cfg.optim.lr)),
        ]
    out = []
    for m, first_step, last_step, lr in parts:
        shape = run_shape(cfg, m)
        _check_shape(m, shape)
        loss = loss_config(cfg, m, shape)
        out.append(Stage(m, first_step, last_step, shape, loss, optim_config(cfg, lr, total)))
    return tuple(out)


def translate(cfg: ml_collections.ConfigDict) -> RunConfig:
    """The frozen :class:`RunConfig` of ``cfg``; raises :class:`ConfigError` naming the field."""
    try:
        method = lookup(str(cfg.method))
    except KeyError as e:
        raise ConfigError(e.args[0]) from None
    if not cfg.model.hf_path and not cfg.model.config_json:
        raise ConfigError("config.model.hf_path or config.model.config_json must be set")
    train_files = split_sources(cfg.data.train_files)
    if not train_files:
        raise ConfigError("config.data.train_files is empty")
    total = int(cfg.total_steps)
    if total < 1:
        raise ConfigError(f"config.total_steps={total} must be >= 1")
    overrides = dict(cfg.model.overrides.to_dict()) if cfg.model.overrides else {}
    overrides.setdefault("dtype", str(cfg.model.dtype))
    overrides.setdefault("param_dtype", str(cfg.model.param_dtype))
    overrides.setdefault("remat", bool(cfg.model.remat))
    overrides.setdefault("attention_impl", str(cfg.model.attention_impl))
    if overrides["param_dtype"] != "float32" and not bool(cfg.model.low_precision_params):
        raise ConfigError(
            f"config.model.param_dtype={overrides['param_dtype']!r}: training weights below "
            "float32 loses small updates to rounding (at lr 1e-6 most bfloat16 weights never "
            "change); keep float32 master weights (compute runs in config.model.dtype), or set "
            "config.model.low_precision_params=True to accept it"
        )
    on_error = _choice("data.on_error", str(cfg.data.on_error), ("raise", "skip"))
    reward_workers = int(cfg.rollout.reward_workers) or None
    timeout = float(cfg.rollout.reward_timeout_s)
    if timeout <= 0:
        raise ConfigError(f"config.rollout.reward_timeout_s={timeout} must be > 0")
    r = cfg.rollout
    try:
        prefix = PrefixConfig.from_rollout(r)
    except ValueError as e:
        raise ConfigError(f"config.rollout: {e}") from e
    judge = _choice("reward.judge", str(cfg.reward.judge), ("ours", "math_verify"))
    grader = _choice("eval.grader", str(cfg.eval.grader), ("math", "boxed"))
    try:  # in-training validation's "math" grader is the training reward's judge
        train_reward = RewardConfig(JUDGE_KINDS[judge], timeout, reward_workers)
    except ImportError as e:
        raise ConfigError(f"config.reward.judge={judge!r}: {e}") from e
    return RunConfig(
        method=method,
        seed=int(cfg.seed),
        total_steps=total,
        stages=_stages(cfg, method, total),
        model=ModelSource(
            str(cfg.model.hf_path), str(cfg.model.config_json), tuple(sorted(overrides.items()))
        ),
        tokenizer_path=str(cfg.tokenizer.path or cfg.model.hf_path),
        data=DataConfig(
            train_files=train_files,
            fmt=str(cfg.data.fmt) or None,
            fields=JsonlFields(
                problem=cfg.data.problem_field,
                answer=cfg.data.answer_field,
                trace=cfg.data.trace_field,
                traces=cfg.data.traces_field,
            ),
            system_prompt=LUFFY_SYSTEM_PROMPT if cfg.data.use_system_prompt else None,
            max_examples=int(cfg.data.max_examples),
            long_traces=_choice("data.long_traces", str(cfg.data.long_traces), LONG_TRACES),
            on_error=on_error,
        ),
        rollout=RolloutConfig(
            temperature=float(cfg.rollout.temperature),
            top_p=float(cfg.rollout.top_p),
            top_k=int(cfg.rollout.top_k),
            max_concurrent=int(cfg.rollout.max_concurrent) or None,
            use_sampler_logprobs=bool(cfg.rollout.use_sampler_logprobs),
            reward=train_reward,
            stop_on_generation_config_eos=bool(r.stop_on_generation_config_eos),
            response_mask_end=_choice(
                "rollout.response_mask_end", str(r.response_mask_end), MASK_ENDS
            ),
            prefix=prefix,
        ),
        eval=EvalConfig(
            files=split_sources(cfg.eval.files),
            every=int(cfg.eval.every),
            temperature=float(cfg.eval.temperature),
            max_new_tokens=int(cfg.eval.max_new_tokens),
            max_prompt_length=int(cfg.data.max_prompt_length),
            remove_system=bool(cfg.eval.remove_system),
            max_examples=int(cfg.eval.max_examples),
            reward=train_reward
            if grader == "math"
            else RewardConfig(grader, timeout, reward_workers),
        ),
        mesh=MeshConfig(int(cfg.mesh.data), int(cfg.mesh.fsdp), int(cfg.mesh.tensor)),
        checkpoint_every=max(int(cfg.checkpoint.every), 1),
        checkpoint_keep=int(cfg.checkpoint.keep),
        peak_tflops=float(cfg.log.peak_tflops),
        tensorboard=bool(cfg.log.tensorboard),
    )
