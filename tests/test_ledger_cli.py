"""The ledger from the command line: run --db, stage, deployments, top-up, diff, recommend."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from broker.cli import main
from broker.scenario import write_scenario
from factories import client, scenario, supporter


def small(extra_clients=()):
    """Three supporters, four clients; S0 and S1 near C0-C2, S2 far east for C3."""
    return scenario(
        [
            supporter("S0", capacity=2.0, rate=400),
            supporter("S1", capacity=1.0, x_km=2, rate=500),
            supporter("S2", capacity=1.0, x_km=20, rate=450),
        ],
        [
            client("C0", need=1.0, priority=2),
            client("C1", need=1.0, priority=1, x_km=1),
            client("C2", need=1.0, priority=1, x_km=2),
            client("C3", need=1.0, priority=2, x_km=20),
            *extra_clients,
        ],
        max_distance_km=10.0,
    )


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BROKER_DB", raising=False)
    monkeypatch.setenv("BROKER_USER", "pm")
    write_scenario(small(), tmp_path / "s1")
    return tmp_path


def run(*args: str) -> int:
    return main([*args])


def assignments(path) -> dict[str, str]:
    t = pd.read_csv(path / "assignments.csv", dtype=str, keep_default_na=False)
    return dict(zip(t["client_id"], t["supporter_id"], strict=True))


def test_run_records_and_summary_gains_round_id(folder, capsys):
    assert run("run", "s1", "--out", "r1", "--db", "l.db", "--quiet", "--no-map") == 0
    out = capsys.readouterr().out
    assert "ledger: round 1 (plain) recorded" in out and "by pm" in out
    summary = json.loads((folder / "r1" / "summary.json").read_text())
    assert summary["round_id"] == 1 and summary["ledger"]["deployments_created"] == 4
    assert run("deployments", "--db", "l.db", "--csv", "d.csv") == 0
    d = pd.read_csv(folder / "d.csv", dtype=str)
    assert sorted(zip(d["client_id"], d["supporter_id"], strict=True)) == sorted(
        assignments(folder / "r1").items()
    )
    assert set(d["stage"]) == {"proposed"}


def test_default_ledger_is_broker_db_in_the_working_folder(folder):
    assert run("run", "s1", "--out", "r1", "--round-name", "first", "--quiet", "--no-map") == 0
    assert (folder / "broker.db").is_file()
    assert run("rounds") == 0


def test_stage_errors_exit_2_with_the_legal_choices(folder, capsys):
    run("run", "s1", "--out", "r1", "--db", "l.db", "--quiet", "--no-map")
    capsys.readouterr()
    cases = [
        (["stage", "C0", "signed"], "unknown stage; expected one of proposed"),
        (["stage", "C0", "contracted"], "Legal moves from proposed: scoped, declined, withdrawn"),
        (["stage", "C0", "withdrawn"], "needs a reason; add --reason"),
        (["stage", "NOPE", "scoped"], "no deployment has ever been recorded"),
        (["stage", "C0", "scoped", "--round", "7"], "not round 7"),
    ]
    for args, expected in cases:
        assert run(*args, "--db", "l.db") == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err
    assert run("stage", "C0", "withdrawn", "--reason", "school merged", "--db", "l.db") == 0
    assert run("history", "C0", "--db", "l.db") == 0
    assert "school merged" in capsys.readouterr().out
    assert run("audit", "--db", "l.db") == 0
    assert "stage_changed" in capsys.readouterr().out


def test_reading_commands_refuse_a_ledger_that_does_not_exist(folder, capsys):
    """A mistyped --db is named, not turned into an empty ledger that has no rounds."""
    run("run", "s1", "--out", "r1", "--db", "l.db", "--quiet", "--no-map")
    capsys.readouterr()
    for args in (["rounds"], ["deployments"], ["history", "C0"], ["audit"]):
        assert run(*args, "--db", "typo.db") == 2
        err = capsys.readouterr().err
        assert "no ledger here" in err and "typo.db" in err and "Traceback" not in err, err
        assert not (folder / "typo.db").exists()
    assert run("rounds", "--db", "l.db") == 0


def test_csv_export_never_replaces_another_file(folder, capsys):
    """``--csv`` over a scenario file or a folder is refused; a re-export replaces its own."""
    run("run", "s1", "--out", "r1", "--db", "l.db", "--quiet", "--no-map")
    clients = (folder / "s1" / "clients.csv").read_bytes()
    capsys.readouterr()
    for args, expected in [
        (["deployments", "--csv", "s1/clients.csv"], "not an earlier export of this table"),
        (["recommend", "C0", "--scenario", "s1", "--csv", "s1/clients.csv"], "earlier export"),
        (["deployments", "--csv", "r1"], "is a folder"),
        (["recommend", "C0", "--scenario", "s1", "--csv", "r1"], "is a folder"),
    ]:
        assert run(*args, "--db", "l.db") == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err, err
    assert (folder / "s1" / "clients.csv").read_bytes() == clients
    assert run("deployments", "--db", "l.db", "--csv", "d.csv") == 0
    assert run("deployments", "--db", "l.db", "--all", "--csv", "d.csv") == 0
    assert run("recommend", "C0", "--scenario", "s1", "--db", "l.db", "--csv", "d.csv") == 2


def test_diff_out_never_replaces_another_file(folder, capsys):
    run("run", "s1", "--out", "r1", "--quiet", "--no-map")
    run("run", "s1", "--out", "r2", "--quiet", "--no-map")
    (folder / "mine").mkdir()
    (folder / "mine" / "diff.csv").write_text("my,own,notes\n")
    capsys.readouterr()
    for out, expected in [("r1/summary.json", "is a file"), ("mine", "not an earlier export")]:
        assert run("diff", "r1", "r2", "--out", out) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err, err
    assert (folder / "mine" / "diff.csv").read_text() == "my,own,notes\n"
    assert run("diff", "r1", "r2", "--out", "d") == 0
    assert run("diff", "r2", "r1", "--out", "d") == 0  # an earlier diff is replaced


def test_topup_commitment_that_cannot_be_kept_names_the_ledger_not_a_temporary_file(folder, capsys):
    """A contracted lead whose second supporter declined, with no one else to pair."""
    team = scenario(
        [supporter("S0", capacity=2.0), supporter("S1", capacity=2.0, x_km=1)],
        [client("C0", need=1.0, priority=2, team_size=2)],
        max_distance_km=10.0,
    )
    write_scenario(team, folder / "t")
    assert run("run", "t", "--out", "r1", "--db", "l.db", "--quiet", "--no-map") == 0
    assert run("stage", "C0", "contracted", "--through", "--db", "l.db") == 0
    assert run("stage", "C0", "declined", "--role", "second", "--db", "l.db") == 0
    capsys.readouterr()
    assert run("run", "t", "--out", "r2", "--db", "l.db", "--top-up", "--quiet") == 2
    err = capsys.readouterr().err
    assert "top-up scenario derived from sqlite:///" in err and "l.db, pinned.csv, row 2" in err
    assert "broker-topup-" not in err and "Traceback" not in err
    assert "withdraw it with 'broker stage CLIENT_ID withdrawn --reason TEXT'" in err
    assert not (folder / "r2").exists()


def test_diff_of_run_folders_refuses_a_scenario_edited_since_the_round(folder, capsys):
    """Priorities and needs would silently come from the edited files."""
    run("run", "s1", "--out", "r1", "--quiet", "--no-map")
    run("run", "s1", "--out", "r2", "--quiet", "--no-map")
    clients = pd.read_csv(folder / "s1" / "clients.csv", dtype=str, keep_default_na=False)
    clients.loc[clients["client_id"] == "C0", "priority"] = "9"  # C0 is matched in both
    clients.to_csv(folder / "s1" / "clients.csv", index=False)
    capsys.readouterr()
    assert run("diff", "r1", "r2", "--out", "d") == 2
    err = capsys.readouterr().err
    assert "r1/summary.json, column 'inputs_sha256'" in err and "has changed since" in err
    assert "--scenario DIR" in err and not (folder / "d").exists()
    assert run("diff", "r1", "r2", "--out", "d", "--scenario", "s1") == 0
    assert "is not the one this round solved" in capsys.readouterr().err


def test_a_workbook_scenario_cannot_be_recorded_and_says_so(folder, capsys):
    """Not a NotADirectoryError traceback from storing the scenario's files."""
    book = folder / "s1.xlsx"
    with pd.ExcelWriter(book) as w:
        for t in ("supporters", "clients"):
            pd.read_csv(folder / "s1" / f"{t}.csv", dtype=str).to_excel(
                w, sheet_name=t, index=False
            )
    assert run("run", str(book), "--out", "r1", "--quiet", "--no-map") == 0  # unrecorded: fine
    for extra in (["--db", "l.db"], ["--top-up"]):
        assert run("run", str(book), "--out", "r2", "--quiet", "--no-map", *extra) == 2
        err = capsys.readouterr().err
        assert (
            "s1.xlsx: a recorded round (--db, --top-up, --round-name) needs a scenario folder"
            in err
        )
        assert "Traceback" not in err and not (folder / "r2").exists()


