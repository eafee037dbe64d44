"""``run_training``: the LUFFY step of spec 1.14 (and its baselines) in a resumable loop.

One RL step, top to bottom:

1. draw ``prompts_per_step`` prompts (Grain, position checkpointed);
2. sample ``n - n_off`` continuations per prompt with the current parameters (``sampling.generate``);
3. build the mixed batch: per prompt ``n_off`` trace rows (trace + EOS) then the samples;
4. reward every row (``rewards.score_batch``, LUFFY's v3 rule, bounded worker pool);
5. old log-probs of every row with the same parameters (a forward pass, as the official code;
   or the sampler's own with ``rollout.use_sampler_logprobs``);
6. group advantages over the mixed group (``objectives.group_advantages``);
7. one AdamW step per mini-batch of ``batch.mini_batch_prompts`` prompts, gradients accumulated
   exactly over micro-batches of ``batch.micro_batch_rows`` rows;
8. every ``eval.every`` steps validate; every ``checkpoint.every`` steps (and on SIGTERM, and at
   the end) save params, optimizer state, step, RNG and the data position.

SFT steps skip 2, 4, 5, 6 (rows = prompt + trace + EOS, token-mean NLL).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from luffy_jax import rewards, sharding
from luffy_jax.data import (
    BatchIterator,
    JsonlFields,
    encode_examples,
    read_examples,
    rollout_batches,
)
from luffy_jax.evaluate import evaluate_policy
from luffy_jax.models import ModelConfig, init_params, load_hf_checkpoint, shard_params
from luffy_jax.objectives import finalize, group_advantages, zero_terms
from luffy_jax.sampling import SamplingConfig, generate
from luffy_jax.trainer import step as S
from luffy_jax.trainer.checkpoint import Checkpointer
from luffy_jax.trainer.config import (
    OBJECTIVE_OF,
    ConfigError,
    loss_config,
    model_overrides,
    run_shape,
    validate,
)
from luffy_jax.trainer.metrics import MetricsWriter
from luffy_jax.trainer.rollout import RolloutBatch, build_rollout

log = logging.getLogger("luffy_jax.train")


def method_at(cfg: ml_collections.ConfigDict, step: int) -> str:
    """The method in force at ``step`` (``sft_then_rl``: SFT for ``sft.steps`` steps, then GRPO)."""
    if cfg.method == "sft_then_rl":
        return "sft" if step <= int(cfg.sft.steps) else "on_policy_grpo"
    return cfg.method


def _model_config(cfg) -> ModelConfig:
    source = cfg.model.hf_path or cfg.model.config_json
    return ModelConfig.from_hf(source, **model_overrides(cfg))


def _load_params(cfg, model_config: ModelConfig, mesh) -> Any:
    if cfg.model.hf_path:
        _, params = load_hf_checkpoint(
            cfg.model.hf_path,
            dtype=model_config.param_dtype,
            mesh=mesh,
            **{k: v for k, v in model_overrides(cfg).items() if k not in ("dtype", "param_dtype")},
        )
        return params
    return shard_params(
        init_params(model_config, jax.random.key(int(cfg.seed))), model_config, mesh
    )


def _read_tfds(spec: str, *, require_traces: bool) -> list:
    """Examples of a dataset built by ``data.tfds_builders`` from ``tfds:NAME@DATA_DIR``.

    The prompts are stored as built (with or without the system prompt); ``data.use_system_prompt``
    and the field names apply to parquet/JSONL files only.
    """
    from luffy_jax.data import tfds_builders

    name, sep, data_dir = spec[len("tfds:") :].partition("@")
    data_dir = os.path.expanduser(data_dir)
    if not name or not sep or not data_dir:
        raise ConfigError(f"data file {spec!r}: a TFDS dataset is written tfds:NAME@DATA_DIR")
    if not os.path.isdir(os.path.join(data_dir, tfds_builders.LuffyExamples.name, name)):
        raise ConfigError(
            f"data file {spec!r}: no dataset {name!r} in {data_dir} (build it with "
            "luffy_jax.data.tfds_builders.build_dataset)"
        )
    examples = tfds_builders.load_examples(name, data_dir=data_dir)
    if require_traces:
        for ex in examples:
            if not ex.traces:
                raise ConfigError(
                    f"data file {spec!r}: example index {ex.index} has no off-policy trace, "
                    "which this method needs"
                )
    return examples


def _read_files(files: str, cfg, *, require_traces: bool, on_error: str, stats: Counter):
    """Examples from a comma-separated list of parquet/JSONL paths and ``tfds:NAME@DATA_DIR``."""
    fields = JsonlFields(
        problem=cfg.data.problem_field,
        answer=cfg.data.answer_field,
        trace=cfg.data.trace_field,
        traces=cfg.data.traces_field,
    )
    from luffy_jax.data import LUFFY_SYSTEM_PROMPT

    system = LUFFY_SYSTEM_PROMPT if cfg.data.use_system_prompt else None
    out = []
    for path in [p.strip() for p in files.split(",") if p.strip()]:
        if path.startswith("tfds:"):
            out += _read_tfds(path, require_traces=require_traces)
            continue
        out += list(
            read_examples(
                path,
                fmt=cfg.data.fmt or None,
                fields=fields,
                system_prompt=system,
                require_traces=require_traces,
                on_error=on_error,
                stats=stats,
            )
        )
    return out


class _StopFlag:
    """Set by SIGTERM (preemption): the loop saves a checkpoint and returns."""

    def __init__(self):
        self.stop = False
        self._previous = None

    def install(self):
        try:
            self._previous = signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not in the main thread: no handler, the caller stops the run
            self._previous = None

    def _handle(self, signum, frame):
        log.warning("SIGTERM received: saving a checkpoint and stopping after this step")
        self.stop = True

    def uninstall(self):
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def run_training(
    config: ml_collections.ConfigDict,
    workdir: str,
    max_steps: int | None = None,
    *,
    on_step: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Trains (or resumes) a run in ``workdir`` up to ``min(max_steps, config.total_steps)``.

    Args:
      config: a config from ``experiments/`` (schema: ``experiments/base_config.py``).
      workdir: output folder: ``checkpoints/``, ``metrics.jsonl``, ``tensorboard/``, ``config.json``.
      max_steps: stop after this step (a later call with a larger value resumes and extends).
      on_step: called as ``on_step(step, metrics)`` after every step (tests, notebooks).

    Returns:
      The metrics of the last step run (empty if nothing was left to run).
    """
    cfg = config
    os.makedirs(workdir, exist_ok=True)
    mesh = sharding.make_mesh(
        sharding.MeshConfig(int(cfg.mesh.data), int(cfg.mesh.fsdp), int(cfg.mesh.tensor))
    )
    model_config = _model_config(cfg)
    validate(cfg, model_config, sharding.batch_divisor(mesh))
    with open(os.path.join(workdir, "config.json"), "w", encoding="utf-8") as f:
        f.write(cfg.to_json(indent=2))

    import transformers

    tok_path = cfg.tokenizer.path or cfg.model.hf_path
    if not tok_path:
        raise ConfigError(
            "config.tokenizer.path is empty (and there is no model.hf_path to take it from)"
        )
    tokenizer = transformers.AutoTokenizer.from_pretrained(tok_path)
    eos_id, pad_id = tokenizer.eos_token_id, tokenizer.pad_token_id
    if eos_id is None:
        raise ConfigError(f"the tokenizer at {tok_path} has no eos_token")
    pad_id = eos_id if pad_id is None else pad_id

    needs_traces = cfg.method in ("luffy", "rl_with_sft_loss", "sft", "sft_then_rl")
    data_stats: Counter = Counter()
    examples = _read_files(
        cfg.data.train_files,
        cfg,
        require_traces=needs_traces,
        on_error=cfg.data.on_error,
        stats=data_stats,
    )
    if cfg.data.max_examples:
        examples = examples[: int(cfg.data.max_examples)]
    shape0 = run_shape(cfg, method_at(cfg, 1))
    encoded = encode_examples(
        examples,
        tokenizer,
        max_prompt_length=shape0.max_prompt_length,
        max_trace_length=shape0.max_response_length - 1,
        truncate_traces=bool(cfg.data.truncate_traces),
        require_traces=needs_traces,
        stats=data_stats,
    )
    log.info("training data: %d examples (%s)", len(encoded), dict(data_stats))
    dataset = rollout_batches(
        encoded,
        shape0.prompts_per_step,
        seed=int(cfg.seed),
        shard_index=jax.process_index(),
        shard_count=jax.process_count(),
    )
    batches = BatchIterator(dataset)

    params = _load_params(cfg, model_config, mesh)
    total = int(cfg.total_steps)
    last = min(total, int(max_steps)) if max_steps else total
    txs = {}

    def optimizer_for(method: str):
        if method not in txs:
            lr = float(cfg.sft.lr) if (method == "sft" and cfg.method == "sft_then_rl") else None
            txs[method] = S.make_optimizer(cfg.optim, total, lr=lr)
        return txs[method]

    def init_opt(tx_):
        # scalars (step counts) replicated on the mesh, the rest sharded like the params
        return jax.tree.map(
            lambda x: jax.device_put(x, sharding.replicated(mesh)) if x.ndim == 0 else x,
            tx_.init(params),
        )

    tx, schedule = optimizer_for(method_at(cfg, 1))
    opt_state = init_opt(tx)
    rng = jax.random.key(int(cfg.seed))
    start = 0
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"), keep=int(cfg.checkpoint.keep))
    meta = {
        "model_config": model_config.to_hf_dict(),
        "tokenizer": os.path.abspath(tok_path),
        "method": cfg.method,
    }
    latest = ckpt.latest_step()
    if latest is not None:
        saved_meta = ckpt.restore_meta(latest)
        restore_method = saved_meta.get("stage_method", method_at(cfg, latest))
        tx, schedule = optimizer_for(restore_method)
        target = {
            "params": params,
            "opt_state": init_opt(tx),
            "step": np.zeros((), np.int64),
            "rng": jax.random.key_data(rng),
        }
        state, data_state, _ = ckpt.restore(latest, target)
        params, opt_state = state["params"], state["opt_state"]
        rng = jax.random.wrap_key_data(jnp.asarray(state["rng"]))
        start = int(state["step"])
        batches.set_state(data_state)
        log.info("resumed from %s at step %d", ckpt.directory, start)
    ref_params = params if float(cfg.loss.kl_coef) > 0 else None
    eval_examples = (
        _read_files(cfg.eval.files, cfg, require_traces=False, on_error="raise", stats=Counter())
        if cfg.eval.files
        else []
    )
    if cfg.eval.max_examples:
        eval_examples = eval_examples[: int(cfg.eval.max_examples)]

    writer = MetricsWriter(
        workdir, total_steps=last, tensorboard=bool(cfg.log.tensorboard), first_step=start
    )
    stop = _StopFlag()
    stop.install()
    metrics: dict[str, Any] = {}
    current_method = method_at(cfg, start + 1)
    ctx = RunContext(cfg, model_config, tokenizer, mesh, eos_id, pad_id)

    def save(step_done: int) -> None:
        state = {
            "params": params,
            "opt_state": opt_state,
            "step": np.asarray(step_done, np.int64),
            "rng": jax.random.key_data(rng),
        }
        ckpt.save(
            step_done,
            state,
            batches.get_state(),
            {**meta, "stage_method": method_at(cfg, step_done)},
        )

    try:
        for step in range(start + 1, last + 1):
            method = method_at(cfg, step)
            if (
                method != current_method
            ):  # sft_then_rl: stage boundary (fresh optimizer, checkpointed)
                save(step - 1)
                tx, schedule = optimizer_for(method)
                opt_state = init_opt(tx)
                ref_params = params if float(cfg.loss.kl_coef) > 0 else ref_params
                current_method = method
            t0 = time.monotonic()
            batch = next(batches)
            key = jax.random.fold_in(rng, step)
            params, opt_state, metrics = train_step(
                ctx, method, params, opt_state, (tx, schedule), batch, key, ref_params
            )
            metrics["timing_s/step"] = time.monotonic() - t0
            if float(cfg.log.peak_tflops) > 0:
                flops = 6.0 * model_config.num_params() * metrics["perf/tokens"]
                metrics["perf/mfu"] = (
                    flops
                    / metrics["timing_s/step"]
                    / (float(cfg.log.peak_tflops) * 1e12 * jax.device_count())
                )
            if eval_examples and cfg.eval.every and step % int(cfg.eval.every) == 0:
                metrics.update(
                    _validate(cfg, params, model_config, tokenizer, eval_examples, step, mesh)
                )
            writer.write(step, metrics)
            if on_step is not None:
                on_step(step, metrics)
            if stop.stop or step == last or step % int(cfg.checkpoint.every) == 0:
                save(step)
            if stop.stop:
                break
    finally:
        stop.uninstall()
        writer.close()
        ckpt.close()
    return metrics


