"""The labelled cases by kind (judge_cases.py): every case is decided as labelled through LUFFY's
v3 reward, and the set covers each kind with positives and near-miss negatives."""

import collections

import pytest
from judge_cases import CASES, KINDS

from luffy_jax.rewards import math_reward

_IDS = [f"{c.kind}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_case_is_decided_as_labelled(case):
    got = math_reward("</think>" + case.response, case.gold) == 1.0
    assert got == case.correct, (case.kind, case.response, case.gold)


def test_every_kind_has_positives_and_negatives():
    counts = collections.Counter((c.kind, c.correct) for c in CASES)
    assert len(KINDS) == 19
    for kind in KINDS:
        assert counts[(kind, True)] >= 10, kind
        assert counts[(kind, False)] >= 8, kind


def test_cases_are_distinct():
    keys = [(c.response, c.gold) for c in CASES]
    duplicates = [k for k, n in collections.Counter(keys).items() if n > 1]
    assert not duplicates  # a repeated pair would count twice (or carry two labels)
