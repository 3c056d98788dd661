"""The Python API: docs/api.md runs as written, and the API's promises hold."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import pytest

import broker

ROOT = Path(__file__).resolve().parents[1]
LEICS = ROOT / "scenarios" / "leicestershire"


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_api_docs_run(capsys):
    """Every ```python block of docs/api.md runs, in order, in one namespace."""
    blocks = _python_blocks(ROOT / "docs" / "api.md")
    assert len(blocks) >= 8
    namespace: dict[str, object] = {}
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        for k, code in enumerate(blocks):
            exec(compile(code, f"docs/api.md block {k + 1}", "exec"), namespace)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "schools matched" in out
    assert "clients.csv, row 2, column 'need_days'" in out  # the InputError example


@pytest.fixture(scope="module")
def leics():
    return broker.solve(broker.read_scenario(LEICS), fix_solves=6)


def test_solve_matches_the_pipeline(leics):
    from broker.pipeline import run_round
    from broker.scenario import read_scenario

    rnd = run_round(read_scenario(LEICS))
    assert leics.summary["priority_matched"] == rnd.check.priority_matched
    assert set(leics.fixes["client_id"]) == set(
        rnd.outcomes.loc[rnd.outcomes["status"] == "unmatched", "client_id"]
    )
    assert len(leics.alternates)
    assert list(leics.round.result.pairs) == list(rnd.result.pairs)
    assert leics.round.check.ok


def test_assignments_keep_checked_columns_first(leics, tmp_path):
    from broker.check import check_assignment
    from broker.report import ASSIGNMENT_COLUMNS

    t = leics.assignments
    assert list(t.columns[: len(ASSIGNMENT_COLUMNS)]) == ASSIGNMENT_COLUMNS
    assert check_assignment(leics.scenario, t).ok
    matched = t[t["status"] != "unmatched"]
    assert (matched["supporter_name"] != "").all()
    assert (t["client_name"] != "").all()
    assert set(t["la_name"]) == {"Leicestershire"}


def test_supporters_utilisation_adds_up(leics):
    s = leics.supporters
    t = leics.assignments
    served = t[t["supporter_id"] != ""].groupby("supporter_id").size()
    assert (s.set_index("supporter_id")["clients_served"].reindex(served.index) == served).all()
    assert (s["days_committed"] + s["spare_days"] - s["capacity_days"]).abs().max() < 1e-9
    days = t[t["supporter_id"] != ""].groupby("supporter_id")["days_per_week"].sum()
    got = s.set_index("supporter_id")["days_committed"].reindex(days.index)
    assert (got - days).abs().max() < 1e-9


def test_explain_and_unknown_client(leics):
    row = leics.assignments.iloc[0]
    e = leics.explain(row["client_id"])
    assert e.status == row["status"]
    with pytest.raises(KeyError):
        leics.explain("no such client")


def test_plot_draws_on_the_given_axes(leics):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    assert leics.plot(ax=ax) is ax
    assert len(ax.collections) >= 3
    texts = [t.get_text() for t in ax.texts]
    assert texts.count("authority_budget") == 3  # each unmatched school labelled
    assert "10 km" in texts  # the scale bar
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(label.startswith("filled: full") for label in labels)
    plt.close(fig)


def test_round_trip_of_read_tables():
    s = broker.read_scenario(LEICS)
    t = broker.Scenario.from_frames(
        s.config, s.supporters, s.clients, s.authorities, s.conflicts, s.pinned
    )
    for name in ("supporters", "clients", "authorities", "conflicts", "pinned"):
        a, b = getattr(s, name), getattr(t, name)
        assert list(a.columns) == list(b.columns), name
        pd.testing.assert_frame_equal(a.astype(str), b.astype(str), obj=name)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: {"supporters": {"x": 1}}, "cannot make a table of a dict"),
        (lambda s: {"clients": "clients.csv"}, "cannot make a table of a str"),
        (lambda s: {"config": 3}, "expected a broker.scenario.Config"),
        (
            lambda s: {"clients": s.clients.drop(columns=["need_days"])},
            "missing required column(s) need_days",
        ),
    ],
)
def test_from_frames_errors_are_input_errors(change, message):
    s = broker.read_scenario(LEICS)
    args = {"config": s.config, "supporters": s.supporters, "clients": s.clients}
    args.update(change(s))
    with pytest.raises(broker.InputError, match=re.escape(message)):
        broker.Scenario.from_frames(args["config"], args["supporters"], args["clients"])
