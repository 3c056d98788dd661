"""Tiny scenarios whose optimal answers are worked out by hand."""

import numpy as np
import pytest

from broker.candidates import build_candidates
from broker.pipeline import run_round
from broker.solve import SolveStatus, solve
from factories import client, scenario, supporter

EXACT = ["cpsat", "highs"]


def assigned(rnd):
    t = rnd.outcomes
    return dict(zip(t["client_id"], t["supporter_id"], strict=True))


@pytest.mark.parametrize("solver", EXACT)
def test_capacity_forces_choice_of_higher_priority(solver):
    # S1 has 2 days: it can take C_hi (1.5 days, priority 5) or C_lo (1 day, priority 3), not both.
    s = scenario(
        [supporter("S1", capacity=2)],
        [client("C_hi", need=1.5, priority=5, x_km=1), client("C_lo", need=1, priority=3)],
    )
    rnd = run_round(s, solver=solver, time_limit_s=5)
    assert assigned(rnd) == {"C_hi": "S1", "C_lo": ""}
    assert rnd.result.level1.value == 5 and rnd.result.status is SolveStatus.OPTIMAL
    reason = rnd.outcomes.set_index("client_id").loc["C_lo"]
    assert reason["reason_code"] == "supporters_full"


@pytest.mark.parametrize("solver", EXACT)
def test_two_small_beat_one_large(solver):
    # Priorities 3 + 3 (needs 1 + 1) beat 5 (need 2) on a 2-day supporter.
    s = scenario(
        [supporter("S1", capacity=2)],
        [
            client("A", need=2, priority=5),
            client("B", need=1, priority=3),
            client("C", need=1, priority=3),
        ],
    )
    rnd = run_round(s, solver=solver, time_limit_s=5)
    assert assigned(rnd) == {"A": "", "B": "S1", "C": "S1"}
    assert rnd.result.level1.value == 6
    why = rnd.outcomes.set_index("client_id").loc["A", "reason"]
    assert "lower-priority" in why


@pytest.mark.parametrize("solver", EXACT)
def test_level2_prefers_cheaper_then_nearer(solver):
    # Same priority either way; S_cheap costs 300/day, S_dear 600/day, both in reach.
    s = scenario(
        [supporter("S_dear", rate=600, x_km=1), supporter("S_cheap", rate=300, x_km=5)],
        [client("C", need=1)],
    )
    rnd = run_round(s, solver=solver, time_limit_s=5)
    assert assigned(rnd) == {"C": "S_cheap"}
    # 1 day x 39 weeks x £300
    assert rnd.outcomes["cost_gbp"].iat[0] == pytest.approx(11_700.0)
    # level 2 = 11.7 points of cost + 5 km
    assert rnd.result.level2.value == 16_700


@pytest.mark.parametrize("solver", EXACT)
def test_distance_rule_and_supporter_override(solver):
    s = scenario(
        [supporter("S_far", x_km=50, max_distance_km=60), supporter("S_short", x_km=45)],
        [client("C")],
        max_distance_km=40,
    )
    rnd = run_round(s, solver=solver, time_limit_s=5)
    assert assigned(rnd) == {"C": "S_far"}


def test_no_supporter_in_reach_reason_names_distance():
    s = scenario([supporter("S", x_km=55)], [client("C")], max_distance_km=40)
    rnd = run_round(s, time_limit_s=5)
    row = rnd.outcomes.iloc[0]
    assert row["reason_code"] == "no_supporter_in_reach"
    assert "55.0 km" in row["reason"]


def test_cross_phase_only_when_allowed_and_penalised():
    sup = [supporter("S_sec", "secondary")]
    cli = [client("C", "primary")]
    none = run_round(scenario(sup, cli), time_limit_s=5)
    assert none.outcomes["reason_code"].iat[0] == "no_phase_match"
    allowed = run_round(scenario(sup, cli, allow_cross_phase=True), time_limit_s=5)
    assert assigned(allowed) == {"C": "S_sec"}
    # 19.5 points of cost + 0 km + 50 cross-phase penalty
    assert allowed.result.level2.value == 19_500 + 50_000
    flagged = scenario([supporter("S_sec", "secondary", cross_phase=True)], cli)
    assert assigned(run_round(flagged, time_limit_s=5)) == {"C": "S_sec"}


def test_cross_phase_loses_to_same_phase_on_level2():
    s = scenario(
        [supporter("S_sec", "secondary", x_km=1), supporter("S_pri", "primary", x_km=20)],
        [client("C", "primary")],
        allow_cross_phase=True,
    )
    assert assigned(run_round(s, time_limit_s=5)) == {"C": "S_pri"}


