"""A run's set-up, before any compute: the config translated, the mesh, the model's shape, the
tokenizer, the training and validation data; and :func:`validate`, which does all of it so that
a config whose later phase cannot run fails at once, with a :class:`ConfigError` naming the field.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter
from typing import Any

import jax
import ml_collections
from jax.sharding import Mesh

from luffy_jax import distributed, sharding
from luffy_jax.data import (
    DataError,
    Example,
    TokenizedExample,
    encode_examples,
    read_sources,
    stop_and_pad_ids,
)
from luffy_jax.models import ModelConfig, init_params, load_hf_checkpoint, shard_params
from luffy_jax.sampling import SamplingConfig
from luffy_jax.trainer.config import ConfigError, ModelSource, RunConfig, translate
from luffy_jax.trainer.layout import check_official_layout
from luffy_jax.trainer.packing import micro_batch_tokens

log = logging.getLogger("luffy_jax.train")

# ModelConfig fields that fix the parameters' shapes: a checkpoint decides them.
SHAPE_FIELDS = (
    "model_type",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_layers",
    "num_heads",
    "num_kv_heads",
    "head_dim",
    "tie_word_embeddings",
    "qkv_bias",
    "qk_norm",
)


@dataclasses.dataclass(frozen=True)
class RunContext:
    """What stays fixed for a whole run, built once by :func:`validate`.

    ``sampling``: how on-policy rows are sampled (the response budget, the rollout's temperature,
    top-p/top-k, the tokenizer's stop and pad ids).
    """

    run: RunConfig
    model_config: ModelConfig
    tokenizer: Any
    mesh: Mesh
    sampling: SamplingConfig


@dataclasses.dataclass(frozen=True)
class Prepared:
    """The output of :func:`validate`: the context, the encoded training set and the validation
    examples (empty when ``eval.files`` is empty)."""

    ctx: RunContext
    train: list[TokenizedExample]
    eval_examples: list[Example]
    data_stats: dict[str, int]


def model_config_of(source: ModelSource) -> ModelConfig:
    """The policy's :class:`ModelConfig`; shape overrides may not contradict a checkpoint."""
    overrides = source.overrides_dict()
    try:
        base = ModelConfig.from_hf(source.path)
    except (FileNotFoundError, ValueError, KeyError) as e:
        field = "hf_path" if source.hf_path else "config_json"
        raise ConfigError(f"config.model.{field}={source.path!r}: {e}") from e
    if source.hf_path:
        clash = {
            k: (v, getattr(base, k))
            for k, v in overrides.items()
            if k in SHAPE_FIELDS and v != getattr(base, k)
        }
        if clash:
            listed = ", ".join(f"{k}={v!r} (checkpoint: {c!r})" for k, (v, c) in clash.items())
            raise ConfigError(
                f"config.model.overrides contradict the checkpoint at config.model.hf_path="
                f"{source.hf_path!r}: {listed}. Shape overrides apply to a random model from "
                "config.model.config_json only; set them to the checkpoint's values or use a "
                "preset without them"
            )
    try:
        return dataclasses.replace(base, **overrides)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"config.model.overrides: {e}") from e


def load_params(ctx: RunContext) -> Any:
    """The initial parameters, on the mesh: the checkpoint's, or random ones (``seed``)."""
    source, config = ctx.run.model, ctx.model_config
    if source.hf_path:
        overrides = {k: v for k, v in source.overrides_dict().items() if k != "dtype"}
        _, params = load_hf_checkpoint(
            source.hf_path, dtype=config.dtype, mesh=ctx.mesh, **overrides
        )
        return params
    return shard_params(init_params(config, jax.random.key(ctx.run.seed)), config, ctx.mesh)


def _load_tokenizer(path: str) -> Any:
    import transformers

    if not path:
        raise ConfigError(
            "config.tokenizer.path is empty (and there is no model.hf_path to take it from)"
        )
    try:
        return transformers.AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as e:
        raise ConfigError(f"config.tokenizer.path={path!r}: {e}") from e


def _read(field: str, sources: tuple[str, ...], run: RunConfig, **kw) -> list[Example]:
    try:
        return read_sources(
            sources,
            fmt=run.data.fmt,
            fields=run.data.fields,
            system_prompt=run.data.system_prompt,
            **kw,
        )
    except (DataError, FileNotFoundError) as e:
        raise ConfigError(f"config.{field}: {e}") from e


