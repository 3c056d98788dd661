"""The Lagrangian level-1 bound: valid on every generated scenario, near the LP bound."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from broker.candidates import build_candidates
from broker.solve import cpsat, solve
from broker.solve.deadline import Deadline
from broker.solve.lagrange import lagrange_arm, limit_bound
from broker.solve.lp import solve_lp
from broker.solve.model import is_complete, scaled
from factories import small_scenarios
from test_portfolio import random_scenario
from test_properties import brute_force_level1, candidates_or_skip


@settings(max_examples=60, deadline=None)
@given(small_scenarios(max_supporters=3, max_clients=6))
def test_bound_is_never_below_the_optimum(s):
    """Teams, required clients, pins, budgets: every L(lam) stays above the true optimum."""
    p = scaled(candidates_or_skip(s).problem)
    truth = brute_force_level1(p)
    lb = limit_bound(p, p.pair_priority.astype(float), Deadline.after(5), lower=0)
    if truth >= 0:  # -1: no feasible solution at all, any bound holds
        assert lb.bound >= truth - 1e-6


def test_bound_reaches_the_lp_bound_on_a_budgeted_round():
    p = scaled(build_candidates(random_scenario(31, n_clients=120, n_supporters=30)).problem)
    lp = solve_lp(p, p.pair_priority.astype(float), time_limit_s=10)
    assert lp.optimal and lp.bound is not None
    lb = limit_bound(p, p.pair_priority.astype(float), Deadline.after(10), lower=0)
    trivial = float(p.priority.sum())
    assert lb.bound >= lp.bound - 1e-6  # never better than the LP (same relaxation)
    assert lb.bound <= lp.bound + 0.01 * trivial  # and close to it once converged
    assert not lb.clock  # converged, not stopped by the clock: reproducible


def test_arm_returns_a_feasible_solution_and_a_valid_bound():
    p = scaled(build_candidates(random_scenario(32, n_clients=120, n_supporters=30)).problem)
    exact = solve(p, "highs", time_limit_s=30)
    assert exact.level1.optimal
    a = lagrange_arm(p, wall=10, lower=0.0, work=50)
    assert a.pairs is not None and is_complete(p, a.pairs)
    assert p.violations(a.pairs) == []
    assert a.bound is not None and a.bound >= exact.level1.value - 1e-6
    assert int(p.pair_priority[a.pairs].sum()) <= exact.level1.value


@pytest.mark.parametrize("reproducible", [False, True])
def test_portfolio_uses_the_arm_above_the_lp_size(monkeypatch, reproducible):
    """Above GLOP's size: PDLP then the Lagrangian arm from its duals; a run that asks
    for reproducibility (explicit work limit) runs the Lagrangian bound in this process."""
    from broker.solve import portfolio

    monkeypatch.setattr(cpsat, "EXACT_PAIR_LIMIT", 0)
    monkeypatch.setattr(portfolio, "LP_MAX_PAIRS", 0)
    monkeypatch.setattr(portfolio, "HIGHS_MAX_PAIRS", 0)
    p = build_candidates(random_scenario(33, n_clients=80, n_supporters=20)).problem
    extra = {"work_limit": 4.0} if reproducible else {}
    r = solve(p, "cpsat", time_limit_s=4 if not reproducible else 30, seed=0, **extra)
    assert "lagrangian" in str(r.params["bound_thread"])
    first = "Lagrangian bound" if reproducible else "PDLP relaxation"
    assert any(m.startswith(first) for m in r.log)  # the start, in this process
    exact = solve(p, "highs", time_limit_s=30)
    assert r.level1.value <= exact.level1.value <= r.level1.bound
    assert r.level1.bound < int(p.priority.sum())  # better than the trivial bound
    assert p.violations(r.pairs) == []
    if not reproducible:
        assert np.isfinite(r.runtime_s) and r.runtime_s <= 4 + 1.0


def test_pdlp_bound_is_valid_when_it_stops_early_and_its_iterate_ranks_pairs():
    p = scaled(build_candidates(random_scenario(34, n_clients=120, n_supporters=30)).problem)
    exact = solve(p, "highs", time_limit_s=30)
    assert exact.level1.optimal
    glop = solve_lp(p, p.pair_priority.astype(float), time_limit_s=10)
    for limit in (0.05, 5.0):
        r = solve_lp(p, p.pair_priority.astype(float), time_limit_s=limit, method="pdlp")
        assert r.bound is not None and r.bound >= exact.level1.value - 1e-6
        assert r.bound >= glop.bound - 1e-6  # never better than the LP optimum
        assert r.x is not None and r.x.shape == (p.n_pairs,)
    assert r.bound <= glop.bound + 0.01 * float(p.priority.sum())  # close once it has time


def test_a_stop_ends_pdlp_at_once():
    """PDLP ignores OR-Tools' interrupt, so it runs in a child that a stop kills."""
    import signal
    import threading

    from broker.bench.instances import synthetic_national
    from broker.solve.portfolio import pdlp_relaxation
    from broker.solve.stop import StopToken

    p = scaled(synthetic_national(0, 2.0))  # about 110,000 pairs: PDLP needs seconds
    token = StopToken()
    threading.Timer(0.5, token.set, args=(signal.SIGINT,)).start()
    assert pdlp_relaxation(p, 60.0, token) is None  # killed: a finished PDLP would answer
    full = pdlp_relaxation(p, 60.0, StopToken())
    assert full is not None and full.bound is not None
    assert full.seconds > 1.0  # it did need longer than the stop gave it
