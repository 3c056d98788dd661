"""Max-flow upper bound on matched need (broker.spread.flow)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from broker.candidates import build_candidates
from broker.errors import InputError
from broker.problem import ProblemData
from broker.scenario import read_scenario
from broker.solve import solve
from broker.spread import area_bounds, coverage_bound
from factories import small_scenarios

ROOT = Path(__file__).resolve().parents[1]


def candidates_or_skip(s):
    try:
        return build_candidates(s)
    except InputError:
        assume(False)


def matched_centidays(p: ProblemData, pairs: np.ndarray) -> int:
    return int(p.pair_load[p.as_pair_indices(pairs)].sum())


def test_bound_on_a_hand_example():
    # two supporters of 1 day, three clients of 1 day all connected: at most 2 days
    p = ProblemData.create(
        client_ids=["a", "b", "c"],
        supporter_ids=["x", "y"],
        priority=np.array([1, 1, 1]),
        capacity=np.array([100, 100]),
        pair_client=np.array([0, 0, 1, 1, 2, 2]),
        pair_supporter=np.array([0, 1, 0, 1, 0, 1]),
        pair_load=np.array([100, 100, 100, 100, 100, 100]),
    )
    for method in ("scipy", "networkx"):
        b = coverage_bound(p, method)
        assert b.centidays == 200 and b.days == 2.0
        assert b.client_flow.sum() == 200 and (b.client_flow <= 100).all()
        assert b.need_centidays == 300 and b.supply_centidays == 200


def test_bound_relaxes_indivisibility():
    # one supporter of 1.5 days, two clients of 1 day: a solver matches 1, the bound says 1.5
    p = ProblemData.create(
        client_ids=["a", "b"],
        supporter_ids=["x"],
        priority=np.array([1, 1]),
        capacity=np.array([150]),
        pair_client=np.array([0, 1]),
        pair_supporter=np.array([0, 0]),
        pair_load=np.array([100, 100]),
    )
    assert coverage_bound(p).centidays == 150
    assert matched_centidays(p, solve(p, "highs").pairs) == 100


@settings(max_examples=30)
@given(small_scenarios())
def test_maxflow_bounds_every_solver(s):
    cand = candidates_or_skip(s)
    p = cand.problem
    bound = coverage_bound(p)
    for name in ("cpsat", "highs", "greedy"):
        r = solve(p, name, time_limit_s=5)
        if not r.status.has_solution and name != "greedy":
            continue
        assert matched_centidays(p, r.pairs) <= bound.centidays, name
    assert bound.centidays <= bound.need_in_reach_centidays
    assert bound.centidays <= bound.supply_centidays


@settings(max_examples=40)
@given(small_scenarios())
def test_scipy_and_networkx_agree_on_scenarios(s):
    p = candidates_or_skip(s).problem
    a, b = coverage_bound(p, "scipy"), coverage_bound(p, "networkx")
    assert a.centidays == b.centidays
    assert a.client_flow.sum() == a.centidays == b.client_flow.sum()


@given(st.integers(1, 8), st.integers(1, 10), st.integers(0, 2**31 - 1))
def test_scipy_and_networkx_agree_on_random_graphs(n_s, n_c, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_c, n_s)) < 0.4
    pc, ps = np.nonzero(mask)
    need = rng.integers(1, 300, size=n_c)
    p = ProblemData.create(
        client_ids=[f"c{i}" for i in range(n_c)],
        supporter_ids=[f"s{j}" for j in range(n_s)],
        priority=np.ones(n_c, int),
        capacity=rng.integers(0, 400, size=n_s),
        pair_client=pc,
        pair_supporter=ps,
        pair_load=need[pc],
    )
    a, b = coverage_bound(p, "scipy"), coverage_bound(p, "networkx")
    assert a.centidays == b.centidays
    flow = a.client_flow
    assert (flow <= np.where(np.bincount(pc, minlength=n_c) > 0, need, 0)).all()


@settings(max_examples=25)
@given(small_scenarios())
def test_area_bounds_bound_each_area(s):
    p = candidates_or_skip(s).problem
    codes, area = np.unique(s.clients["la_code"].to_numpy(str), return_inverse=True)
    per_area = area_bounds(p, area, len(codes))
    total = coverage_bound(p).centidays
    assert per_area.sum() >= total  # areas may each claim a shared supporter
    r = solve(p, "highs", time_limit_s=5)
    ks = r.pairs
    got = np.bincount(area[p.pair_client[ks]], weights=p.pair_load[ks], minlength=len(codes))
    assert (got <= per_area).all()


def test_unknown_method_is_rejected():
    p = ProblemData.create(
        client_ids=["a"],
        supporter_ids=["x"],
        priority=np.array([1]),
        capacity=np.array([1]),
        pair_client=np.array([0]),
        pair_supporter=np.array([0]),
        pair_load=np.array([1]),
    )
    with pytest.raises(ValueError, match="unknown max-flow method"):
        coverage_bound(p, "magic")


@pytest.mark.parametrize("name", ["england", "leicestershire"])
def test_bundled_scenarios_are_fast(name):
    folder = ROOT / "scenarios" / name
    if not (folder / "scenario.toml").is_file():
        pytest.skip(f"scenarios/{name} not present")
    p = build_candidates(read_scenario(folder)).problem
    t = time.perf_counter()
    a = coverage_bound(p, "scipy")
    assert time.perf_counter() - t < 5.0
    assert 0 < a.centidays <= a.need_in_reach_centidays
