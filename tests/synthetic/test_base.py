"""The synthetic base policy, trained for real as the quickstart trains it: above chance and below
the ceiling on its held-out in-distribution split, and it seldom works every step (its habit).

This is the one slow test of the package (about two to three minutes on 2 CPU cores: 300
pretraining steps of a 0.4 M-parameter model, then 200 sampled answers); a cached or hand-made
base would not test what the quickstart actually starts from."""

from luffy_jax.synthetic import FULL, prepare_files
from luffy_jax.synthetic.evaluation import accuracy, pretrain_base


def test_the_base_is_above_chance_and_below_the_ceiling(tmp_path):
    files = prepare_files(str(tmp_path / "data"), FULL)
    acc = accuracy(files, hf_model=pretrain_base(files, FULL), splits=("id",))
    # chance (guessing a digit) is 0.1: a guesser scores >= 0.15 on 200 problems ~1% of the time
    assert 0.15 <= acc["id"] <= 0.7, acc["id"]
    # the habit: short solutions, rarely the teacher's full working
    assert acc["id_worked"] <= 0.3, acc["id_worked"]
    assert acc["id_length"] < 30, acc["id_length"]
