"""Properties of fixes and alternates on small generated scenarios (every hard rule in play:
terms, teams, budgets, networks, authority rules, pins): every alternate is feasible with the
rest of the round, and every fix found, applied and re-solved, matches its school."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from broker.errors import InputError
from broker.explain.alternates import find_alternates
from broker.explain.fixes import FixOptions, apply_fix, find_fixes, fix_from_row
from broker.pipeline import run_round
from factories import small_scenarios
from test_alternates import _all_feasible

OPTIONS = FixOptions(time_limit_s=5, per_client_solves=6, max_supporters=2)
SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _round(s):
    try:
        return run_round(s, time_limit_s=5)
    except InputError:  # pins no assignment can keep: not this test's subject
        return None


@SETTINGS
@given(small_scenarios())
def test_alternates_are_feasible(s):
    rnd = _round(s)
    if rnd is None:
        return
    alts = find_alternates(rnd, 2)
    assert (alts["rank"] <= 2).all()
    _all_feasible(rnd, alts)


@settings(SETTINGS, max_examples=10)
@given(small_scenarios(max_clients=5))
def test_every_fix_found_matches_its_school(s):
    rnd = _round(s)
    if rnd is None:
        return
    fixes = find_fixes(rnd, OPTIONS)
    unmatched = set(rnd.outcomes.loc[rnd.outcomes["status"] == "unmatched", "client_id"])
    assert set(fixes["client_id"]) == unmatched
    for _, row in fixes[fixes["fix_kind"] != "none"].iterrows():
        changed = run_round(apply_fix(s, fix_from_row(row)), time_limit_s=5)
        assert changed.check.ok
        t = changed.outcomes
        assert (t.loc[t["client_id"] == row["client_id"], "status"] != "unmatched").any(), row[
            "fix_text"
        ]
