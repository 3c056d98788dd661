"""Each programme's own round, tested against the wording of its document.

Every generated scenario goes through the whole pipeline (which runs the
independent checker and raises if it fails), on seeds and areas other than the
bundled ones, and the bundled scenarios must be what their README's command makes.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from broker.check import check_assignment
from broker.cli import main
from broker.errors import InputError
from broker.generate.high_need import Thresholds, flag_high_need
from broker.generate.programmes import build
from broker.generate.programmes.common import ProgrammeOptions
from broker.high_need_share import high_need_share
from broker.pipeline import MatchingRound, run_round
from broker.rules import assess, load_programme
from broker.scenario import read_scenario, write_scenario

ROOT = Path(__file__).resolve().parents[1]
TIME_LIMIT = 5.0


def _round(programme: str, **options: object) -> MatchingRound:
    scenario = build(programme, ProgrammeOptions(**options))  # type: ignore[arg-type]
    return run_round(scenario, time_limit_s=TIME_LIMIT, seed=0)


def _pairs(rnd: MatchingRound) -> pd.DataFrame:
    """The chosen pairs with client, supporter, role, mode and funder."""
    cand, p = rnd.candidates, rnd.candidates.problem
    k = np.asarray(rnd.result.pairs, dtype=np.int64)
    sup = rnd.scenario.supporters.set_index("supporter_id")
    cli = rnd.scenario.clients.set_index("client_id")
    out = pd.DataFrame(
        {
            "client_id": np.asarray(p.client_ids, dtype=object)[p.pair_client[k]],
            "supporter_id": np.asarray(p.supporter_ids, dtype=object)[p.pair_supporter[k]],
            "role": p.pair_role[k],
            "mode": np.asarray(cand.mode_ids, dtype=object)[cand.pair_mode[k]],
            "funder": cand.pair_funder[k],
        }
    )
    out["kind"] = out["supporter_id"].map(sup["kind"])
    out["supporter_la"] = out["supporter_id"].map(sup["la_code"])
    out["supporter_network"] = out["supporter_id"].map(sup["network"])
    out["client_la"] = out["client_id"].map(cli["la_code"])
    out["client_network"] = out["client_id"].map(cli["network"])
    return out


@pytest.fixture(
    scope="module",
    params=[{"seed": 2, "la_codes": ("830",)}, {"seed": 3, "la_codes": ("888", "890")}],
)
def nle_round(request: pytest.FixtureRequest) -> MatchingRound:
    return _round("nle", **request.param)


@pytest.fixture(
    scope="module", params=[{"seed": 2, "la_codes": ("341",)}, {"seed": 3, "la_codes": ("352",)}]
)
def lt_round(request: pytest.FixtureRequest) -> MatchingRound:
    return _round("leading-together", **request.param)


@pytest.fixture(scope="module", params=[2, 3])
def leep_round(request: pytest.FixtureRequest) -> MatchingRound:
    return _round("leep", seed=request.param)


@pytest.fixture(
    scope="module", params=[{"seed": 2, "region": "North West"}, {"seed": 3, "region": "London"}]
)
def le_round(request: pytest.FixtureRequest) -> MatchingRound:
    return _round("leading-edge", **request.param)


# ------------------------------------------------------------------- NLE / LLE


def test_lle_is_never_an_executive_head(nle_round):
    """LLEs coach and mentor "rather than a significant leadership role"."""
    sup = nle_round.scenario.supporters
    lle = sup[sup["kind"] == "lle"]
    assert len(lle) and all(tuple(m) == ("coaching",) for m in lle["modes"])
    pairs = _pairs(nle_round)
    assert len(pairs)
    assert (pairs.loc[pairs["kind"] == "lle", "mode"] == "coaching").all()
    assert set(pairs.loc[pairs["mode"] == "executive_headship", "kind"]) <= {"nle"}


def test_a_supporter_row_offering_a_mode_its_kind_cannot_give_is_refused(tmp_path):
    scenario = build("nle", ProgrammeOptions(seed=2, la_codes=("830",)))
    folder = write_scenario(scenario, tmp_path / "s")
    sup = pd.read_csv(folder / "supporters.csv", dtype=str, keep_default_na=False)
    first_lle = sup.index[sup["kind"] == "lle"][0]
    if "modes" not in sup:
        sup["modes"] = ""
    sup.loc[first_lle, "modes"] = "executive_headship"
    sup.to_csv(folder / "supporters.csv", index=False)
    with pytest.raises(InputError, match="modes"):
        read_scenario(folder)


def test_nle_is_commissioned_by_the_clients_la_from_it_or_a_neighbour(nle_round):
    """Deployments are commissioned and paid by LAs, some across LA borders."""
    from broker.candidates.context import build_context
    from broker.candidates.stages import neighbour_pairs

    pairs = _pairs(nle_round)
    assert (pairs["funder"] == "la:" + pairs["client_la"]).all()
    adjacent = neighbour_pairs(build_context(nle_round.scenario))
    cross = pairs[pairs["supporter_la"] != pairs["client_la"]]
    assert 0 < len(cross) < len(pairs)
    assert all(
        (c, s) in adjacent for c, s in zip(cross["client_la"], cross["supporter_la"], strict=True)
    )
    rule = nle_round.scenario.authorities.set_index("la_code")["cross_la"]
    assert set(rule) <= {"neighbours", "own_only"}
    assert (cross["client_la"].map(rule) == "neighbours").all()


def test_some_nle_packages_need_a_team_led_by_two_headteachers():
    scenario = build("nle", ProgrammeOptions(seed=2, region="North East"))
    team = scenario.clients[scenario.clients["team_size"] == 2]
    assert len(team)
    assert all(tuple(m) == ("coaching",) for m in team["second_mode"])
    assert set(scenario.supporters["kind"]) <= {"nle", "lle"}  # every supporter is a head


# ------------------------------------------------------------ Leading Together


def test_leading_together_clients_all_satisfy_the_eligibility_rules(lt_round):
    cli = lt_round.scenario.clients
    facts = pd.DataFrame(
        {
            "urn": cli["urn"],
            "phase_group": cli["phase"],
            "ofsted_grade": cli["ofsted_grade"].astype(int),
            "idaci_rate": cli["idaci_rate"].astype(float),
            "aea_score": cli["aea_score"].astype(int),
            "at_risk": False,
            "completed_leading_together": False,
        }
    )
    verdict = assess(load_programme("leading_together"), facts)
    status = verdict["status"].astype(str)
    # grade 3 or 4: eligible; grade 2 "in certain cases": review, and nothing else
    assert ((status == "eligible") | ((status == "review") & (facts["ofsted_grade"] == 2))).all()
    assert (status[facts["ofsted_grade"] >= 3] == "eligible").all()


def test_leading_together_says_which_proxies_it_used_on_every_row(lt_round):
    cli = lt_round.scenario.clients
    assert cli["eligibility_proxies"].str.contains("idaci_rate = FSM share").all()
    assert cli["eligibility"].str.len().gt(0).all()
    assert cli["idaci_rate"].astype(float).between(0, 1).all()


def test_a_school_that_completed_leading_together_cannot_take_part_again():
    from broker.data import load_schools
    from broker.generate.programmes.leading_together import aea_proxy, facts
    from broker.generate.real import usable_schools

    schools = load_schools()
    area = usable_schools(schools[schools["la_code"] == "341"])
    f = facts(area, pd.Series(6, index=area.index), np.random.default_rng(0))
    verdict = assess(load_programme("leading_together"), f)
    done = f["completed_leading_together"].to_numpy(bool)
    assert done.any()
    assert (verdict["status"].astype(str)[done] == "not_eligible").all()
    assert all("not_completed_before" in t for t in verdict["failed"][done])
    scenario = build("leading-together", ProgrammeOptions(seed=0, la_codes=("341",)))
    assert not set(scenario.clients["urn"]) & set(area["urn"].astype(str)[done])
    assert aea_proxy(schools).between(1, 6).all()


def test_leading_together_is_free_to_schools(lt_round):
    pairs = _pairs(lt_round)
    assert len(pairs) and (pairs["funder"] == "programme:leading_together").all()
    assert lt_round.scenario.clients["budget_gbp"].isna().all()
    assert "leading_together" in lt_round.scenario.config.funder_budgets_gbp


def test_a_spent_programme_budget_is_named_as_such_not_as_an_authoritys(lt_round):
    codes = set(lt_round.outcomes["reason_code"].dropna()) - {""}
    assert "authority_budget" not in codes
    budget = lt_round.outcomes[lt_round.outcomes["reason_code"] == "programme_budget"]
    assert budget["reason"].str.contains("programme (leading_together)", regex=False).all()


# ------------------------------------------------------------------------ LEEP


def test_leep_outsiders_are_invited_only_at_a_penalty(leep_round):
    cfg = leep_round.scenario.config
    assert cfg.network_rule == "prefer" and cfg.weights.outside_network > 0
    soft = _pairs(leep_round)
    assert (soft["supporter_network"] != soft["client_network"]).any()  # invited outsiders
    hard = leep_round.scenario.replace(config=dataclasses.replace(cfg, network_rule="hard"))
    strict = run_round(hard, time_limit_s=TIME_LIMIT, seed=0)
    pairs = _pairs(strict)
    assert (pairs["supporter_network"] == pairs["client_network"]).all()
    # the soft rule never matches less need than the hard wall
    assert leep_round.check.priority_matched >= strict.check.priority_matched


def test_leep_invites_others_from_outside_leep_to_coach_only(leep_round):
    """A network may "invite colleagues from members of LEEP and others"."""
    sup = leep_round.scenario.supporters
    others = sup[sup["network"] == "outside LEEP"]
    assert len(others) and set(others["kind"]) <= {"nle", "lle"}
    assert set(others["la_code"]) == {"856"}  # Leicester City, a separate LA
    assert all(tuple(m) == ("coaching",) for m in others["modes"])
    leads = sup[sup["network"] != "outside LEEP"]
    assert set(leads["kind"]) == {"len_lead"}


def test_leep_is_paid_from_delegated_school_money(leep_round):
    pairs = _pairs(leep_round)
    assert len(pairs) and (pairs["funder"] == "school").all()
    assert leep_round.scenario.clients["budget_gbp"].notna().all()
    assert leep_round.scenario.authorities["budget_gbp"].isna().all()


@pytest.mark.parametrize("seed", [2, 3])
def test_no_school_isolated_matches_every_reachable_school_or_gives_a_reason(seed):
    plain = _round("leep", seed=seed)
    strict = _round("leep", seed=seed, no_school_isolated=True)
    assert strict.scenario.config.no_school_isolated
    matched = (strict.outcomes["status"] != "unmatched").sum()
    assert matched >= (plain.outcomes["status"] != "unmatched").sum()
    unmatched = strict.outcomes[strict.outcomes["status"] == "unmatched"]
    assert (unmatched["reason_code"] != "").all() and (unmatched["reason"] != "").all()
    assert strict.result.level1.optimal


# --------------------------------------------------------------- Leading Edge


def test_leading_edge_costs_are_never_charged_to_an_la_budget(le_round):
    pairs = _pairs(le_round)
    assert len(pairs) and (pairs["funder"] == "school").all()
    assert not pairs["funder"].str.startswith("la:").any()
    assert le_round.scenario.authorities["budget_gbp"].isna().all()


def test_leading_edge_partners_have_the_focus_a_member_seeks(le_round):
    pairs = _pairs(le_round)
    sup = le_round.scenario.supporters.set_index("supporter_id")
    cli = le_round.scenario.clients.set_index("client_id")
    for c, s in zip(pairs["client_id"], pairs["supporter_id"], strict=True):
        assert set(cli.at[c, "must"]) <= set(sup.at[s, "expertise"])
    assert set(sup["kind"]) == {"leading_edge"}


# ------------------------------------------------------------- all programmes


@pytest.mark.parametrize("programme", ["nle", "leading-together", "leep", "leading-edge"])
def test_same_seed_same_scenario(programme):
    opts = {
        "leep": {},
        "nle": {"la_codes": ("830",)},
        "leading-edge": {"region": "North East"},
    }.get(programme, {"la_codes": ("341",)})
    a = build(programme, ProgrammeOptions(seed=5, **opts))  # type: ignore[arg-type]
    b = build(programme, ProgrammeOptions(seed=5, **opts))  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(a.clients, b.clients)
    pd.testing.assert_frame_equal(a.supporters, b.supporters)


@pytest.mark.parametrize(
    "folder,args",
    [
        ("nle", ["nle", "--region", "North East", "--seed", "1"]),
        ("leading-together", ["leading-together", "--region", "North East", "--seed", "1"]),
        ("leep", ["leep", "--seed", "1"]),
        ("leading-edge", ["leading-edge", "--region", "West Midlands", "--seed", "1"]),
    ],
)
def test_bundled_programme_scenarios_are_current_and_run(tmp_path, folder, args):
    out = tmp_path / folder
    assert main(["scenario", *args, "--out", str(out), "--quiet"]) == 0
    bundled = ROOT / "scenarios" / folder
    for f in ("clients.csv", "supporters.csv", "authorities.csv", "scenario.toml"):
        assert (out / f).read_text() == (bundled / f).read_text(), f
    assert f"broker scenario {' '.join(args[:1])}" in (bundled / "README.md").read_text()
    rnd = run_round(read_scenario(bundled), time_limit_s=TIME_LIMIT, seed=0)
    assert check_assignment(rnd.scenario, rnd.outcomes).ok


def test_leading_edge_needs_two_members(capsys):
    out = "/nonexistent/le"
    assert main(["scenario", "leading-edge", "--la", "341", "--seed", "5", "--out", out]) == 2
    assert "fewer than two Leading Edge member schools" in capsys.readouterr().err


def test_programme_rounds_refuse_scale(capsys):
    assert main(["scenario", "nle", "--scale", "2", "--out", "/nonexistent/x", "--quiet"]) == 2
    assert "--scale applies to england only" in capsys.readouterr().err


def test_leep_refuses_another_area(capsys):
    assert (
        main(["scenario", "leep", "--region", "London", "--out", "/nonexistent/x", "--quiet"]) == 2
    )
    assert "Leicestershire" in capsys.readouterr().err


# -------------------------------------------------------------------- high need


def test_high_need_flag_thresholds_by_hand():
    schools = pd.DataFrame(
        {
            "urn": [1, 2, 3, 4],
            "fsm_pct_spc_2023": [40.0, 10.0, np.nan, 10.0],
            "fsm_pct_gias_2024": [np.nan, np.nan, 36.0, 10.0],
            "idaci_decile_2019": [5, 2, 9, 8],
        }
    )
    clients = pd.DataFrame(
        {"urn": ["1", "2", "3", "4"], "easting": [0.0, 0, 0, 50_000], "northing": [0.0, 0, 0, 0]}
    )
    supporters = pd.DataFrame({"easting": [1_000.0], "northing": [0.0]})
    out = flag_high_need(clients, schools, supporters, Thresholds(0.35, 2, 15.0))
    assert out["high_need"].tolist() == [True, True, True, True]
    assert out["high_need_basis"].tolist() == [
        "FSM 40% >= 35%",
        "IDACI decile 2 <= 2",
        "FSM 36% >= 35%",
        "nearest supporter 49.0 km >= 15 km",
    ]
    out = flag_high_need(clients, schools, supporters, Thresholds(0.5, 1, 60.0))
    assert not out["high_need"].any() and (out["high_need_basis"] == "none").all()


def test_high_need_share_by_hand():
    clients = pd.DataFrame(
        {
            "client_id": ["a", "b", "c"],
            "need_days": [1.0, 2.0, 1.0],
            "priority": [3, 1, 2],
            "high_need": [True, False, True],
        }
    )
    s = high_need_share(clients, ["a", "b"])
    assert s == {
        "clients": 2,
        "matched": 1,
        "need_days": 2.0,
        "matched_need_days": 1.0,
        "share_of_matched_need": round(1 / 3, 4),
        "share_of_need": 0.5,
        "reach": 0.5,
        "priority_matched": 3,
    }
    assert high_need_share(clients.assign(high_need=False), ["a"]) is None


def test_run_summary_reports_the_high_need_share(tmp_path):
    import json

    out = tmp_path / "r"
    assert (
        main(
            [
                "run",
                str(ROOT / "scenarios" / "leep"),
                "--out",
                str(out),
                "--quiet",
                "--no-map",
                "--time-limit",
                "5",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["high_need"]["clients"] >= 1
    assert 0 <= summary["high_need"]["share_of_matched_need"] <= 1


def test_spread_reports_the_high_need_share_of_a_round(tmp_path, capsys):
    import json

    scen, run, out = ROOT / "scenarios" / "nle", tmp_path / "r", tmp_path / "s"
    args = ["--quiet", "--no-map", "--no-fixes", "--time-limit", "5"]
    assert main(["run", str(scen), "--out", str(run), *args]) == 0
    summary = json.loads((run / "summary.json").read_text())
    capsys.readouterr()
    assert (
        main(["spread", str(scen), "--round", str(run), "--out", str(out), "--no-maps", "--quiet"])
        == 0
    )
    assert "high-need schools:" in capsys.readouterr().out
    headline = json.loads((out / "headline.json").read_text())
    assert headline["round"]["high_need"] == summary["high_need"]


def test_need_exceeds_capacity_quotes_a_supporter_the_authority_allows():
    """The capacity reason counts only supporters left after the authority rule."""
    import re

    rnd = run_round(read_scenario(ROOT / "scenarios" / "nle"), time_limit_s=TIME_LIMIT, seed=0)
    rows = rnd.outcomes[rnd.outcomes["reason_code"] == "need_exceeds_capacity"]
    assert len(rows)
    for reason in rows["reason"]:
        need, most = map(float, re.findall(r"(\d+(?:\.\d+)?)", reason)[:2])
        assert most < need, reason
