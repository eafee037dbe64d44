"""A compile-check report as text: its headline fields (the CLI's JSON last line) and the
per-piece table."""

from __future__ import annotations

from typing import Any


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The report's headline fields (the CLI's last line)."""
    keys = (
        "topology",
        "fits",
        "max_hbm_frac",
        "peak_hbm_frac",
        "update_mfu_est",
        "decode_tokens_per_s_est",
        "tokens_per_s_est",
        "step_time_s_est",
        "step_split_s",
        "layers_compiled",
        "mesh",
        "batch",
    )
    out = {k: report[k] for k in keys}
    out["errors"] = {r["piece"]: r["error"] for r in report["pieces"] if r["error"]}
    return out


def format_table(report: dict[str, Any]) -> str:
    """The report as a text table, one row per piece, then the step estimate."""
    head = (
        f"{report['topology']}: {report['chips']} x {report['chip']} "
        f"({report['hbm_gb_per_chip']:.0f} GB HBM each), mesh {report['mesh']}, "
        f"{report['model']['num_layers']} layers, attention {report['model']['attention_impl']}, "
        f"remat {report['model']['remat']}; compiled at {report['layers_compiled']} layers"
    )
    cols = (  # header, key, width, format
        ("piece", "piece", 19, "s"),
        ("calls", "calls_per_step", 6, ".0f"),
        ("arg GB", "argument_gb", 7, ".2f"),
        ("out GB", "output_gb", 7, ".2f"),
        ("temp GB", "temp_gb", 8, ".2f"),
        ("code GB", "code_gb", 8, ".2f"),
        ("+resid", "other_resident_gb", 7, ".2f"),
        ("total", "total_gb", 7, ".2f"),
        ("/HBM", "hbm_frac", 6, ".1%"),
        ("TFLOP", "tflops", 8, ".2f"),
        ("HBM GB", "hbm_gb_accessed", 8, ".1f"),
        ("ICI GB", "ici_gb", 7, ".2f"),
        ("ms", "roofline_ms", 9, ".2f"),
        ("bound", "bound", 7, "s"),
    )
    lines = [head, " ".join(f"{name:>{w}}" for name, _, w, _ in cols)]
    for r in report["pieces"]:
        cells = []
        for _, key, w, fmt in cols:
            value = r[key]
            # NaN (None once written as JSON) for a piece that did not compile
            ok = isinstance(value, str) or (value is not None and value == value)
            cells.append(f"{value:>{w}{fmt}}" if ok else f"{'-':>{w}}")
        line = " ".join(cells)
        if r["error"]:
            line += f"  ERROR {r['error'][:160]}"
        lines.append(line)
    s, b = report["step_split_s"], report["batch"]
    lines.append(
        f"resident per chip: params {report['resident_gb']['params']:.2f} GB, optimizer "
        f"{report['resident_gb']['opt_state']:.2f} GB; {b['decode_slots']} decode slots, "
        f"{b['refills']} refills of {b['refill_prompts']} prompts, {b['decode_steps']} tokens per "
        f"row ({b['decode_step_calls']} decode steps)"
    )
    lines.append(
        f"step estimate: rollout {s['rollout_s']:.1f} s + log-probs {s['logprob_s']:.1f} s + "
        f"update {s['update_s']:.1f} s = {report['step_time_s_est']:.1f} s; "
        f"{report['tokens_per_s_est']:,.0f} tokens/s; update MFU "
        f"{report['update_mfu_est']:.1%}; decode {report['decode_tokens_per_s_est']:,.0f} "
        f"tokens/s; fits: {report['fits']} (peak {report['peak_hbm_frac']:.1%} of HBM)"
    )
    return "\n".join(lines)