def _validate(cfg, params, model_config, tokenizer, examples, step, mesh) -> dict[str, float]:
    t0 = time.monotonic()
    result = evaluate_policy(
        params,
        model_config,
        tokenizer,
        examples,
        key=jax.random.key(int(cfg.seed) + 10_000 + step),
        temperature=float(cfg.eval.temperature),
        max_new_tokens=int(cfg.eval.max_new_tokens),
        max_prompt_length=int(cfg.data.max_prompt_length),
        grader=cfg.eval.grader,
        remove_system=bool(cfg.eval.remove_system),
        reward_timeout_s=float(cfg.rollout.reward_timeout_s),
        reward_workers=int(cfg.rollout.reward_workers) or None,
        mesh=mesh,
    )
    out = {f"val/test_score/{k}": v for k, v in result["scores"].items()}
    out["val/avg_score"] = result["average"]
    out["timing_s/testing"] = time.monotonic() - t0
    return out


def _pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    if x.shape[0] == rows:
        return x
    pad = np.zeros((rows - x.shape[0],) + x.shape[1:], x.dtype)
    return np.concatenate([x, pad])


def _micro_batches(arrays: dict[str, np.ndarray], rows: int, mesh):
    n = next(iter(arrays.values())).shape[0]
    for s in range(0, n, rows):
        mb = {k: _pad_rows(v[s : s + rows], rows) for k, v in arrays.items()}
        yield {k: jax.device_put(v, sharding.batch_sharding(mesh, v.ndim)) for k, v in mb.items()}


