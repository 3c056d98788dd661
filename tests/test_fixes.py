"""Counterfactual fixes: tiny hand-checked cases, then every fix found on Leicestershire and
on a generated regional scenario is applied and the round re-run: the school is matched."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from broker.explain.fixes import FixOptions, apply_fix, find_fixes, fix_from_row
from broker.pipeline import run_round
from factories import client, scenario, supporter

ROOT = Path(__file__).resolve().parents[1]
QUICK = FixOptions(time_limit_s=5, per_client_solves=20)


def _fixes(s, options=QUICK):
    rnd = run_round(s, time_limit_s=options.time_limit_s)
    return rnd, find_fixes(rnd, options)


def _matched_after(s, row, options=QUICK) -> bool:
    changed = run_round(apply_fix(s, fix_from_row(row)), time_limit_s=options.time_limit_s)
    t = changed.outcomes
    assert changed.check.ok
    return bool((t.loc[t["client_id"] == row["client_id"], "status"] != "unmatched").any())


def _one(table, kind):
    rows = table[table["fix_kind"] == kind]
    assert len(rows) == 1, table[["client_id", "fix_kind", "fix_text"]]
    return rows.iloc[0]


def test_reach_fix_is_the_distance_short_to_a_tenth_of_a_km():
    s = scenario(
        [supporter("S1", x_km=12.34, max_distance_km=10)],
        [client("C1")],
    )
    _, f = _fixes(s)
    row = _one(f, "reach")
    assert row["fix_target"] == "S1" and row["fix_amount"] == pytest.approx(2.4)
    assert row["fix_via"] == "S1"
    assert "from 10 km to 12.4 km" in row["fix_text"]
    assert _matched_after(s, row)


def test_capacity_fix_adds_the_days_missing():
    s = scenario(
        [supporter("S1", capacity=1.5)],
        [client("C1", need=1, priority=3), client("C2", need=1, priority=1)],
    )
    rnd, f = _fixes(s)
    assert set(rnd.outcomes.loc[rnd.outcomes["status"] == "unmatched", "client_id"]) == {"C2"}
    row = _one(f, "capacity")
    assert row["client_id"] == "C2" and row["fix_amount"] == pytest.approx(0.5)
    # displacing C1 (priority 3) for C2 (priority 1) is never offered
    assert "displace" not in set(f["fix_kind"])
    assert _matched_after(s, row)


def test_budget_fix_is_the_shortfall_to_three_figures():
    # a package costs 1 day x 39 weeks x £500 = £19,500; the authority has £15,000
    s = scenario(
        [supporter("S1", rate=500)],
        [client("C1", need=1)],
        authorities=[{"la_code": "855", "cross_la": "allow", "budget_gbp": 15_000}],
    )
    _, f = _fixes(s)
    row = _one(f, "authority_budget")
    assert row["fix_target"] == "855" and row["fix_amount"] == pytest.approx(4_500)
    assert _matched_after(s, row)


def test_cross_phase_and_cross_la_fixes_name_the_supporter():
    s = scenario(
        [supporter("S1", "secondary", x_km=1), supporter("S2", la="856", x_km=2)],
        [client("C1")],
        authorities=[{"la_code": "855", "cross_la": "own_only"}],
    )
    _, f = _fixes(s)
    phase, la = _one(f, "cross_phase"), _one(f, "cross_la")
    assert phase["fix_target"] == "S1" and la["fix_via"] == "S2"
    assert "cross_la = " in la["fix_text"]
    assert _matched_after(s, phase) and _matched_after(s, la)


def test_none_when_no_single_change_helps():
    s = scenario([supporter("S1")], [client("C1")], conflicts=[("C1", "S1")])
    _, f = _fixes(s)
    assert list(f["fix_kind"]) == ["none"]
    assert "no single change" in f["fix_text"].iat[0]
    assert math.isnan(f["fix_amount"].iat[0])


def test_out_of_time_is_said():
    s = scenario(
        [supporter("S1", x_km=12.34, max_distance_km=10)],
        [client("C1")],
    )
    _, f = _fixes(s, FixOptions(time_limit_s=5, per_client_solves=0))
    assert list(f["fix_kind"]) == ["none"]
    assert "within the limit" in f["fix_text"].iat[0]


def _apply_every_fix(s, options):
    rnd, f = _fixes(s, options)
    unmatched = set(rnd.outcomes.loc[rnd.outcomes["status"] == "unmatched", "client_id"])
    assert set(f["client_id"]) == unmatched  # every unmatched school has a row
    real = f[f["fix_kind"] != "none"]
    assert len(real)
    for _, row in real.iterrows():
        assert _matched_after(s, row, options), row["fix_text"]
    return f


def test_every_fix_on_leicestershire_matches_its_school():
    from broker.scenario import read_scenario

    s = read_scenario(ROOT / "scenarios" / "leicestershire")
    f = _apply_every_fix(s, FixOptions(time_limit_s=20, per_client_solves=20))
    assert "displace" in set(f["fix_kind"]) or "authority_budget" in set(f["fix_kind"])


def test_every_fix_on_a_generated_region_matches_its_school():
    from broker.generate.national import NationalOptions, build

    s = build(NationalOptions(seed=1, region="North East", budgets=False))
    f = _apply_every_fix(s, FixOptions(time_limit_s=5, per_client_solves=8))
    assert {"reach", "cross_phase"} & set(f["fix_kind"])


def test_spread_recruit_says_budget_binds(tmp_path, capsys):
    from broker.cli import main

    run = tmp_path / "run"
    leics = str(ROOT / "scenarios" / "leicestershire")
    assert main(["run", leics, "--out", str(run), "--quiet", "--no-map", "--no-fixes"]) == 0
    capsys.readouterr()
    argv = ["spread", leics, "--round", str(run), "--recruit", "2", "--quiet", "--no-maps"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "3 of the 3 unmatched clients already have a supporter in reach" in out
    assert "what binds is a budget for 3" in out


def test_no_search_when_the_round_is_not_proven_optimal():
    from dataclasses import replace

    from broker.solve.result import SolveStatus

    s = scenario([supporter("S1", x_km=12.34, max_distance_km=10)], [client("C1")])
    rnd = run_round(s)
    unproven = replace(rnd, result=replace(rnd.result, status=SolveStatus.FEASIBLE))
    f = find_fixes(unproven, QUICK)
    assert list(f["fix_kind"]) == ["none"] and list(f["solves"]) == [0]
    assert "not proven optimal" in f["fix_text"].iat[0]
