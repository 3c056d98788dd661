"""Supporter resilience: cheap estimates against a naive full re-solve (broker.spread)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings

from broker.candidates import build_candidates
from broker.errors import InputError
from broker.problem import ProblemData
from broker.solve import solve
from broker.spread import max_priority, resilience_naive, supporter_resilience
from factories import client, scenario, small_scenarios, supporter


def candidates_or_skip(s):
    try:
        return build_candidates(s)
    except InputError:
        assume(False)


def by_id(table):
    return table.set_index("supporter_id")


def check_against_naive(p: ProblemData, ks, level1_optimal, **kw):
    est = by_id(supporter_resilience(p, ks, level1_optimal=level1_optimal, **kw))
    ref = by_id(resilience_naive(p, ks))
    assert (ref["bound"] == "exact").all()
    for sid in p.supporter_ids:
        e, true = est.loc[sid], int(ref.loc[sid, "loss_estimate"])
        assert e["loss_estimate"] >= true, (sid, e["method"])
        if e["bound"] == "exact":
            assert e["loss_estimate"] == true, (sid, e["method"])
        assert e["loss_estimate"] <= e["priority_served"]
        assert e["priority_recovered"] == e["priority_served"] - e["loss_estimate"]
    return est


@settings(max_examples=30)
@given(small_scenarios(max_supporters=4, max_clients=7))
def test_estimates_bound_the_true_loss_after_an_optimal_round(s):
    p = candidates_or_skip(s).problem
    r = solve(p, "highs", time_limit_s=10)
    assume(r.level1.optimal)
    est = check_against_naive(p, r.pairs, True)
    assert set(est["method"]) <= {"unused", "greedy_reassign", "component_highs"}


@settings(max_examples=20)
@given(small_scenarios(max_supporters=4, max_clients=7))
def test_estimates_bound_the_true_loss_after_a_greedy_round(s):
    p = candidates_or_skip(s).problem
    r = solve(p, "greedy")
    est = check_against_naive(p, r.pairs, False)
    assert (est["bound"] == "upper_bound").all()  # nothing is exact without optimality


@settings(max_examples=15)
@given(small_scenarios(max_supporters=4, max_clients=7))
def test_neighbourhood_fallback_is_still_an_upper_bound(s):
    p = candidates_or_skip(s).problem
    r = solve(p, "highs", time_limit_s=10)
    assume(r.level1.optimal)
    est = check_against_naive(p, r.pairs, True, max_pairs=1, solver="cpsat")
    refined = est[est["method"].str.startswith("neighbourhood") & (est["loss_estimate"] > 0)]
    assert (refined["bound"] == "upper_bound").all()  # an estimate of 0 is exact


def _chain():
    """S1 serves C1 (nobody else can) and C2 (S2 can take it); S3 has room but no client."""
    s = scenario(
        [
            supporter("S1", x_km=0, capacity=2.0),
            supporter("S2", x_km=30, capacity=1.0),
            supporter("S3", x_km=60, capacity=1.0),
        ],
        [client("C1", x_km=-10, need=1.0, priority=5), client("C2", x_km=15, need=1.0, priority=2)],
        max_distance_km=20.0,
    )
    return build_candidates(s).problem


def test_hand_case_exact_losses():
    p = _chain()
    a = p.assignment_to_pairs(np.array([0, 0]))  # both with S1
    est = by_id(supporter_resilience(p, a, level1_optimal=True))
    s1 = est.loc["S1"]
    # C2 moves to S2, C1 has nowhere to go: loss 5, proven by the component re-solve
    assert (s1["priority_served"], s1["loss_estimate"], s1["priority_recovered"]) == (7, 5, 2)
    assert s1["bound"] == "exact" and s1["method"] == "component_highs"
    assert s1["local_stop"] == "optimal" and est.loc["S2", "local_stop"] == ""
    assert est.loc["S2", "method"] == "unused" and est.loc["S2", "loss_estimate"] == 0
    assert est.loc["S2", "bound"] == "exact"
    assert list(est.index[:1]) == ["S1"]  # sorted by loss
    assert est.loc["S1", "loss_share"] == pytest.approx(5 / 7)


def test_greedy_only_reports_upper_bounds_when_not_refined():
    p = _chain()
    est = by_id(
        supporter_resilience(
            p, p.assignment_to_pairs(np.array([0, 0])), level1_optimal=True, refine_top=0
        )
    )
    assert est.loc["S1", "method"] == "greedy_reassign"
    assert est.loc["S1", "loss_estimate"] == 5 and est.loc["S1", "bound"] == "upper_bound"


def test_local_resolve_beats_greedy_when_a_swap_is_needed():
    # S1 (cap 1) serves C1; C1 could go to S2, but S2 is full with C2, which could go to S3.
    s = scenario(
        [
            supporter("S1", x_km=0, capacity=1.0),
            supporter("S2", x_km=10, capacity=1.0),
            supporter("S3", x_km=25, capacity=1.0),
        ],
        [client("C1", x_km=3, need=1.0, priority=4), client("C2", x_km=17, need=1.0, priority=1)],
        max_distance_km=12.0,
    )
    p = build_candidates(s).problem
    a = p.assignment_to_pairs(np.array([0, 1]))
    greedy = by_id(supporter_resilience(p, a, level1_optimal=True, refine_top=0))
    assert greedy.loc["S1", "loss_estimate"] == 4  # greedy cannot move C2 out of the way
    est = by_id(supporter_resilience(p, a, level1_optimal=True))
    assert est.loc["S1", "loss_estimate"] == 0 and est.loc["S1", "bound"] == "exact"
    ref = by_id(resilience_naive(p, a))
    assert ref.loc["S1", "loss_estimate"] == 0


def test_max_priority_solvers_agree():
    p = _chain()
    assert max_priority(p, solver="highs") == (7, True, "optimal")
    assert max_priority(p, solver="cpsat") == (7, True, "optimal")
    assert max_priority(p, solver="highs", node_limit=1).value <= 7
    with pytest.raises(ValueError):
        max_priority(p, solver="magic")
