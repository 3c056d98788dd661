"""diff of two rounds (hand-checked figures) and recommend (room, displacement, rules)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from broker.errors import InputError
from broker.ledger.diff import RoundView, diff, format_diff, write_diff
from broker.ledger.recommend import format_recommendations, recommend
from broker.ledger.stages import Stage
from factories import client, scenario, supporter
from test_ledger_topup import dep, frame

S = Stage


def view(label: str, rows: list[tuple]) -> RoundView:
    cols = ["client_id", "supporter_id", "la_code", "priority", "days_per_week", "cost_gbp"]
    t = pd.DataFrame(rows, columns=cols)
    t["role"] = "lead"
    t["need_days"] = 1.0
    t["distance_km"] = [10.0 if s else math.nan for s in t["supporter_id"]]
    return RoundView(label, t)


def test_diff_kinds_and_authority_deltas(tmp_path):
    a = view(
        "A",
        [
            ("C1", "S1", "855", 3, 1.0, 1000.0),
            ("C2", "S2", "855", 2, 0.5, 500.0),
            ("C3", "", "856", 1, 0.0, 0.0),
            ("C4", "S4", "856", 1, 1.0, 800.0),
        ],
    )
    b = view(
        "B",
        [
            ("C1", "S1", "855", 3, 1.0, 1000.0),
            ("C2", "S9", "855", 2, 0.5, 700.0),
            ("C3", "S3", "856", 1, 1.5, 300.0),
            ("C4", "", "856", 1, 0.0, 0.0),
            ("C5", "S5", "857", 4, 1.0, 100.0),
        ],
    )
    d = diff(a, b)
    kinds = dict(zip(d.clients["client_id"], d.clients["change"], strict=True))
    assert kinds == {"C1": "same", "C2": "changed", "C3": "gained", "C4": "lost", "C5": "gained"}
    assert d.counts() == {"gained": 2, "lost": 1, "changed": 1, "same": 1}
    la = d.authorities.set_index("la_code")
    assert la.loc["855", ["matched_delta", "priority_delta", "cost_gbp_delta"]].tolist() == [
        0,
        0,
        200.0,
    ]
    assert la.loc["856", ["gained", "lost", "need_met_days_delta", "cost_gbp_delta"]].tolist() == [
        1,
        1,
        0.5,
        -500.0,
    ]
    assert la.loc["857", ["matched_before", "matched_after", "priority_after"]].tolist() == [
        0,
        1,
        4,
    ]
    assert la.loc["all", ["priority_before", "priority_after", "priority_delta"]].tolist() == [
        6,
        10,
        4,
    ]
    assert la.loc["all", "cost_gbp_delta"] == pytest.approx(-200.0)
    text = format_diff(d)
    assert "2 gained, 1 lost, 1 changed supporter, 1 unchanged" in text
    paths = write_diff(d, tmp_path)
    assert pd.read_csv(paths["diff"]).shape[0] == 5


def urgent_scenario(**kw):
    return scenario(
        [
            supporter("S0", capacity=1.0, rate=400),
            supporter("S1", capacity=1.0, x_km=1, rate=600),
            supporter("S2", capacity=2.0, x_km=50, rate=100),  # out of reach
        ],
        [
            client("C0", need=1.0, priority=1),
            client("C1", need=1.0, priority=4, x_km=1),
            client("U", need=1.0, priority=3, x_km=0.5),
        ],
        max_distance_km=10.0,
        authorities=[{"la_code": "855", "budget_gbp": kw.pop("budget", 1_000_000.0)}],
        **kw,
    )


def test_recommend_prefers_room_then_least_priority_displaced():
    sc = urgent_scenario()
    deps = frame(
        dep(1, "C0", "S0", S.PROPOSED, priority=1),  # S0 full with a priority-1 proposal
        dep(2, "C1", "S1", S.PROPOSED, priority=4),  # S1 full with a priority-4 proposal
    )
    r = recommend(sc, deps, "U", top=5)
    assert r.table["supporter_id"].tolist() == ["S0"]  # S1's proposal outranks U: kept
    assert "C0 (priority 1, proposed, #1)" in r.table["displaces"].iloc[0]
    deps2 = frame(dep(1, "C0", "S0", S.PROPOSED, priority=1))
    r2 = recommend(sc, deps2, "U", top=5)
    assert r2.table["supporter_id"].tolist() == ["S1", "S0"]  # room first, then displacement
    assert r2.table["displaces"].tolist()[0] == ""
    assert r2.table["days_free_after"].iloc[0] == 0.0


def test_recommend_never_displaces_committed_work_or_repeats_a_declined_pair():
    sc = urgent_scenario()
    deps = frame(
        dep(1, "C0", "S0", S.CONTRACTED, priority=1),
        dep(2, "U", "S1", S.DECLINED, priority=3),
    )
    r = recommend(sc, deps, "U", top=5)
    assert r.table.empty and r.considered == 1  # only S0 is allowed, and it is committed
    assert "none has room" in format_recommendations(r)


def test_recommend_frees_the_authority_budget_from_lower_priority_proposals():
    # U costs 1 x 39 x 400 = 15,600 with S0 and 23,400 with S1; 25,000 of 39,000 is held
    sc = urgent_scenario(budget=39_000.0)
    deps = frame(
        dep(1, "X1", "S2", S.PROPOSED, priority=1, cost=9_000),
        dep(2, "X2", "S2", S.COSTED, priority=2, cost=15_000),
        dep(3, "X3", "S2", S.CONTRACTED, priority=1, cost=1_000),
    )
    r = recommend(sc, deps, "U", top=5)
    got = r.table.set_index("supporter_id")["displaces"]
    assert r.table["supporter_id"].tolist() == ["S0", "S1"]
    assert got["S0"] == "X1 (priority 1, proposed, #1)"  # 14,000 + 9,000 >= 15,600
    assert got["S1"] == "X1 (priority 1, proposed, #1); X2 (priority 2, costed, #2)"
    assert "X3" not in " ".join(got)  # committed work is never displaced


def test_recommend_unknown_client():
    with pytest.raises(InputError, match="not in the scenario"):
        recommend(urgent_scenario(), frame(), "NOPE")
