"""Orbax checkpoints of the whole training state: params, optimizer state, step, RNG key data and
the data iterator's position, plus a small JSON of run metadata (method stage, model config)."""

from __future__ import annotations

import os
from typing import Any

import orbax.checkpoint as ocp


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

    def close(self) -> None:
        self._mgr.close()
