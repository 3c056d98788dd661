"""The knapsack relaxation of level 1: exact knapsacks, valid bounds, feasible fills."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from broker.bench.instances import synthetic_national
from broker.problem import ProblemData
from broker.solve import cpsat, solve
from broker.solve.deadline import Deadline
from broker.solve.knapsack import (
    _capacity_rows,
    _Knapsacks,
    applies,
    knapsack_level1,
    prices_from_lp,
)
from broker.solve.lp import solve_lp
from broker.solve.model import is_complete, scaled
from factories import small_scenarios
from test_properties import brute_force_level1, candidates_or_skip


def _problem(loads, caps, pairs, priority):
    """Clients choose among supporters; ``pairs`` lists (client, supporter)."""
    pc = np.array([c for c, _ in pairs])
    ps = np.array([s for _, s in pairs])
    return ProblemData.create(
        client_ids=[f"c{i}" for i in range(len(priority))],
        supporter_ids=[f"s{j}" for j in range(len(caps))],
        priority=np.asarray(priority),
        capacity=np.asarray(caps),
        pair_client=pc,
        pair_supporter=ps,
        pair_load=np.asarray(loads)[pc],
        pair_cost=np.zeros(len(pairs), dtype=np.int64),
        pair_level2=np.zeros(len(pairs), dtype=np.int64),
        pair_distance_km=np.zeros(len(pairs)),
    )


@st.composite
def knapsack_cases(draw):
    n_clients = draw(st.integers(1, 7))
    n_sup = draw(st.integers(1, 3))
    loads = draw(st.lists(st.integers(1, 9), min_size=n_clients, max_size=n_clients))
    caps = draw(st.lists(st.integers(1, 12), min_size=n_sup, max_size=n_sup))
    prio = draw(st.lists(st.integers(1, 5), min_size=n_clients, max_size=n_clients))
    pairs = sorted(
        {
            (c, s)
            for c in range(n_clients)
            for s in range(n_sup)
            if draw(st.booleans()) or (c == 0 and s == 0)
        }
    )
    values = draw(
        st.lists(st.floats(-3, 6, allow_nan=False), min_size=len(pairs), max_size=len(pairs))
    )
    return _problem(loads, caps, pairs, prio), np.asarray(values)


@settings(max_examples=120, deadline=None)
@given(knapsack_cases())
def test_each_supporters_knapsack_is_solved_exactly(case):
    """Against enumeration: the total is the sum of the best subsets, the choice attains it."""
    p, value = case
    found = _capacity_rows(p)
    assert found is not None
    kp = _Knapsacks(p, *found)
    total, chosen = kp.solve(value)
    expect = 0.0
    for r in np.unique(found[0]):
        ks = np.flatnonzero(found[0] == r)
        best = 0.0
        for n in range(len(ks) + 1):
            for sub in itertools.combinations(ks, n):
                sub = list(sub)
                if found[1][sub].sum() <= p.limit_rhs[r]:
                    best = max(best, float(value[sub].sum()))
        expect += best
    assert abs(total - expect) < 1e-9
    assert abs(float(value[chosen].sum()) - total) < 1e-9
    for r in np.unique(found[0]):
        on = chosen[found[0][chosen] == r]
        assert found[1][on].sum() <= p.limit_rhs[r]


@settings(max_examples=60, deadline=None)
@given(small_scenarios(max_supporters=3, max_clients=6))
def test_bound_is_never_below_the_optimum_and_the_fill_is_feasible(s):
    """Required clients, budgets, any start: every L(u, mu) stays above the optimum."""
    p = scaled(candidates_or_skip(s).problem)
    assume(applies(p))
    truth = brute_force_level1(p)
    lp = solve_lp(p, p.pair_priority.astype(float), time_limit_s=5)
    start = prices_from_lp(p, lp.duals) if lp.duals is not None else None
    for begin in (start, None):
        r = knapsack_level1(p, Deadline.after(5), 0.0, start=begin, max_iterations=30)
        assert r is not None
        if truth >= 0:  # -1: no feasible solution at all, any bound holds
            assert r.bound >= truth - 1e-6
        if r.pairs is not None:
            assert p.violations(r.pairs) == [] and is_complete(p, r.pairs)
            assert r.value == int(p.pair_priority[r.pairs].sum()) <= max(truth, 0)


@settings(max_examples=60, deadline=None)
@given(small_scenarios(max_supporters=3, max_clients=6))
def test_teams_and_pins_are_left_to_the_other_methods(s):
    p = scaled(candidates_or_skip(s).problem)
    if np.any(p.team_size == 2) or len(p.pinned):
        assert not applies(p)
    if not applies(p):
        assert knapsack_level1(p, Deadline.after(1)) is None


def test_on_a_capacity_only_round_it_beats_rounding_the_lp_and_tightens_its_bound():
    """Synthetic capacity-only round at a quarter of national size (13,000 pairs)."""
    p = scaled(synthetic_national(0, 0.25))
    assert applies(p)
    lp = solve_lp(p, p.pair_priority.astype(float), time_limit_s=30)
    assert lp.optimal and lp.bound is not None and lp.duals is not None
    r = knapsack_level1(p, Deadline.after(60), 0.0, start=prices_from_lp(p, lp.duals))
    assert r is not None and r.pairs is not None
    assert p.violations(r.pairs) == []
    assert r.bound < lp.bound - 1.0  # the knapsacks cut off part of the LP's fractions
    greedy = solve(p, "greedy")
    assert r.value > greedy.level1.value


def test_the_portfolio_starts_from_it_where_the_lp_is_far_from_integral(monkeypatch):
    monkeypatch.setattr(cpsat, "EXACT_PAIR_LIMIT", 0)
    p = synthetic_national(1, 0.25)
    r = solve(p, "cpsat", time_limit_s=6, seed=0)
    assert any(m.startswith("knapsack relaxation") for m in r.log)
    assert p.violations(r.pairs) == []
    lp = solve_lp(scaled(p), scaled(p).pair_priority.astype(float), time_limit_s=30)
    assert lp.bound is not None and r.level1.bound <= lp.bound + 1e-6