def _logprob_pass(params, model_config, rb: RolloutBatch, shape, temperature, mesh):
    outs_lp, outs_ent = [], []
    arrays = {"tokens": rb.tokens, "attention_mask": rb.attention_mask}
    for mb in _micro_batches(arrays, shape.micro_batch_rows, mesh):
        lp, ent = S.response_logprobs(
            params,
            model_config,
            mb["tokens"],
            mb["attention_mask"],
            temperature,
            prompt_len=shape.max_prompt_length,
            response_len=shape.max_response_length,
        )
        outs_lp.append(np.asarray(lp))
        outs_ent.append(np.asarray(ent))
    return np.concatenate(outs_lp)[: rb.rows], np.concatenate(outs_ent)[: rb.rows]


@dataclasses.dataclass(frozen=True)
class RunContext:
    """What stays fixed for a whole run: the config, the model's shape, tokenizer, mesh, ids."""

    cfg: ml_collections.ConfigDict
    model_config: ModelConfig
    tokenizer: Any
    mesh: jax.sharding.Mesh
    eos_id: int
    pad_id: int


def train_step(
    ctx: RunContext,
    method: str,
    params: Any,
    opt_state: Any,
    optimizer: tuple[Any, Callable[[int], Any]],
    batch: dict[str, Any],
    key: jax.Array,
    ref_params: Any | None,
) -> tuple[Any, Any, dict[str, Any]]:
    """One training step of ``method``; returns ``(params, opt_state, metrics)``.

    ``optimizer`` is ``(optax transformation, learning-rate schedule)``; ``batch`` one element of
    ``data.rollout_batches``; ``ref_params`` the frozen reference (KL term) or None.
    """
    cfg, model_config, tokenizer, mesh = ctx.cfg, ctx.model_config, ctx.tokenizer, ctx.mesh
    eos_id, pad_id = ctx.eos_id, ctx.pad_id
    tx, schedule = optimizer
    shape = run_shape(cfg, method)
    lcfg = loss_config(cfg, method)
    objective = OBJECTIVE_OF[method]
    temperature = float(cfg.rollout.temperature)
    metrics: dict[str, Any] = {}
    timing = {}

    # 2. sample the on-policy rows
    t = time.monotonic()
    samples = (None, None, None)
    if shape.n_on > 0:
        sc = SamplingConfig(
            max_new_tokens=shape.max_response_length,
            temperature=temperature,
            top_p=float(cfg.rollout.top_p),
            top_k=int(cfg.rollout.top_k),
            eos_ids=(eos_id,),
            pad_id=pad_id,
            max_concurrent=int(cfg.rollout.max_concurrent) or None,
        )
        out = generate(params, model_config, batch["prompt_ids"], key, sc, n=shape.n_on, mesh=mesh)
        samples = tuple(np.asarray(x) for x in out)
    timing["gen"] = time.monotonic() - t

    # 3. the mixed batch
    rb = build_rollout(batch, *samples, shape, eos_id, pad_id)

    # 4. rewards
    t = time.monotonic()
    if method == "sft":
        scores = np.zeros(rb.rows, np.float32)
        reward_stats = {}
    else:
        texts = [tokenizer.decode(r, skip_special_tokens=False) for r in rb.responses]
        score_list, reward_stats = rewards.score_batch(
            texts,
            rb.golds,
            kind="math",
            timeout_s=float(cfg.rollout.reward_timeout_s),
            workers=int(cfg.rollout.reward_workers) or None,
        )
        scores = np.asarray(score_list, np.float32)
    timing["reward"] = time.monotonic() - t

    # 5. old log-probs (and the frozen reference's, for the KL term)
    t = time.monotonic()
    if method == "sft":
        old_logp = np.zeros_like(rb.response_mask)
    elif cfg.rollout.use_sampler_logprobs:
        old_logp = rb.sampler_logprobs
    else:
        old_logp, _ = _logprob_pass(params, model_config, rb, shape, temperature, mesh)
    ref_logp = None
    if ref_params is not None and lcfg.kl_coef > 0 and method != "sft":
        ref_logp, _ = _logprob_pass(ref_params, model_config, rb, shape, temperature, mesh)
    timing["old_log_prob"] = time.monotonic() - t

    # 6. advantages
    if method == "sft":
        adv = np.zeros(rb.rows, np.float32)
    else:
        adv = np.asarray(
            group_advantages(
                jnp.asarray(scores),
                jnp.asarray(rb.group_ids),
                jnp.asarray(rb.is_off),
                stats_from=lcfg.advantage_stats,
                use_std=lcfg.advantage_use_std,
            )
        )

    # 7. updates
    t = time.monotonic()
    arrays = {
        "tokens": rb.tokens,
        "attention_mask": rb.attention_mask,
        "old_logp": old_logp.astype(np.float32),
        "advantages": adv.astype(np.float32),
        "response_mask": rb.response_mask,
        "off_policy_mask": rb.off_policy_mask,
    }
    if ref_logp is not None:
        arrays["ref_logp"] = ref_logp.astype(np.float32)
    rows_per_mini = shape.mini_batch_prompts * shape.n
    all_terms = zero_terms()
    grad_norms = []
    for m0 in range(0, rb.rows, rows_per_mini):
        mini = {k: v[m0 : m0 + rows_per_mini] for k, v in arrays.items()}
        counts = S.count_terms(
            {k: jnp.asarray(mini[k]) for k in ("response_mask", "off_policy_mask")},
            loss_config=lcfg,
            objective=objective,
        )
        grads = None
        for mb in _micro_batches(mini, shape.micro_batch_rows, mesh):
            g, terms = S.micro_batch_grad(
                params,
                mb,
                counts,
                temperature,
                config=model_config,
                loss_config=lcfg,
                objective=objective,
                prompt_len=shape.max_prompt_length,
                response_len=shape.max_response_length,
            )
            grads = g if grads is None else S.add_trees(grads, g)
            all_terms = S.add_trees(all_terms, terms)
        params, opt_state, norm = S.apply_update(params, opt_state, grads, tx=tx)
        grad_norms.append(float(norm))
    timing["update_actor"] = time.monotonic() - t

    all_terms = dict(all_terms)
    all_terms["pg_width"] = jnp.asarray(shape.max_response_length, jnp.float32)
    loss, actor = finalize(all_terms, lcfg)
    metrics.update({k: float(v) for k, v in actor.items()})
    metrics["loss"] = float(loss)
    metrics["actor/grad_norm"] = float(np.mean(grad_norms))
    count = int(opt_state_count(opt_state))
    metrics["actor/lr"] = float(schedule(max(count - 1, 0)))
    metrics.update(_batch_metrics(rb, scores, adv, shape, method))
    for (
        k,
        v,
    ) in reward_stats.items():  # counts of timeouts/crashes/errors; durations under timing_s/
        if isinstance(v, (int, float)):
            metrics[f"timing_s/reward_{k}" if k.endswith("_s") else f"reward/{k}"] = v
    tokens = float(rb.attention_mask.sum())
    metrics["perf/tokens"] = tokens
    for k, v in timing.items():
        metrics[f"timing_s/{k}"] = v
    metrics["perf/tokens_per_s"] = tokens / max(sum(timing.values()), 1e-9)
    metrics["method"] = method
    return params, opt_state, metrics


