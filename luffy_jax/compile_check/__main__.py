"""``python -m luffy_jax.compile_check --config=PRESET[:variant] --topology=v5p:2x2x1 ...``

Prints progress to stderr, the per-piece table to stdout, and as its last line one JSON object
(the report's summary: ``fits``, ``peak_hbm_frac``, ``update_mfu_est``,
``decode_tokens_per_s_est``, ...); exits 1 when a piece does not fit the chip's HBM.
``--json_out=FILE`` also writes the whole report.
"""

from __future__ import annotations

import json
import math
import os
import sys

import jax
from absl import app, flags
from ml_collections import config_flags

from luffy_jax.compile_check import check, format_table, reusable, summary

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A preset from experiments/ (file[:variant])."
)
_TOPOLOGY = flags.DEFINE_string("topology", None, "TPU slice, e.g. v5p:2x2x1, v5e:2x4, v6e:2x2.")
_MODEL_CONFIG = flags.DEFINE_string(
    "model_config",
    None,
    "The model's config.json when model.hf_path is not on this machine (no weights are read).",
)
_LAYERS = flags.DEFINE_list(
    "layers",
    [],
    "Two depths, e.g. 1,2: compile at those and extrapolate linearly to the model's depth "
    "(fast); one depth: compile (and report) that depth only; default: the real depth.",
)
_REUSE = flags.DEFINE_list(
    "reuse",
    [],
    "Reports (--json_out) of the same config and topology whose compiled depths are reused, "
    "e.g. --layers=1,2 --reuse=at1.json,at2.json after two single-depth runs in parallel.",
)
_DECODE_STEPS = flags.DEFINE_integer(
    "decode_steps", 0, "Tokens each sampled row generates (default: data.max_response_length)."
)
_MAX_HBM_FRAC = flags.DEFINE_float(
    "max_hbm_frac", 1.0, "A piece fits when it needs at most this fraction of a chip's HBM."
)
_JSON_OUT = flags.DEFINE_string("json_out", None, "Also write the whole report here (JSON).")


def _no_nan(x):
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: _no_nan(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_no_nan(v) for v in x]
    return x


def main(argv) -> None:
    del argv
    if "JAX_PLATFORMS" not in os.environ:  # compile-only TPU devices need no TPU backend
        jax.config.update("jax_platforms", "cpu")
    earlier = []
    for path in _REUSE.value:
        with open(path, encoding="utf-8") as f:
            earlier.append(json.load(f))
    report = check(
        _CONFIG.value,
        _TOPOLOGY.value,
        model_config_path=_MODEL_CONFIG.value,
        layers=[int(x) for x in _LAYERS.value] or None,
        decode_steps=_DECODE_STEPS.value or None,
        max_hbm_frac=_MAX_HBM_FRAC.value,
        reuse=reusable(earlier) or None,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    report = _no_nan(report)
    if _JSON_OUT.value:
        with open(_JSON_OUT.value, "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
    print(format_table(report))
    print(json.dumps(summary(report), sort_keys=True))
    sys.exit(0 if report["fits"] else 1)


if __name__ == "__main__":
    flags.mark_flags_as_required(["config", "topology"])
    app.run(main)
