"""The exact CP-SAT path closes knapsack bounds with HiGHS's proof (broker.solve.mipproof)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from hypothesis import given, settings

from broker.candidates import build_candidates
from broker.scenario import read_scenario
from broker.solve import solve
from broker.solve.cpsat import scaled
from broker.solve.mipproof import prove_level1
from factories import small_scenarios
from test_properties import brute_force_level1, candidates_or_skip

ROOT = Path(__file__).resolve().parents[1]


def _leicestershire_with_budget(tmp_path: Path, budget: int):
    folder = tmp_path / "lei"
    shutil.copytree(ROOT / "scenarios" / "leicestershire", folder)
    path = folder / "authorities.csv"
    text = path.read_text()
    assert ",250000" in text
    path.write_text(text.replace(",250000", f",{budget}"))
    return build_candidates(read_scenario(folder)).problem


def test_a_budget_bound_cpsat_alone_leaves_open_is_proven(tmp_path):
    # With the authority budget at 300,000 CP-SAT alone stops at 43 with bound 44
    # even after 14 s; HiGHS proves 43 at once.
    p = _leicestershire_with_budget(tmp_path, 300_000)
    r = solve(p, "cpsat", time_limit_s=20, work_limit=2.0, seed=0)
    assert r.level1.optimal and r.level1.value == r.level1.bound == 43
    assert r.status.name == "OPTIMAL"
    assert p.violations(np.asarray(r.pairs)) == []
    assert solve(p, "highs", time_limit_s=20).level1.value == 43


@settings(max_examples=40)
@given(small_scenarios(max_supporters=3, max_clients=6, rich=True))
def test_proof_matches_brute_force(s):
    p = candidates_or_skip(s).problem
    proof = prove_level1(scaled(p), 5.0)
    if proof is None:  # infeasible pins: no optimum to prove
        return
    assert scaled(p).violations(proof.pairs) == []
    assert proof.value == int(p.pair_priority[proof.pairs].sum()) == brute_force_level1(p)


def test_proof_before_and_beside_cpsat_agree_and_reproduce(tmp_path):
    """One worker: HiGHS's proof runs first; two: on the second core during level 1."""
    p = _leicestershire_with_budget(tmp_path, 300_000)
    before = solve(p, "cpsat", time_limit_s=20, work_limit=2.0, seed=0, workers=1)
    beside = [solve(p, "cpsat", time_limit_s=20, work_limit=2.0, seed=0) for _ in range(2)]
    for r in (before, *beside):
        assert r.level1.optimal and r.level1.value == 43
        assert p.violations(np.asarray(r.pairs)) == []
    assert np.array_equal(beside[0].assignment, beside[1].assignment)
    assert any("HiGHS proves" in m for m in beside[0].log)