def opt_state_count(opt_state) -> int:
    """The optimizer's step count (from the Adam state inside the chain)."""
    for leaf in jax.tree.leaves(opt_state):
        if hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.integer) and leaf.ndim == 0:
            return int(leaf)
    return 0


def _batch_metrics(rb: RolloutBatch, scores, adv, shape, method) -> dict[str, float]:
    lengths = rb.response_mask.sum(1)
    on, off = ~rb.is_off, rb.is_off
    out = {
        "response_length/mean": float(lengths.mean()),
        "response_length/max": float(lengths.max()),
        "response_length/min": float(lengths.min()),
        "response_length/clip_ratio": float((lengths >= shape.max_response_length).mean()),
        "prompt_length/mean": float((rb.attention_mask.sum(1) - lengths).mean()),
        "batch/avg_prefix_ratio": float(off.mean()),
        "on_off_metrics/off_on_example_ratio": float(off.sum() / max(on.sum(), 1)),
    }
    if on.any():
        out["on_off_metrics/on_response_length_mean"] = float(lengths[on].mean())
    if off.any():
        out["on_off_metrics/off_response_length_mean"] = float(lengths[off].mean())
    if method == "sft":
        out["reward_mean"] = None
        return out
    groups = rb.group_ids
    uniq = np.unique(groups)
    per_group = np.stack([scores[groups == g] for g in uniq])
    valid = rb.response_mask > 0
    adv_tok = np.broadcast_to(adv[:, None], rb.response_mask.shape)[valid]
    out.update(
        {
            "reward_mean": float(scores.mean()),
            "critic/score/mean": float(scores.mean()),
            "critic/score/max": float(scores.max()),
            "critic/score/min": float(scores.min()),
            "critic/advantages/mean": float(adv_tok.mean()),
            "critic/advantages/max": float(adv_tok.max()),
            "critic/advantages/min": float(adv_tok.min()),
            "batch/solved": float((scores > 0).mean()),
            "batch/failed": float((scores <= 0).mean()),
            "batch/solve_none": float((per_group.max(1) <= 0).sum()),
            "batch/solve_all": float((per_group.min(1) > 0).sum()),
        }
    )
    if on.any():
        out["batch/on_solved"] = out["on_off_metrics/on_score"] = float(scores[on].mean())
    if off.any():
        out["batch/off_solved"] = out["on_off_metrics/off_score"] = float(scores[off].mean())
    return out


def load_trained_policy(workdir: str) -> tuple[ModelConfig, Any, str]:
    """``(model_config, params, tokenizer_path)`` from the latest checkpoint of a training workdir."""
    import orbax.checkpoint as ocp

    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
    step = ckpt.latest_step()
    if step is None:
        raise FileNotFoundError(f"no checkpoint in {os.path.join(workdir, 'checkpoints')}")
    meta = ckpt.restore_meta(step)
    model_config = ModelConfig.from_hf(meta["model_config"])
    raw = ckpt._mgr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))[
        "state"
    ]
    ckpt.close()
    params = jax.tree.map(jnp.asarray, raw["params"])
    return model_config, params, meta["tokenizer"]
