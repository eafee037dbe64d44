"""Orbax checkpoints of the whole training state: params, optimizer state, step, RNG key data and
the data iterator's position, plus a small JSON of run metadata (method stage, model config).

With several processes every process takes part in every save and restore (orbax writes each
array's shards from the processes that hold them; the directory must be one shared file system
or bucket). The data item holds every process's iterator state (``{"hosts": [state, ...]}``, by
process index), gathered before the save; each process restores its own."""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp

from luffy_jax import distributed
from luffy_jax.models import ModelConfig


class Checkpointer:
    """A thin wrapper over ``ocp.CheckpointManager`` for ``workdir/checkpoints``."""

    def __init__(self, directory: str, *, keep: int = 2):
        self.directory = os.path.abspath(directory)
        options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
        self._mgr = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        return self._mgr.latest_step()

    def save(self, step: int, state: Any, data_state: dict, meta: dict) -> None:
        """Saves ``step`` (a step already saved is left as it is); ``data_state`` is this process's
        iterator state. Every process must call it."""
        if step in self._mgr.all_steps():
            return
        data = {"hosts": distributed.gather_objects(data_state)}
        self._mgr.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state),
                data=ocp.args.JsonSave(data),
                meta=ocp.args.JsonSave(meta),
            ),
            force=True,
        )
        self._mgr.wait_until_finished()

    def restore(self, step: int, abstract_state: Any) -> tuple[Any, dict, dict]:
        """``(state, this process's data iterator state, meta)`` of ``step``."""
        out = self._mgr.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract_state),
                data=ocp.args.JsonRestore(),
                meta=ocp.args.JsonRestore(),
            ),
        )
        return out["state"], own_data_state(out["data"], step), out["meta"]

    def restore_meta(self, step: int) -> dict:
        return self._mgr.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]

    def restore_params(self, step: int) -> Any:
        """The parameters saved at ``step``, without the optimizer state's shapes (host arrays)."""
        raw = self._mgr.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore()))
        return jax.tree.map(jnp.asarray, raw["state"]["params"])

    def load_policy(self) -> tuple[ModelConfig, Any, str]:
        """``(model_config, params, tokenizer_path)`` of the latest checkpoint."""
        step = self.latest_step()
        if step is None:
            raise FileNotFoundError(f"no checkpoint in {self.directory}")
        meta = self.restore_meta(step)
        return (
            ModelConfig.from_hf(meta["model_config"]),
            self.restore_params(step),
            meta["tokenizer"],
        )

    def close(self) -> None:
        self._mgr.close()


def own_data_state(saved: dict, step: int) -> dict:
    """This process's iterator state from a checkpoint's data item (``{"hosts": [...]}``, or one
    state from a checkpoint written before several processes were supported)."""
    if "hosts" not in saved:
        return saved
    states = saved["hosts"]
    if len(states) == jax.process_count():
        return states[jax.process_index()]
    if all(s == states[0] for s in states):  # every host at the same position: any count resumes
        return states[0]
    raise ValueError(
        f"checkpoint step {step} holds the data positions of {len(states)} processes, which "
        f"differ; resume it with {len(states)} processes, not {jax.process_count()}"
    )


def load_trained_policy(workdir: str) -> tuple[ModelConfig, Any, str]:
    """``(model_config, params, tokenizer_path)`` from the latest checkpoint of a training workdir."""
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
    try:
        return ckpt.load_policy()
    finally:
        ckpt.close()
