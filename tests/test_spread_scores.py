"""Spread scores, graphs and inequality indices (broker.spread)."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from broker.candidates import STAGES, build_candidates
from broker.errors import InputError
from broker.pipeline import run_round
from broker.spread import (
    SolvedRound,
    client_facts,
    feasibility_graph,
    flow_graph,
    flow_table,
    gini,
    isolated_clients,
    la_graph,
    la_scores,
    region_scores,
    spread_indices,
    theil,
    theil_decomposition,
)
from factories import client, scenario, small_scenarios, supporter

STAGE_CODE = {
    "reach": "no_supporter_in_reach",
    "phase": "no_phase_match",
    "mode": "no_mode_match",
    "expertise": "no_expertise_match",
    "network": "outside_network",
    "authority": "authority_rule",
    "capacity": "need_exceeds_capacity",
    "conflict": "only_conflicting",
    "budget": "over_budget",
    "team": "no_second_in_reach",
}


def candidates_or_skip(s):
    try:
        return build_candidates(s)
    except InputError:
        assume(False)  # a pinned pair that breaks a rule is rejected by validation


@pytest.fixture(scope="module")
def two_las():
    """LA 855: two primary clients in reach; LA 856: one wrong-phase, one far away."""
    s = scenario(
        [
            supporter("S1", x_km=0, capacity=2.0, la="855"),
            supporter("S2", x_km=10, capacity=1.0, la="856"),
            supporter("S3", "secondary", y_km=5, capacity=1.5, la="855"),
        ],
        [
            client("C1", x_km=2, need=1.0, priority=3, la="855"),
            client("C2", x_km=5, need=0.5, priority=1, la="855"),
            client("C3", "special", need=1.0, priority=2, la="856"),
            client("C4", x_km=100, need=1.0, priority=1, la="856"),
        ],
        max_distance_km=30.0,
    )
    return s, build_candidates(s)


# --------------------------------------------------------------------------- scores


def test_la_scores_match_the_documented_definitions(two_las):
    s, cand = two_las
    t = la_scores(s, cand).set_index("la_code")
    a, b = t.loc["855"], t.loc["856"]
    assert (a["clients"], a["need_days"], a["priority_need"]) == (2, 1.5, 3.5)
    assert a["share_need_in_reach"] == 1.0 and a["isolated"] == 0
    # S1 reaches both clients but counts once; S3 (secondary) reaches none
    assert a["supporters_in_reach"] == 2 and a["capacity_days_in_reach"] == 3.0
    assert a["balance_in_reach"] == pytest.approx(3.0 / 1.5)
    assert a["balance_local"] == pytest.approx(3.5 / 1.5)
    assert a["maxflow_bound_days"] == 1.5
    assert b["share_need_in_reach"] == 0.0 and b["isolated"] == 2
    assert b["capacity_days_in_reach"] == 0.0 and b["balance_in_reach"] == 0.0
    assert b["balance_local"] == pytest.approx(0.5)
    assert b["main_isolation_reason"] in {"no_phase_match", "no_supporter_in_reach"}
    assert a["la_name"] == "Leicestershire" and a["region"] == "East Midlands"


def test_region_scores_count_each_supporter_once(two_las):
    s, cand = two_las
    r = region_scores(s, cand)
    assert list(r["region"]) == ["East Midlands"]
    row = r.iloc[0]
    assert row["need_days"] == 3.5 and row["need_days_in_reach"] == 1.5
    assert row["share_priority_need_in_reach"] == pytest.approx(3.5 / (3.5 + 2 + 1))
    assert row["capacity_days_in_reach"] == 3.0
    assert row["balance_in_reach"] == pytest.approx(3.0 / 3.5)


def test_isolated_clients_name_the_binding_rule(two_las):
    s, cand = two_las
    iso = isolated_clients(s, cand).set_index("client_id")
    assert sorted(iso.index) == ["C3", "C4"]
    assert iso.loc["C3", "binding_stage"] == "phase"
    assert iso.loc["C3", "reason_code"] == "no_phase_match"
    assert iso.loc["C4", "binding_stage"] == "reach"
    assert iso.loc["C4", "reason_code"] == "no_supporter_in_reach"
    assert "km" in iso.loc["C4", "reason"]
    # priority order: C3 (2) before C4 (1)
    assert list(isolated_clients(s, cand)["client_id"]) == ["C3", "C4"]


def test_round_scores_count_cross_la_deployments(two_las):
    s, cand = two_las
    p = cand.problem
    rnd = SolvedRound.from_pairs(p, p.assignment_to_pairs(np.array([1, 0, -1, -1])), True)  # C1<-S2
    t = la_scores(s, cand, rnd).set_index("la_code")
    a, b = t.loc["855"], t.loc["856"]
    assert a["clients_matched"] == 2 and a["need_days_matched"] == 1.5
    assert a["need_days_matched_cross_la"] == 1.0
    assert a["share_matched_cross_la"] == pytest.approx(1.0 / 1.5)
    assert a["days_imported"] == 1.0 and b["days_exported"] == 1.0
    assert np.isnan(b["share_matched_cross_la"])  # nothing matched in 856
    r = region_scores(s, cand, rnd).iloc[0]
    assert r["share_matched_cross_la"] == pytest.approx(1.0 / 1.5)
    assert r["share_matched_cross_region"] == 0.0
    facts = client_facts(s, cand, rnd).set_index("client_id")
    assert facts.loc["C1", "cross_la"] and not facts.loc["C2", "cross_la"]
    assert facts.loc["C1", "supporter_id"] == "S2" and facts.loc["C3", "supporter_id"] == ""


def test_spread_indices_over_las_with_need(two_las):
    s, cand = two_las
    idx = spread_indices(la_scores(s, cand))
    assert idx["las_with_need"] == 2
    # balances 2.0 and 0.0: Gini = |2-0| * 2 / (2 * 4 * 1) = 0.5
    assert idx["gini_balance_in_reach"] == pytest.approx(0.5)
    assert idx["theil_balance_in_reach"] == pytest.approx(np.log(2))
    assert idx["las_without_local_supply"] == 0


# --------------------------------------------------------------------------- neighbours


def _neighbour_scenario(supporter_las, neighbours="856"):
    sups = [supporter(f"S{k}", x_km=k, la=la) for k, la in enumerate(supporter_las)]
    auth = {"la_code": "855", "cross_la": "neighbours"}
    if neighbours is not None:
        auth["neighbours"] = neighbours
    return scenario(sups, [client("C1", la="855", x_km=1)], authorities=[auth])


def test_neighbours_rule_isolates_clients_with_authority_rule():
    s = _neighbour_scenario(["857"])  # 857 is not a listed neighbour of 855
    cand = build_candidates(s)
    iso = isolated_clients(s, cand)
    assert list(iso["reason_code"]) == ["authority_rule"]
    assert list(iso["binding_stage"]) == ["authority"]
    t = la_scores(s, cand).set_index("la_code")
    assert t.loc["855", "capacity_days_in_reach"] == 0.0
    assert t.loc["855", "main_isolation_reason"] == "authority_rule"
    g = la_graph(s)
    assert g.graph["source"] == "authorities.csv"
    assert g.has_edge("855", "856") and not g.has_edge("855", "857")


def test_neighbours_rule_admits_adjacent_supply_only():
    s = _neighbour_scenario(["857", "856"])
    cand = build_candidates(s)
    assert isolated_clients(s, cand).empty
    t = la_scores(s, cand).set_index("la_code")
    assert t.loc["855", "supporters_in_reach"] == 1  # the 856 supporter, not the 857 one
    assert t.loc["855", "capacity_days_in_reach"] == 2.0


def test_neighbours_rule_uses_bundled_boundaries_when_none_listed():
    # Rutland (857) borders Leicestershire (855) on the ONS boundaries; Camden (202) does not
    s = _neighbour_scenario(["202", "857"], neighbours=None)
    cand = build_candidates(s)
    t = la_scores(s, cand).set_index("la_code")
    assert t.loc["855", "supporters_in_reach"] == 1
    far = _neighbour_scenario(["202"], neighbours=None)
    assert list(isolated_clients(far, build_candidates(far))["reason_code"]) == ["authority_rule"]
    assert la_graph(far).graph["source"] == "ons_boundaries"


# --------------------------------------------------------------------------- properties


@settings(max_examples=40)
@given(small_scenarios())
def test_isolation_reasons_agree_with_candidate_rules(s):
    cand = candidates_or_skip(s)
    p = cand.problem
    facts = client_facts(s, cand)
    has_pairs = np.bincount(p.pair_client, minlength=p.n_clients) > 0
    assert (facts["in_reach"].to_numpy() == has_pairs).all()
    assert (has_pairs == (cand.stage_counts[:, -1] > 0)).all()
    iso = isolated_clients(s, cand)
    assert len(iso) == int((~has_pairs).sum())
    index = {c: i for i, c in enumerate(p.client_ids)}
    for row in iso.itertuples(index=False):
        counts = cand.stage_counts[index[row.client_id]]
        k = STAGES.index(row.binding_stage)
        assert counts[k] == 0 and (counts[:k] > 0).all()
        assert row.reason_code == STAGE_CODE[row.binding_stage]
    # the same codes as the round outputs give (CP-SAT: the greedy heuristic may fail
    # to keep every pin where an assignment exists)
    try:
        rnd = run_round(s, solver="cpsat", time_limit_s=10)
    except InputError as exc:  # pins no assignment keeps: no outcomes to compare
        assert "pinned" in str(exc), str(exc)
        return
    out = rnd.outcomes.set_index("client_id")
    for row in iso.itertuples(index=False):
        assert out.loc[row.client_id, "reason_code"] == row.reason_code


@settings(max_examples=40)
@given(small_scenarios())
def test_supply_in_reach_matches_brute_force(s):
    cand = candidates_or_skip(s)
    p = cand.problem
    t = la_scores(s, cand).set_index("la_code")
    cla = s.clients["la_code"].to_numpy()
    cap = p.capacity / 100  # days per week in the supporter's largest term
    for la in t.index:
        reach = {
            int(j) for i, j in zip(p.pair_client, p.pair_supporter, strict=True) if cla[i] == la
        }
        assert t.loc[la, "supporters_in_reach"] == len(reach)
        assert t.loc[la, "capacity_days_in_reach"] == pytest.approx(sum(cap[j] for j in reach))
    assert t["clients"].sum() == p.n_clients
    assert t["isolated"].sum() == int(
        (np.bincount(p.pair_client, minlength=p.n_clients) == 0).sum()
    )
    shares = t["share_need_in_reach"].dropna()
    assert ((shares >= 0) & (shares <= 1)).all()


# --------------------------------------------------------------------------- graphs


def test_feasibility_graph_has_exactly_the_candidate_pairs(two_las):
    s, cand = two_las
    p = cand.problem
    g = feasibility_graph(s, cand)
    assert g.number_of_nodes() == p.n_clients + p.n_supporters
    assert g.number_of_edges() == p.n_pairs
    assert nx.is_bipartite(g)
    expected = {
        (("client", p.client_ids[i]), ("supporter", p.supporter_ids[j]))
        for i, j in zip(p.pair_client, p.pair_supporter, strict=True)
    }
    got = {(u, v) if u[0] == "client" else (v, u) for u, v in g.edges}
    assert got == expected
    e = g.edges[("client", "C1"), ("supporter", "S1")]
    assert e["distance_km"] == pytest.approx(2.0) and e["days"] == 1.0
    assert e["cost_gbp"] == pytest.approx(1.0 * 39 * 500.0)
    assert g.degree[("client", "C3")] == 0  # isolated clients are still nodes


@settings(max_examples=30)
@given(small_scenarios())
def test_feasibility_graph_edges_equal_pairs_on_random_scenarios(s):
    cand = candidates_or_skip(s)
    g = feasibility_graph(s, cand)
    p = cand.problem
    people = set(zip(p.pair_client.tolist(), p.pair_supporter.tolist(), strict=True))
    assert g.number_of_edges() == len(people)  # one edge per (client, supporter)
    ks = [d[key] for _, _, d in g.edges(data=True) for key in ("pair", "second_pair") if key in d]
    assert sorted(ks) == list(range(p.n_pairs))


def test_flow_table_and_graph(two_las):
    s, cand = two_las
    a = cand.problem.assignment_to_pairs(np.array([1, 0, -1, -1]))
    t = flow_table(s, cand.problem, a)
    assert list(zip(t["from_la"], t["to_la"], t["days"], t["deployments"], strict=True)) == [
        ("856", "855", 1.0, 1),
        ("855", "855", 0.5, 1),
    ]
    assert list(t["cross_la"]) == [True, False]
    assert list(t["adjacent"]) == [True, False]  # Leicester borders Leicestershire
    g = flow_graph(s, cand.problem, a)
    assert g.has_edge("856", "855") and g.has_edge("855", "855")
    assert g.edges["856", "855"]["cost_gbp"] == pytest.approx(39 * 500.0)
    assert sum(d["days"] for _, _, d in g.edges(data=True)) == 1.5


def test_la_graph_defaults_to_bundled_boundaries():
    g = la_graph()
    assert g.number_of_nodes() == 153 and g.has_edge("855", "856")
    assert g.nodes["855"]["region"] == "East Midlands"


# --------------------------------------------------------------------------- inequality


def _gini_pairwise(x, w):
    big_w = w.sum()
    mu = (w * x).sum() / big_w
    pairs = list(zip(x, w, strict=True))
    return sum(wa * wb * abs(xa - xb) for (xa, wa), (xb, wb) in itertools.product(pairs, pairs)) / (
        2 * big_w**2 * mu
    )


@given(st.lists(st.tuples(st.floats(0, 100), st.integers(1, 5)), min_size=1, max_size=12))
def test_gini_equals_the_pairwise_formula(data):
    x = np.array([d[0] for d in data])
    w = np.array([d[1] for d in data], dtype=float)
    assume(x.sum() > 1e-6)
    assert gini(x, w) == pytest.approx(_gini_pairwise(x, w), abs=1e-9)
    assert gini(x) == pytest.approx(_gini_pairwise(x, np.ones_like(x)), abs=1e-9)


@given(
    st.lists(st.floats(0.01, 100), min_size=1, max_size=12),
    st.lists(st.integers(0, 2), min_size=12, max_size=12),
)
def test_theil_decomposition_adds_up(x, groups):
    x = np.array(x)
    g = np.array(groups[: len(x)])
    d = theil_decomposition(x, g)
    assert d["between"] + d["within"] == pytest.approx(d["total"], abs=1e-9)
    assert d["total"] == pytest.approx(theil(x), abs=1e-12)
    assert d["total"] >= 0 and d["within"] >= -1e-12


def test_inequality_edge_cases():
    assert gini(np.ones(5)) == 0.0 and theil(np.full(4, 3.0)) == 0.0
    assert gini(np.array([0, 0, 0, 1.0])) == pytest.approx(0.75)
    assert theil(np.array([0, 0, 0, 1.0])) == pytest.approx(np.log(4))
    assert np.isnan(gini(np.zeros(3))) and np.isnan(theil(np.array([])))
    with pytest.raises(ValueError):
        gini(np.array([-1.0, 2.0]))
