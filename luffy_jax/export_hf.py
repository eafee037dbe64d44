"""Export a trained policy as a Hugging Face checkpoint (for vLLM / transformers evaluation).

    python -m luffy_jax.export_hf --workdir=runs/luffy7b --out=exports/luffy7b [--dtype=bfloat16]

Writes ``config.json``, ``model.safetensors`` and the run's tokenizer files; the result loads with
``transformers.AutoModelForCausalLM.from_pretrained(out)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp

from luffy_jax.models import save_hf_checkpoint
from luffy_jax.trainer import load_trained_policy


def export(workdir: str, out: str, dtype: str | None = None) -> str:
    """Writes the latest checkpoint of ``workdir`` to ``out`` in Hugging Face format."""
    config, params, tokenizer_dir = load_trained_policy(workdir)
    if dtype:
        params = jax.tree.map(lambda x: x.astype(jnp.dtype(dtype)), params)
        config = config.replace(param_dtype=dtype, dtype=dtype)
    save_hf_checkpoint(params, config, out, tokenizer_dir=tokenizer_dir)
    return out


def main(argv: Sequence[str]) -> None:
    del argv
    from absl import flags

    f = flags.FLAGS
    print(export(f.workdir, f.out, f.dtype or None))


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("workdir", None, "A training workdir (its latest checkpoint is exported).")
    flags.DEFINE_string("out", None, "Output folder.")
    flags.DEFINE_string("dtype", "", "Cast parameters (e.g. bfloat16); default: as trained.")
    flags.mark_flags_as_required(["workdir", "out"])
    app.run(main)
