"""Training curves of one or more runs as PNG files.

    python -m luffy_jax.plot WORKDIR [WORKDIR ...] [--out=curves.png] [--labels=a,b]

Reads each ``WORKDIR/metrics.jsonl`` and draws reward, entropy, response length, off-policy
probability and validation score against the step, one line per run. A run that lacks a metric
(e.g. on-policy GRPO has no off-policy probability) is left out of that panel, and the legend says
so.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

PANELS = (
    ("reward_mean", "training reward"),
    ("actor/entropy_loss", "entropy (token mean)"),
    ("response_length/mean", "response length"),
    ("actor/off_policy_prob", "off-policy token probability"),
    ("val/avg_score", "validation score"),
    ("actor/grad_norm", "gradient norm"),
)


def plot_runs(
    workdirs: Sequence[str],
    out: str,
    labels: Sequence[str] | None = None,
    panels: Sequence[tuple[str, str]] = PANELS,
    title: str | None = None,
) -> str:
    """Draws ``panels`` for ``workdirs`` into the PNG ``out``; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from luffy_jax.trainer.metrics import read_metrics

    labels = list(labels) if labels else [os.path.basename(os.path.normpath(w)) for w in workdirs]
    if len(labels) != len(workdirs):
        raise ValueError(f"{len(labels)} labels for {len(workdirs)} runs")
    runs = [read_metrics(w) for w in workdirs]
    if not panels:
        raise ValueError("plot_runs: no panels to draw")
    cols = min(3, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.4 * rows), squeeze=False)
    for ax, (key, name) in zip(axes.flat, panels):
        missing = []
        for label, records in zip(labels, runs):
            pts = [(r["step"], r[key]) for r in records if r.get(key) is not None]
            if pts:
                xs, ys = zip(*pts)
                ax.plot(xs, ys, label=label, marker="." if len(pts) < 20 else None)
            else:
                missing.append(label)
        ax.set_title(
            name if not missing else f"{name}\n(no data: {', '.join(missing)})", fontsize=9
        )
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main(argv: Sequence[str]) -> None:
    from absl import flags

    f = flags.FLAGS
    workdirs = list(argv[1:])
    if not workdirs:
        raise SystemExit("usage: python -m luffy_jax.plot WORKDIR [WORKDIR ...] [--out=curves.png]")
    labels = f.labels.split(",") if f.labels else None
    print(plot_runs(workdirs, f.out, labels))


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_string("out", "curves.png", "Output PNG.")
    flags.DEFINE_string("labels", "", "Comma-separated run labels (default: folder names).")
    app.run(main)
