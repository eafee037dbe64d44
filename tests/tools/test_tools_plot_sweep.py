"""luffy_jax.plot and luffy_jax.sweep."""

import json
import subprocess
import sys

import pytest

from luffy_jax import plot, sweep


def _metrics(workdir, with_off=True, steps=5):
    workdir.mkdir(parents=True)
    with open(workdir / "metrics.jsonl", "w") as f:
        for s in range(1, steps + 1):
            rec = {
                "step": s,
                "loss": 1.0 / s,
                "reward_mean": 0.1 * s,
                "actor/entropy_loss": 2.0 - 0.1 * s,
                "response_length/mean": 10 + s,
                "actor/grad_norm": 0.5,
            }
            if with_off:
                rec["actor/off_policy_prob"] = 0.2 + 0.05 * s
            if s % 2 == 0:
                rec["val/avg_score"] = 0.3
            f.write(json.dumps(rec) + "\n")
    return str(workdir)


def test_plot_compares_runs_and_tolerates_missing_metrics(tmp_path):
    a = _metrics(tmp_path / "luffy")
    b = _metrics(tmp_path / "grpo", with_off=False)
    out = plot.plot_runs([a, b], str(tmp_path / "out" / "curves.png"))
    assert (tmp_path / "out" / "curves.png").stat().st_size > 20_000
    with pytest.raises(ValueError, match="labels"):
        plot.plot_runs([a, b], str(tmp_path / "x.png"), labels=["only-one"])
    with pytest.raises(FileNotFoundError, match="metrics.jsonl"):
        plot.plot_runs([str(tmp_path)], str(tmp_path / "y.png"))
    assert out.endswith("curves.png")


def test_plot_cli(tmp_path):
    a = _metrics(tmp_path / "run")
    res = subprocess.run(
        [sys.executable, "-m", "luffy_jax.plot", a, f"--out={tmp_path / 'cli.png'}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert (tmp_path / "cli.png").exists() and "cli.png" in res.stdout


def test_grid_expansion():
    grid = sweep.parse_grid(["loss.shaping_gamma=0.05,0.1,0.3", "optim.lr=1e-6,3e-6"])
    runs = sweep.expand(grid, seeds=2)
    assert len(runs) == 12
    assert runs[0] == {"loss.shaping_gamma": "0.05", "optim.lr": "1e-6", "seed": "0"}
    assert {r["seed"] for r in runs} == {"0", "1"}
    assert len(sweep.expand([], seeds=3)) == 3
    for bad in (["nofield"], ["x="], ["a=1", "a=2"]):
        with pytest.raises(ValueError, match="grid"):
            sweep.parse_grid(bad)
    with pytest.raises(ValueError, match="seeds"):
        sweep.expand(grid, seeds=0)


def test_print_only_commands(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "luffy_jax.sweep",
            "--config=experiments/smoke.py",
            "--grid=loss.shaping_gamma=0.1,0.3",
            "--seeds=2",
            f"--workdir_root={tmp_path}",
            "--max_steps=2",
            "--print_only",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    lines = res.stdout.strip().splitlines()
    assert len(lines) == 4
    assert "--config.loss.shaping_gamma=0.3" in lines[2] and "--config.seed=0" in lines[2]
    assert (
        f"--workdir={tmp_path}/loss.shaping_gamma=0.3,seed=0" in lines[2]
        and "--max_steps=2" in lines[2]
    )


def test_plot_lays_out_as_many_columns_as_panels(tmp_path):
    import matplotlib.image

    a = _metrics(tmp_path / "luffy")
    two = (("actor/entropy_loss", "entropy"), ("val/avg_score", "validation"))
    plot.plot_runs([a], str(tmp_path / "two.png"), panels=two)
    plot.plot_runs([a], str(tmp_path / "six.png"))
    h2, w2 = matplotlib.image.imread(tmp_path / "two.png").shape[:2]
    h6, w6 = matplotlib.image.imread(tmp_path / "six.png").shape[:2]
    assert w2 < 0.75 * w6 and h2 < 0.6 * h6  # two columns and one row, not a 3 x 2 grid
    with pytest.raises(ValueError, match="no panels"):
        plot.plot_runs([a], str(tmp_path / "none.png"), panels=())