def test_authority_rules():
    sups = [supporter("S_own", la="855", x_km=20), supporter("S_other", la="856", x_km=1)]
    cli = [client("C", la="855")]
    own = scenario(sups, cli, authorities=[{"la_code": "855", "cross_la": "own_only"}])
    assert assigned(run_round(own, time_limit_s=5)) == {"C": "S_own"}
    # prefer_own: the other LA costs a 25-point penalty, more than 19 km extra distance
    pref = scenario(sups, cli, authorities=[{"la_code": "855", "cross_la": "prefer_own"}])
    assert assigned(run_round(pref, time_limit_s=5)) == {"C": "S_own"}
    allow = scenario(sups, cli)
    assert assigned(run_round(allow, time_limit_s=5)) == {"C": "S_other"}
    only_other = scenario([sups[1]], cli, authorities=[{"la_code": "855", "cross_la": "own_only"}])
    row = run_round(only_other, time_limit_s=5).outcomes.iloc[0]
    assert row["reason_code"] == "authority_rule"


def test_neighbours_rule_uses_listed_adjacency():
    sups = [supporter("S_adj", la="856", x_km=1), supporter("S_far_la", la="860", x_km=0.5)]
    cli = [client("C", la="855")]
    s = scenario(
        sups, cli, authorities=[{"la_code": "855", "cross_la": "neighbours", "neighbours": "856"}]
    )
    assert assigned(run_round(s, time_limit_s=5)) == {"C": "S_adj"}


def test_conflict_and_self_pairing_excluded():
    sups = [supporter("S1", x_km=1, urn="100"), supporter("S2", x_km=10)]
    cli = [client("C", urn="100")]
    assert assigned(run_round(scenario(sups, cli), time_limit_s=5)) == {"C": "S2"}
    rnd = run_round(scenario(sups, cli, conflicts=[("C", "S2")]), time_limit_s=5)
    assert rnd.outcomes["reason_code"].iat[0] == "only_conflicting"


def test_pinned_pair_kept_even_when_worse():
    s = scenario(
        [supporter("S_near", x_km=1), supporter("S_far", x_km=30)],
        [client("C")],
        pinned=[("C", "S_far")],
    )
    rnd = run_round(s, time_limit_s=5)
    assert assigned(rnd) == {"C": "S_far"}
    assert rnd.outcomes["status"].iat[0] == "pinned"


def test_budgets_bind():
    # each package: 1 day x 39 weeks x £500 = £19,500
    sups = [supporter("S1", capacity=5)]
    clis = [client(f"C{i}", priority=1) for i in range(3)]
    rnd = run_round(scenario(sups, clis, programme_budget_gbp=40_000), time_limit_s=5)
    assert rnd.result.level1.value == 2
    assert set(rnd.outcomes["reason_code"]) == {"", "programme_budget"}
    la = run_round(
        scenario(sups, clis, authorities=[{"la_code": "855", "budget_gbp": 19_500}]), time_limit_s=5
    )
    assert la.result.level1.value == 1  # exactly one package fits the budget
    own = run_round(scenario(sups, [client("C", budget_gbp=19_499.99)]), time_limit_s=5)
    assert own.outcomes["reason_code"].iat[0] == "over_budget"


def test_need_exceeds_capacity_reason():
    rnd = run_round(scenario([supporter("S", capacity=1)], [client("C", need=2.5)]), time_limit_s=5)
    row = rnd.outcomes.iloc[0]
    assert row["reason_code"] == "need_exceeds_capacity" and "2.5" in row["reason"]


def test_network_rule():
    s = scenario([supporter("S", network="north")], [client("C", network="south")])
    assert run_round(s, time_limit_s=5).outcomes["reason_code"].iat[0] == "outside_network"
    s2 = scenario([supporter("S", network="north")], [client("C", network="north")])
    assert assigned(run_round(s2, time_limit_s=5)) == {"C": "S"}


def test_greedy_is_feasible_but_can_be_beaten():
    s = scenario(
        [supporter("S1", capacity=2)],
        [
            client("A", need=2, priority=5),
            client("B", need=1, priority=3),
            client("C", need=1, priority=3),
        ],
    )
    p = build_candidates(s).problem
    g = solve(p, "greedy")
    assert g.level1.value == 5 and not g.level1.optimal
    assert solve(p, "cpsat", time_limit_s=5).level1.value == 6


def test_problem_arrays_are_read_only():
    p = build_candidates(scenario([supporter("S")], [client("C")])).problem
    with pytest.raises(ValueError):
        p.capacity[0] = 0
    assert np.all(np.diff(p.pair_client) >= 0)


def test_checker_refuses_a_client_both_unmatched_and_matched_in_either_order():
    import pandas as pd

    from broker.check import check_assignment

    s = scenario([supporter("S1", capacity=2)], [client("C1", need=1, priority=1)])
    for rows in ([("C1", ""), ("C1", "S1")], [("C1", "S1"), ("C1", "")]):
        report = check_assignment(s, pd.DataFrame(rows, columns=["client_id", "supporter_id"]))
        assert not report.ok, rows
        assert "rule 1: client C1 appears more than once" in report.violations
