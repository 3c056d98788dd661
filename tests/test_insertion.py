"""Insertion local search for level 1: hand-checked moves, feasibility, never worse."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from broker.bench.instances import synthetic_national
from broker.problem import LimitKind
from broker.solve import solve
from broker.solve.deadline import Deadline
from broker.solve.greedy import greedy_pairs
from broker.solve.insertion import applies, improve_level1
from broker.solve.model import scaled
from factories import small_scenarios
from test_knapsack import _problem, knapsack_cases
from test_properties import brute_force_level1, candidates_or_skip


def _pair(p, client: int, supporter: int) -> int:
    k = np.flatnonzero((p.pair_client == client) & (p.pair_supporter == supporter))
    assert len(k) == 1
    return int(k[0])


def _level1(p, pairs) -> int:
    return int(p.pair_priority[pairs].sum())


def test_a_client_shifts_to_make_room():
    """A (priority 1) fits at s0 or s1; B (priority 2) only at s0, which A fills."""
    p = _problem([60, 60], [100, 100], [(0, 0), (0, 1), (1, 0)], [1, 2])
    start = np.array([_pair(p, 0, 0)])
    out = improve_level1(p, start, Deadline.after(5))
    assert sorted(out.tolist()) == sorted([_pair(p, 0, 1), _pair(p, 1, 0)])
    assert p.violations(out) == [] and _level1(p, out) == 3


def test_a_lower_priority_client_gives_way_when_nothing_can_move():
    p = _problem([60, 60], [100], [(0, 0), (1, 0)], [1, 3])
    out = improve_level1(p, np.array([_pair(p, 0, 0)]), Deadline.after(5))
    assert out.tolist() == [_pair(p, 1, 0)] and _level1(p, out) == 3


def test_a_required_client_never_gives_way():
    p = _problem([60, 60], [100], [(0, 0), (1, 0)], [1, 3])
    p = p.replace(required=np.array([True, False]))
    start = np.array([_pair(p, 0, 0)])
    assert improve_level1(p, start, Deadline.after(5)).tolist() == start.tolist()


def test_an_equal_priority_client_does_not_replace_another():
    p = _problem([60, 60], [100], [(0, 0), (1, 0)], [2, 2])
    start = np.array([_pair(p, 0, 0)])
    assert improve_level1(p, start, Deadline.after(5)).tolist() == start.tolist()


@settings(max_examples=150, deadline=None)
@given(knapsack_cases(), st.integers(0, 2**16))
def test_feasible_never_worse_and_the_same_twice(case, salt):
    """From any feasible start: still feasible, level 1 never lower, deterministic,
    and no better than the optimum."""
    p, _ = case
    assume(applies(p))
    rng = np.random.default_rng(salt)
    order = rng.permutation(p.n_pairs)
    chosen: list[int] = []
    for k in order.tolist():  # a random feasible start
        if p.violations(np.array(sorted([*chosen, k]))) == []:
            chosen.append(k)
    start = np.array(sorted(chosen), dtype=np.int64)
    out = improve_level1(p, start, Deadline.after(5))
    assert p.violations(out) == []
    assert _level1(p, out) >= _level1(p, start)
    assert np.array_equal(out, improve_level1(p, start, Deadline.after(5)))
    assert _level1(p, out) <= brute_force_level1(p)


@settings(max_examples=60, deadline=None)
@given(small_scenarios(max_supporters=3, max_clients=6))
def test_rounds_with_budgets_teams_or_pins_are_left_alone(s):
    p = scaled(candidates_or_skip(s).problem)
    budget_used = np.any(p.limit_kind[p.limit_row] != LimitKind.CAPACITY)
    if np.any(p.team_size == 2) or len(p.pinned) or budget_used:
        assert not applies(p)
    if not applies(p):
        start = greedy_pairs(p, Deadline.after(1))
        assert np.array_equal(improve_level1(p, start, Deadline.after(1)), np.sort(start))


def test_on_a_capacity_only_round_it_improves_the_greedy_start():
    """Synthetic capacity-only round at a quarter of national size."""
    p = scaled(synthetic_national(0, 0.25))
    assert applies(p)
    greedy = greedy_pairs(p, Deadline.after(30))
    out = improve_level1(p, greedy, Deadline.after(30))
    assert p.violations(out) == []
    assert _level1(p, out) > _level1(p, greedy)


def test_the_portfolio_uses_it_and_its_answer_is_checked():
    p = synthetic_national(2, 0.25)
    r = solve(p, "cpsat", time_limit_s=4, seed=0)
    assert p.violations(r.pairs) == []
    assert r.level1.value >= solve(p, "greedy").level1.value
