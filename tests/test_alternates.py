"""Alternates: each is feasible against what the rest of the round leaves (checked by the
independent checker with the alternate swapped in), ranked, at most K per school."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from broker.check import check_assignment
from broker.explain.alternates import find_alternates
from broker.pipeline import run_round
from factories import client, scenario, supporter

ROOT = Path(__file__).resolve().parents[1]


def _swap(rnd, row) -> pd.DataFrame:
    """The round's outcomes with ``row``'s alternate as the client's lead."""
    from broker.units import DAY_SCALE, MONEY_SCALE

    p, cand = rnd.candidates.problem, rnd.candidates
    t = rnd.outcomes.copy()
    i = p.client_ids.index(row["client_id"])
    j = p.supporter_ids.index(row["alternate_id"])
    k = p.pair_index(i, j)
    hit = (t["client_id"] == row["client_id"]) & (t["role"] == "lead")
    t.loc[hit, "supporter_id"] = row["alternate_id"]
    t.loc[hit, "mode"] = cand.mode_ids[cand.pair_mode[k]]
    t.loc[hit, "days_per_week"] = p.pair_load[k] / DAY_SCALE
    t.loc[hit, "cost_gbp"] = p.pair_cost[k] / MONEY_SCALE
    t.loc[hit, "distance_km"] = float(p.pair_distance_km[k])
    return t


def _all_feasible(rnd, alts):
    for _, row in alts.iterrows():
        report = check_assignment(rnd.scenario, _swap(rnd, row))
        assert report.ok, (row["alternate_text"], report.violations)


def test_hand_checked_alternates():
    # C1 goes to the nearest supporter S1; S2 has room, S3 is full with C2 (need 2 of 2)
    s = scenario(
        [
            supporter("S1", x_km=1, capacity=2),
            supporter("S2", x_km=3, capacity=2),
            supporter("S3", x_km=2, capacity=2),
        ],
        [client("C1", need=1, priority=2), client("C2", x_km=4, need=2, priority=5)],
    )
    rnd = run_round(s)
    assert set(zip(rnd.outcomes["client_id"], rnd.outcomes["supporter_id"], strict=True)) >= {
        ("C1", "S1")
    }
    alts = find_alternates(rnd, 3)
    mine = alts[alts["client_id"] == "C1"]
    taken = set(rnd.outcomes.loc[rnd.outcomes["client_id"] == "C2", "supporter_id"])
    assert set(mine["alternate_id"]) == {"S2", "S3"} - taken
    assert (mine["distance_diff_km"] > 0).all()
    _all_feasible(rnd, alts)


@pytest.mark.parametrize("k", [1, 3])
def test_leicestershire_alternates_are_feasible_and_ranked(k):
    from broker.scenario import read_scenario

    rnd = run_round(read_scenario(ROOT / "scenarios" / "leicestershire"))
    alts = find_alternates(rnd, k)
    assert len(alts)
    assert alts.groupby("client_id")["rank"].max().max() <= k
    for _, g in alts.groupby("client_id"):
        assert list(g["rank"]) == list(range(1, len(g) + 1))
        assert g["points_diff"].is_monotonic_increasing
        assert (g["alternate_id"] != g["supporter_id"]).all()
    _all_feasible(rnd, alts)


def test_regional_alternates_are_feasible():
    from broker.generate.national import NationalOptions, build

    rnd = run_round(build(NationalOptions(seed=2, region="North East")), time_limit_s=3)
    alts = find_alternates(rnd, 3)
    assert len(alts)
    _all_feasible(rnd, alts)