def check_shapes(run: RunConfig, model_config: ModelConfig, mesh: Mesh) -> None:
    """Raises :class:`ConfigError` when a micro-batch does not split over the mesh's rows or a
    row is longer than the model's positions."""
    divisor = sharding.batch_divisor(mesh)
    try:
        hosts = distributed.row_share(mesh).count  # processes holding different rows
    except ValueError as e:
        raise ConfigError(f"config.mesh: {e}") from e
    for stage in run.stages:
        if stage.shape.mini_batch_prompts % hosts:
            raise ConfigError(
                f"config.batch.mini_batch_prompts={stage.shape.mini_batch_prompts} must be a "
                f"multiple of the {hosts} hosts holding different rows (each host takes whole "
                "prompts of every mini-batch)"
            )
        rows = stage.shape.micro_batch_rows
        if rows % divisor:
            raise ConfigError(
                f"config.batch.micro_batch_rows={rows} must be a positive multiple of the mesh's "
                f"data x fsdp size ({divisor})"
            )
        total = stage.shape.max_prompt_length + stage.shape.max_response_length
        budget = micro_batch_tokens(stage.shape)
        if stage.shape.packing and budget < total * divisor:
            raise ConfigError(
                f"config.batch.max_tokens_per_micro_batch={budget} must "
                f"hold one packed sequence of {total} tokens per data x fsdp shard ({divisor})"
            )
        if total > model_config.max_position_embeddings:
            raise ConfigError(
                f"config.data.max_prompt_length + config.data.max_response_length = {total} "
                f"exceeds the model's max_position_embeddings ({model_config.max_position_embeddings})"
            )
    if run.eval.files and run.eval.max_new_tokens + run.eval.max_prompt_length > (
        model_config.max_position_embeddings
    ):
        raise ConfigError(
            f"config.data.max_prompt_length + config.eval.max_new_tokens = "
            f"{run.eval.max_prompt_length + run.eval.max_new_tokens} exceeds the model's "
            f"max_position_embeddings ({model_config.max_position_embeddings})"
        )


def validate(config: ml_collections.ConfigDict) -> Prepared:
    """Translates ``config`` and checks everything a run will need, before any compute.

    Reads the model's config (not its weights), the tokenizer, the training files (encoded with
    the run's limits) and the validation files (their prompts must fit
    ``data.max_prompt_length``); builds the mesh. Raises :class:`ConfigError` naming the field.
    """
    run = translate(config)
    try:
        mesh = sharding.make_mesh(run.mesh)
    except ValueError as e:
        raise ConfigError(f"config.mesh: {e}") from e
    model_config = model_config_of(run.model)
    check_shapes(run, model_config, mesh)
    for stage in run.stages:
        check_official_layout(stage.method, stage.shape, stage.loss)
    tokenizer = _load_tokenizer(run.tokenizer_path)
    try:
        gen_dirs = (
            (run.model.hf_path, run.tokenizer_path)
            if run.rollout.stop_on_generation_config_eos
            else ()
        )
        stop_ids, pad_id = stop_and_pad_ids(tokenizer, gen_dirs)
    except ValueError as e:
        raise ConfigError(f"config.tokenizer.path={run.tokenizer_path!r}: {e}") from e
    shape = run.stages[0].shape
    sampling = SamplingConfig(
        max_new_tokens=shape.max_response_length,
        temperature=run.rollout.temperature,
        top_p=run.rollout.top_p,
        top_k=run.rollout.top_k,
        eos_ids=stop_ids,
        pad_id=pad_id,
        max_concurrent=run.rollout.max_concurrent,
    )
    needs_traces = run.method.needs_traces
    stats: Counter = Counter()
    examples = _read(
        "data.train_files",
        run.data.train_files,
        run,
        require_traces=needs_traces,
        on_error=run.data.on_error,
        stats=stats,
    )
    if run.data.max_examples:
        examples = examples[: run.data.max_examples]
    train = encode_examples(
        examples,
        tokenizer,
        max_prompt_length=shape.max_prompt_length,
        # drop / cut_with_eos: trace + EOS must fit; official: the trace is cut to the budget and
        # the rollout cuts trace + EOS to it (no EOS when the trace fills the budget).
        max_trace_length=shape.max_response_length - (run.data.long_traces != "official"),
        truncate_traces=run.data.long_traces != "drop",
        require_traces=needs_traces,
        stats=stats,
    )
    if len(train) < shape.prompts_per_step:
        raise ConfigError(
            f"config.data.train_files: {len(train)} usable examples ({dict(stats)}) are fewer than "
            f"config.rollout.prompts_per_step={shape.prompts_per_step}"
        )
    eval_examples: list[Example] = []
    if run.eval.files:
        eval_examples = _read("eval.files", run.eval.files, run, on_error="raise")
        if run.eval.max_examples:
            eval_examples = eval_examples[: run.eval.max_examples]
        eval_stats: Counter = Counter()
        fitting = encode_examples(
            eval_examples,
            tokenizer,
            max_prompt_length=run.eval.max_prompt_length,
            remove_system=run.eval.remove_system,
            stats=eval_stats,
        )
        if not fitting:
            raise ConfigError(
                f"config.eval.files: none of the {len(eval_examples)} evaluation prompts fits "
                f"config.data.max_prompt_length={run.eval.max_prompt_length} ({dict(eval_stats)})"
            )
    ctx = RunContext(run, model_config, tokenizer, mesh, sampling)
    return Prepared(ctx, train, eval_examples, dict(stats))


def workdir_files(workdir: str, config: ml_collections.ConfigDict) -> None:
    """Creates ``workdir`` and writes the run's ``config.json``."""
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w", encoding="utf-8") as f:
        f.write(config.to_json(indent=2))
