"""The large-instance portfolio (bound process + LNS), forced onto small problems."""

from __future__ import annotations

import numpy as np
import pytest

from broker.candidates import build_candidates
from broker.check import check_assignment
from broker.explain import outcomes
from broker.solve import cpsat, solve
from broker.solve.cpsat import scaled
from broker.solve.lns import improve
from broker.solve.portfolio import lp_relaxation
from factories import client, scenario, supporter


def random_scenario(seed: int, n_clients: int = 60, n_supporters: int = 15, budgets: bool = True):
    rng = np.random.default_rng(seed)
    sups = [
        supporter(
            f"S{j}",
            x_km=float(rng.uniform(0, 50)),
            y_km=float(rng.uniform(0, 50)),
            capacity=float(rng.choice([1, 1.5, 2, 2.5])),
            rate=float(rng.choice([350, 500, 900])),
            la=str(rng.choice(["855", "856", "857"])),
        )
        for j in range(n_supporters)
    ]
    clis = [
        client(
            f"C{i}",
            x_km=float(rng.uniform(0, 50)),
            y_km=float(rng.uniform(0, 50)),
            need=float(rng.choice([0.5, 1, 1.5])),
            priority=int(rng.integers(1, 6)),
            la=str(rng.choice(["855", "856", "857"])),
        )
        for i in range(n_clients)
    ]
    auth = (
        [{"la_code": c, "budget_gbp": 60_000} for c in ("855", "856", "857")] if budgets else None
    )
    return scenario(sups, clis, authorities=auth, max_distance_km=20)


@pytest.fixture
def force_portfolio(monkeypatch):
    monkeypatch.setattr(cpsat, "EXACT_PAIR_LIMIT", 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_portfolio_solution_is_feasible_and_near_exact(force_portfolio, seed):
    s = random_scenario(seed)
    cand = build_candidates(s)
    r = solve(cand.problem, "cpsat", time_limit_s=3, seed=seed)
    assert r.params["strategy"] == "portfolio"
    report = check_assignment(s, outcomes(s, cand, r))
    assert report.ok, report.violations
    assert report.priority_matched == r.level1.value <= r.level1.bound
    exact = solve(cand.problem, "highs", time_limit_s=30)
    assert exact.level1.optimal
    assert r.level1.bound >= exact.level1.value  # the bound is valid
    assert r.level1.value >= 0.9 * exact.level1.value


def test_portfolio_is_deterministic(force_portfolio):
    p = build_candidates(random_scenario(5)).problem
    # the work limit binds well before the wall clock, so load cannot change the result
    a = solve(p, "cpsat", time_limit_s=30, work_limit=2, seed=4)
    b = solve(p, "cpsat", time_limit_s=30, work_limit=2, seed=4)
    assert np.array_equal(a.assignment, b.assignment)
    assert a.stopped_by in ("optimal", "work_limit")


def test_lns_never_worsens_and_keeps_level1_in_level2():
    p = scaled(build_candidates(random_scenario(7)).problem)
    start = np.zeros(0, dtype=np.int64)  # nobody matched
    k1, st = improve(p, start, level=1, work_limit=2.0, time_limit_s=10, seed=0)
    assert p.violations(k1) == []
    v1 = int(p.pair_priority[k1].sum())
    assert v1 > 0 and st.improvements > 0
    k2, _ = improve(p, k1, level=2, work_limit=2.0, time_limit_s=10, seed=0)
    assert p.violations(k2) == []
    assert int(p.pair_priority[k2].sum()) >= v1
    assert int(p.pair_level2[k2].sum()) <= int(p.pair_level2[k1].sum())


def test_scaling_is_exact():
    p = build_candidates(random_scenario(3)).problem
    q = scaled(p)
    assert np.any(q.limit_amount < p.limit_amount)  # something was scaled
    for r in range(p.n_limits):
        on = p.limit_row == r
        if not on.any():
            continue
        g = int(np.gcd.reduce(p.limit_amount[on]))
        assert np.array_equal(q.limit_amount[on] * g, p.limit_amount[on])  # exact division
        # the constraint holds on the scaled problem iff it holds on the original
        for total in (q.limit_rhs[r] * g, q.limit_rhs[r] * g + g):
            assert (total <= p.limit_rhs[r]) == (total // g <= q.limit_rhs[r])
    lp = lp_relaxation(q)
    assert lp is not None and lp[0] >= solve(p, "highs", time_limit_s=30).level1.value - 1e-6


def test_an_lp_stopped_before_it_bounds_anything_says_so(force_portfolio, monkeypatch):
    """GLOP stopped by its time share returns the sum of priorities: the log must not
    present that as the LP's bound."""
    from broker.solve import portfolio

    p = build_candidates(random_scenario(6)).problem
    total = float(p.priority.sum())
    monkeypatch.setattr(
        portfolio, "lp_relaxation", lambda q, *a, **k: (total, np.zeros(q.n_pairs), None)
    )
    r = solve(p, "cpsat", time_limit_s=2, seed=0)
    lines = [line for line in r.log if line.startswith("LP relaxation")]
    assert len(lines) == 1 and "no bound below the sum of priorities" in lines[0], lines
    assert p.violations(r.pairs) == []


def test_bound_thread_that_proves_nothing_reports_no_bound():
    """Regression: an UNKNOWN CP-SAT stop reads best_objective_bound 0, not a bound."""
    from broker.solve.greedy import greedy_pairs
    from broker.solve.portfolio import _cpsat_worker

    p = scaled(build_candidates(random_scenario(11, n_clients=120, n_supporters=30)).problem)
    out = _cpsat_worker(p, 1, greedy_pairs(p), 0, 1e-9, 0.01, 0)
    if out.pairs is None and not out.infeasible:  # cp_model.UNKNOWN
        assert out.bound is None


@pytest.mark.parametrize("seed", [3, 4])
def test_portfolio_bound_never_below_a_proven_optimum(monkeypatch, seed):
    # starve the bound process so that it may stop before proving anything
    from broker.solve import portfolio

    monkeypatch.setattr(cpsat, "EXACT_PAIR_LIMIT", 0)
    monkeypatch.setattr(portfolio, "WALL_SAFETY", 0.05)
    p = build_candidates(random_scenario(seed, n_clients=80)).problem
    r = solve(p, "cpsat", time_limit_s=1, seed=0)
    exact = solve(p, "highs", time_limit_s=30)
    assert exact.level1.optimal
    assert r.level1.bound >= exact.level1.value
    assert not r.level1.optimal or r.level1.value == exact.level1.value


def test_exact_path_twins_are_reproducible_and_bounds_valid():
    """From TWIN_MIN_PAIRS pairs the exact path races two seeded searches on two cores."""
    from pathlib import Path

    from broker.bench.gap import read_gap_problem, to_problem

    gap = Path(__file__).resolve().parents[1] / "benchmarks" / "instances" / "gap" / "gapa.txt"
    p = to_problem(read_gap_problem(gap, 6))  # 20 agents x 200 jobs, optimum 2339
    assert p.n_pairs >= cpsat.TWIN_MIN_PAIRS
    # an explicit work limit asks for reproducibility: the exact path, not the race
    a = solve(p, "cpsat", time_limit_s=10, work_limit=5, seed=2)
    b = solve(p, "cpsat", time_limit_s=10, work_limit=5, seed=2)
    assert a.params["twins"] == [2, 3]
    assert np.array_equal(a.assignment, b.assignment)
    assert a.level2.bound <= 2339 <= a.level2.value
    single = solve(p, "cpsat", time_limit_s=10, work_limit=5, seed=2, workers=1)
    assert "twins" not in single.params
