"""Where a synthetic reproduction's files live under its data root (splits, tokenizer, models)."""

from __future__ import annotations

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class Files:
    root: str

    def path(self, name: str) -> str:
        return os.path.join(self.root, name)

    @property
    def tokenizer(self) -> str:
        return self.path("tokenizer")

    @property
    def train(self) -> str:
        return self.path("train.jsonl")

    @property
    def pretrain(self) -> str:
        return self.path("pretrain.jsonl")

    @property
    def eval_id(self) -> str:
        return self.path("eval_id.jsonl")

    @property
    def eval_ood(self) -> str:
        return self.path("eval_ood.jsonl")

    @property
    def validation(self) -> str:
        return self.path("validation.jsonl")

    @property
    def eval_curve(self) -> str:
        """The first ``Scale.eval_subset`` validation problems (scored during training)."""
        return self.path("eval_curve.jsonl")

    @property
    def init_model(self) -> str:
        return self.path("init_model")

    @property
    def base_model(self) -> str:
        return self.path("base_model")
