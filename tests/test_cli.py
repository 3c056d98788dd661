"""End-to-end: the CLI on the bundled Leicestershire scenario."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from broker.cli import main

ROOT = Path(__file__).resolve().parents[1]
LEICS = ROOT / "scenarios" / "leicestershire"
SUMMARY_KEYS = {
    "clients",
    "matched",
    "priority_matched",
    "priority_bound",
    "total_cost_gbp",
    "solver_status",
    "runtime_s",
    "seed",
    "broker_version",
}


@pytest.fixture(scope="module")
def leics_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("leics")
    code = main(
        ["run", str(LEICS), "--out", str(out), "--time-limit", "20", "--seed", "3", "--quiet"]
    )
    assert code == 0
    return out


def test_run_writes_assignments_and_summary(leics_run):
    table = pd.read_csv(leics_run / "assignments.csv", dtype=str, keep_default_na=False)
    clients = pd.read_csv(LEICS / "clients.csv", dtype=str)
    assert list(table.columns)[:9] == [
        "client_id",
        "supporter_id",
        "role",
        "mode",
        "status",
        "days_per_week",
        "cost_gbp",
        "distance_km",
        "reason",
    ]
    assert sorted(table["client_id"]) == sorted(clients["client_id"])
    assert set(table["status"]) <= {"matched", "unmatched", "pinned"}
    unmatched = table[table["status"] == "unmatched"]
    assert (unmatched["reason"] != "").all() and (unmatched["supporter_id"] == "").all()
    summary = json.loads((leics_run / "summary.json").read_text())
    assert SUMMARY_KEYS <= set(summary)
    assert summary["seed"] == 3 and summary["clients"] == len(clients)
    assert summary["priority_matched"] <= summary["priority_bound"]
    assert summary["checked"]["ok"] is True
    png = (leics_run / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_written_solution_passes_the_check_command(leics_run, capsys):
    assert main(["check", str(LEICS), str(leics_run / "assignments.csv")]) == 0
    assert "passed" in capsys.readouterr().out


def test_check_command_rejects_a_tampered_solution(leics_run, tmp_path, capsys):
    table = pd.read_csv(leics_run / "assignments.csv", dtype=str, keep_default_na=False)
    matched = table.index[table["status"] == "matched"]
    supporters = pd.read_csv(LEICS / "supporters.csv", dtype=str)
    # give every matched client the same supporter: capacity and distance must break
    table.loc[matched, "supporter_id"] = supporters["supporter_id"].iat[0]
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    assert main(["check", str(LEICS), str(bad)]) == 1
    out = capsys.readouterr().out
    assert "rule 2" in out and "FAILED" in out


def test_check_given_a_folder_says_so(leics_run, capsys):
    """Not 'file not found' for a run folder that is there."""
    assert main(["check", str(LEICS), str(leics_run)]) == 2
    err = capsys.readouterr().err
    assert "is a folder; expected an assignments.csv file" in err
    assert f"this folder holds one: {leics_run / 'assignments.csv'}" in err
    assert "file not found" not in err


def test_same_seed_same_files(leics_run, tmp_path):
    out = tmp_path / "again"
    assert (
        main(
            [
                "run",
                str(LEICS),
                "--out",
                str(out),
                "--time-limit",
                "20",
                "--seed",
                "3",
                "--quiet",
                "--no-map",
            ]
        )
        == 0
    )
    assert (out / "assignments.csv").read_bytes() == (leics_run / "assignments.csv").read_bytes()


def test_input_files_never_modified(tmp_path):
    copy = tmp_path / "scen"
    shutil.copytree(LEICS, copy)
    before = {p.name: p.read_bytes() for p in copy.iterdir()}
    assert (
        main(
            [
                "run",
                str(copy),
                "--out",
                str(tmp_path / "o"),
                "--quiet",
                "--no-map",
                "--time-limit",
                "10",
            ]
        )
        == 0
    )
    assert {p.name: p.read_bytes() for p in copy.iterdir()} == before
    assert main(["run", str(copy), "--out", str(copy), "--quiet"]) == 2


def test_validate_and_bad_arguments(capsys):
    assert main(["validate", str(LEICS)]) == 0
    assert "valid" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["run", str(LEICS), "--out", "x", "--solver", "magic"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        main(["run", str(LEICS), "--out", "x", "--time-limit", "-1"])
    with pytest.raises(SystemExit):
        main(["run", str(LEICS), "--out", "x", "--work-limit", "0"])


def test_work_limit_reaches_the_solver(tmp_path):
    import json

    out = tmp_path / "w"
    args = ["run", str(LEICS), "--out", str(out), "--work-limit", "3", "--quiet", "--no-map"]
    assert main(args + ["--no-fixes"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["solver_params"]["work_limit"] == 3.0


def test_bundled_scenario_is_current():
    """The committed folder equals what the generator makes (no hand edits drift in)."""
    from broker.generate.leicestershire import build
    from broker.scenario import read_scenario

    fresh, committed = build(), read_scenario(LEICS)
    cols = ["client_id", "phase", "need_days", "priority", "network", "easting"]
    pd.testing.assert_frame_equal(
        fresh.clients[cols].reset_index(drop=True), committed.clients[cols].reset_index(drop=True)
    )
    scols = ["supporter_id", "kind", "capacity_days", "day_rate_gbp", "network"]
    pd.testing.assert_frame_equal(
        fresh.supporters[scols].reset_index(drop=True),
        committed.supporters[scols].reset_index(drop=True),
    )
