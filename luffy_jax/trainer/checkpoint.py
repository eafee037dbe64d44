"""Orbax checkpoints of the whole training state: params, optimizer state, step, RNG key data and
the data iterator's position, plus a small JSON of run metadata (method stage, model config)."""

from __future__ import annotations

import os
from typing import Any

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp

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
        """Saves ``step`` (a step already saved is left as it is)."""
        if step in self._mgr.all_steps():
            return
        self._mgr.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state),
                data=ocp.args.JsonSave(data_state),
                meta=ocp.args.JsonSave(meta),
            ),
            force=True,
        )
        self._mgr.wait_until_finished()

    def restore(self, step: int, abstract_state: Any) -> tuple[Any, dict, dict]:
        out = self._mgr.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract_state),
                data=ocp.args.JsonRestore(),
                meta=ocp.args.JsonRestore(),
            ),
        )
        return out["state"], out["data"], out["meta"]

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


def load_trained_policy(workdir: str) -> tuple[ModelConfig, Any, str]:
    """``(model_config, params, tokenizer_path)`` from the latest checkpoint of a training workdir."""
    ckpt = Checkpointer(os.path.join(workdir, "checkpoints"))
    try:
        return ckpt.load_policy()
    finally:
        ckpt.close()