def test_ids_beyond_the_database_integers_are_argument_errors(folder, capsys):
    """Not an OverflowError traceback from SQLite."""
    run("run", "s1", "--out", "r1", "--db", "l.db", "--quiet", "--no-map")
    huge = str(2**64)
    for args in (["audit", "--limit", huge], ["deployments", "--round", huge]):
        with pytest.raises(SystemExit) as exit_:
            run(*args, "--db", "l.db")
        assert exit_.value.code == 2
        assert "expected a whole number from 1 to 2^63 - 1" in capsys.readouterr().err
    assert run("diff", "1", huge, "--db", "l.db", "--out", "d") == 2
    err = capsys.readouterr().err
    assert "no round with this id" in err and "Traceback" not in err


def test_bad_db_url_exits_2(folder, capsys):
    assert run("deployments", "--db", "mysql://x@y/z") == 2
    assert "postgresql+psycopg://" in capsys.readouterr().err


def test_topup_keeps_contracted_never_reproposes_declined(folder, capsys, db_url):
    db = db_url  # SQLite and PostgreSQL
    run("run", "s1", "--out", "r1", "--db", db, "--quiet", "--no-map")
    first = assignments(folder / "r1")
    assert run("stage", "C0", "contracted", "--through", "--db", db) == 0
    assert run("stage", "C3", "declined", "--db", db, "--note", "said no") == 0
    # a plain round would ignore the contract: refused
    assert run("run", "s1", "--out", "rx", "--db", db, "--quiet", "--no-map") == 2
    assert "--top-up" in capsys.readouterr().err
    urgent = client("C9", need=1.0, priority=5, x_km=1)
    write_scenario(small([urgent]), folder / "s2")
    assert run("run", "s2", "--out", "r2", "--db", db, "--top-up", "--quiet", "--no-map") == 0
    second = assignments(folder / "r2")
    assert second["C0"] == first["C0"]
    assert second["C3"] != first["C3"]  # declined pair never proposed again
    assert second["C9"]
    summary = json.loads((folder / "r2" / "summary.json").read_text())
    assert summary["round_id"] == 2 and summary["topup"]["pinned"] == 1
    assert summary["topup"]["declined_pairs_excluded"] == 1
    assert (folder / "r2" / "topup_scenario" / "pinned.csv").is_file()
    changes = pd.read_csv(folder / "r2" / "topup_changes.csv", dtype=str, keep_default_na=False)
    assert changes.set_index("client_id").loc["C0", "change"] == "pinned"
    assert run("deployments", "--db", db, "--stage", "declined") == 0
    # diff by round ids and by folders agree
    assert run("diff", "1", "2", "--db", db, "--out", "d_ids") == 0
    assert run("diff", "r1", "r2", "--out", "d_dirs") == 0
    a = pd.read_csv(folder / "d_ids" / "diff.csv", dtype=str, keep_default_na=False)
    b = pd.read_csv(folder / "d_dirs" / "diff.csv", dtype=str, keep_default_na=False)
    cols = ["client_id", "before_supporter_id", "after_supporter_id", "change"]
    assert a[cols].equals(b[cols])
    kinds = dict(zip(a["client_id"], a["change"], strict=True))
    assert kinds["C9"] == "gained" and kinds["C0"] == "same"
    auth = pd.read_csv(folder / "d_ids" / "diff_authorities.csv")
    total = auth.set_index("la_code").loc["all"]
    assert total["priority_after"] - total["priority_before"] == total["priority_delta"]


def test_recommend_ranks_room_first_and_names_what_it_would_displace(folder, capsys):
    run("run", "s1", "--out", "r1", "--db", "l.db", "--quiet", "--no-map")
    urgent = client("C9", need=1.0, priority=5, x_km=1)
    write_scenario(small([urgent]), folder / "s2")
    assert run("recommend", "C9", "--scenario", "s2", "--db", "l.db", "--csv", "rec.csv") == 0
    rec = pd.read_csv(folder / "rec.csv", keep_default_na=False)
    assert list(rec["rank"]) == list(range(1, len(rec) + 1))
    assert set(rec["supporter_id"]) <= {"S0", "S1"}  # S2 is out of reach
    # every supporter in reach is full after round 1, so each displaces a proposal
    assert (rec["displaces"] != "").all()
    assert "priority 1" in rec["displaces"].iloc[0]
    assert run("recommend", "C404", "--scenario", "s2", "--db", "l.db") == 2
