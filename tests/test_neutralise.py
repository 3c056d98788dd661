"""CSV outputs are safe to open in a spreadsheet, and broker reads its own outputs back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.cli import main
from broker.csvtext import FORMULA_TRIGGERS, neutralise, restore, write_csv
from broker.scenario import read_scenario, write_scenario
from factories import client, scenario, supporter

HOSTILE = [
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1",
    "\r=1",
    "'=already quoted",
    "''-x",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_cells_get_one_apostrophe(value):
    assert neutralise(value) == "'" + value
    assert restore(neutralise(value)) == value


@pytest.mark.parametrize("value", ["-3.5", "+2", "-1e-3", "12", ".5", "plain", "", "'", "O'Neil"])
def test_numbers_and_plain_text_are_unchanged(value):
    assert neutralise(value) == value
    assert restore(value) == value


@given(st.text(max_size=12))
def test_restore_undoes_neutralise(value):
    safe = neutralise(value)
    assert restore(safe) == value
    # what a spreadsheet sees never starts a formula, unless it is a plain number
    if safe[:1] in FORMULA_TRIGGERS:
        assert float(safe) == float(value)


def test_write_csv_neutralises_cells_and_header_but_not_numbers(tmp_path):
    frame = pd.DataFrame({"=h": ["=x", "ok"], "n": [-3.5, 2.0], "t": ["-3.5", "@y"]})
    path = tmp_path / "t.csv"
    write_csv(frame, path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows == [["'=h", "n", "t"], ["'=x", "-3.5", "-3.5"], ["ok", "2.0", "'@y"]]


# --------------------------------------------------------------------------- round trips

# ids and names as a spreadsheet user may type them: any text without surrounding
# whitespace (which every reader strips), including formula-like ones
_texts = st.one_of(
    st.sampled_from(HOSTILE[:4] + ["'=x", "-", "@", "Zoë", "a\u2028b", 'q"uote', "x,y;z"]),
    st.text(min_size=1, max_size=10),
).filter(lambda s: s == s.strip() and s != "")


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=st.lists(_texts, min_size=3, max_size=3, unique=True),
    names=st.lists(_texts, min_size=2, max_size=2),
    extra=_texts,
)
def test_write_then_read_scenario_gives_identical_ids_and_names(
    tmp_path_factory, ids, names, extra
):
    s = scenario(
        [supporter(ids[0], name=names[0], notes=extra)],
        [client(ids[1], name=names[1]), client(ids[2])],
        pinned=[(ids[1], ids[0])],
        name=names[0],
    )
    folder = write_scenario(s, tmp_path_factory.mktemp("rt") / "s")
    back = read_scenario(folder)
    assert list(back.supporters["supporter_id"]) == [ids[0]]
    assert list(back.clients["client_id"]) == ids[1:]
    assert back.supporters["name"].iat[0] == names[0]
    assert back.clients["name"].iat[0] == names[1]
    assert back.supporters["notes"].iat[0] == extra  # extra columns pass through
    assert list(back.pinned["client_id"]) == [ids[1]]
    assert back.name == names[0]


def _hostile_scenario_folder(root: Path) -> Path:
    s = scenario(
        [supporter("=cmd|' /C calc'!A0", name="@evil", capacity=2), supporter("+S2", x_km=3)],
        [
            client("-C1", name='=HYPERLINK("x")', need=1, priority=3),
            client("@C2", need=1, priority=2, x_km=2),
            client("'=C3", need=1.5, priority=1, x_km=80),
        ],
    )
    return write_scenario(s, root / "scen")


def test_run_check_and_spread_round_trip_hostile_ids(tmp_path, capsys):
    folder = _hostile_scenario_folder(tmp_path)
    text = (folder / "supporters.csv").read_text()
    assert "'=cmd" in text and "'+S2" in text and "'@evil" in text
    out = tmp_path / "run"
    assert main(["run", str(folder), "--out", str(out), "--quiet", "--no-map"]) == 0
    rows = list(csv.DictReader(io.StringIO((out / "assignments.csv").read_text())))
    cells = [c for r in rows for c in r.values()]
    assert not any(c[:1] in FORMULA_TRIGGERS and not _is_float(c) for c in cells), cells
    assert {r["client_id"] for r in rows} == {"'-C1", "'@C2", "''=C3"}
    assert main(["check", str(folder), str(out / "assignments.csv")]) == 0
    assert "passed: 2 matched" in capsys.readouterr().out
    assert main(["spread", str(folder), "--round", str(out), "--quiet"]) == 0


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
