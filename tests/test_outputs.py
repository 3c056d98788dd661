"""Output folders, run records and seeds: checked early, written whole, reproducible."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

import broker.outdir
from broker.cli import main
from broker.outputs import READABLE_FILES
from broker.pipeline import SOLVER_SEED_RANGE, solver_seed
from broker.scenario.read import scenario_inputs_sha256
from test_validation import CLI, make

ROOT = Path(__file__).resolve().parents[1]
LEICS = ROOT / "scenarios" / "leicestershire"


def run(scen: Path, out: Path, *extra: str) -> int:
    return main(["run", str(scen), "--out", str(out), "--quiet", "--no-map", *extra])


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial-" in p.name or ".replaced-" in p.name]


@pytest.fixture
def scen(tmp_path):
    return make(tmp_path)


# --------------------------------------------------------------------------- folders


def test_non_empty_out_is_refused_without_force(scen, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    assert run(scen, out) == 2
    err = capsys.readouterr().err
    assert "not empty" in err and "--force" in err and "Traceback" not in err
    assert listing(out) == {"summary.json": b"{}"}


def test_force_replaces_the_whole_folder(scen, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(scen), "--out", str(out), "--quiet"]) == 0
    assert (out / "map.png").is_file()
    assert run(scen, out, "--force") == 0
    # the new run drew no map, so no map of the old run may remain
    assert sorted(listing(out)) == sorted(["assignments.csv", "summary.json", *READABLE_FILES])
    assert leftovers(tmp_path) == []


def test_force_never_replaces_a_folder_of_other_files(scen, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text("{}")
    (out / "thesis.docx").write_text("years of work")
    assert run(scen, out, "--force") == 2
    assert "'thesis.docx'" in capsys.readouterr().err
    assert (out / "thesis.docx").read_text() == "years of work"


def test_empty_existing_out_is_used(scen, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert run(scen, out) == 0
    assert sorted(listing(out)) == sorted(["assignments.csv", "summary.json", *READABLE_FILES])


def test_a_failure_while_writing_leaves_the_old_folder_untouched(scen, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run(scen, out) == 0
    before = listing(out)

    def broken_map(rnd, path):
        Path(path).write_bytes(b"half a map")
        raise KeyboardInterrupt  # as if interrupted while drawing

    monkeypatch.setattr("broker.maps.round_map", broken_map)
    assert main(["run", str(scen), "--out", str(out), "--quiet", "--force"]) == 130
    assert listing(out) == before
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "where,fragment",
    [
        ("file/out", "is a file, not a folder"),
        ("file", "is a file; expected a folder"),
        ("scen", "must not be the input"),
        ("scen/results", "must not be the input"),
        (".", "contains the input"),
    ],
)
def test_unusable_out_is_refused_before_reading(
    scen, tmp_path, monkeypatch, capsys, where, fragment
):
    (tmp_path / "file").write_text("x")

    def must_not_read(*args, **kwargs):
        raise AssertionError("the scenario was read before --out was checked")

    monkeypatch.setattr("broker.scenario.read_scenario", must_not_read)
    monkeypatch.chdir(tmp_path)
    assert run(Path("scen"), Path(where), "--force") == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert (tmp_path / "file").read_text() == "x"


def test_out_without_write_permission_is_refused_before_reading(
    scen, tmp_path, monkeypatch, capsys
):
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(
        broker.outdir.os, "access", lambda p, mode: False if Path(p) == locked else real(p, mode)
    )
    assert run(scen, locked / "out") == 2
    assert "no permission to create files in" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_read_only_folder_is_refused(scen, tmp_path, capsys):  # pragma: no cover - not as root
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        assert run(scen, locked / "out") == 2
        assert "no permission" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_scenario_command_replaces_only_scenario_folders(tmp_path, capsys):
    out = tmp_path / "s"
    args = ["scenario", "leicestershire", "--out", str(out), "--quiet"]
    assert main(args) == 0
    (out / "pinned.csv").write_text("client_id,supporter_id\n")  # a file it may replace
    assert main(args) == 2
    assert main([*args, "--force"]) == 0
    assert not (out / "pinned.csv").exists()
    (out / "notes.md").write_text("mine")
    assert main([*args, "--force"]) == 2
    assert "'notes.md'" in capsys.readouterr().err


def test_spread_out_is_checked_early_and_replaced_whole(tmp_path, capsys):
    out = tmp_path / "sp"
    base = ["spread", str(LEICS), "--out", str(out), "--no-maps", "--quiet"]
    assert main(base) == 0
    (out / "map_old.png").write_bytes(b"old")
    assert main(base) == 2
    assert main([*base, "--force"]) == 0
    assert not (out / "map_old.png").exists() and (out / "la_scores.csv").is_file()
    assert main(["spread", str(LEICS), "--out", str(LEICS / "x"), "--quiet"]) == 2
    assert "must not be the input" in capsys.readouterr().err


# --------------------------------------------------------------------------- run record


def test_summary_records_run_id_start_and_inputs_hash(scen, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(scen, a) == 0 and run(scen, b) == 0
    sa = json.loads((a / "summary.json").read_text())
    sb = json.loads((b / "summary.json").read_text())
    assert len(sa["run_id"]) == 32 and sa["run_id"] != sb["run_id"]
    assert sa["started_at"].endswith("+00:00") and sa["started_at"] <= sb["started_at"]
    assert sa["inputs_sha256"] == sb["inputs_sha256"] == scenario_inputs_sha256(scen)
    # a different run id never changes the solution
    assert (a / "assignments.csv").read_bytes() == (b / "assignments.csv").read_bytes()
    (scen / "clients.csv").write_text(CLI.replace("1.5,2", "1.5,3"))
    c = tmp_path / "c"
    assert run(scen, c) == 0
    assert json.loads((c / "summary.json").read_text())["inputs_sha256"] != sa["inputs_sha256"]


def test_inputs_hash_ignores_other_files_but_not_names(scen, tmp_path):
    h = scenario_inputs_sha256(scen)
    (scen / "README.txt").write_text("not an input")
    assert scenario_inputs_sha256(scen) == h
    (scen / "pinned.csv").write_text("client_id,supporter_id\n")
    assert scenario_inputs_sha256(scen) != h


# --------------------------------------------------------------------------- seeds


def test_solver_seed_mapping():
    assert [solver_seed(s) for s in (0, 1, SOLVER_SEED_RANGE - 1)] == [0, 1, SOLVER_SEED_RANGE - 1]
    big = [2**31, 2**31 - 1, 2**63, 10**30]
    mapped = [solver_seed(s) for s in big]
    assert all(0 <= m < SOLVER_SEED_RANGE for m in mapped)
    assert len(set(mapped)) == len(big)
    assert mapped == [solver_seed(s) for s in big]  # deterministic
    with pytest.raises(ValueError):
        solver_seed(-1)


@pytest.mark.parametrize("solver", ["cpsat", "highs", "greedy"])
def test_seeds_beyond_32_bits_run_and_are_recorded(scen, tmp_path, solver):
    seed = 2**64 + 5
    a, b = tmp_path / "a", tmp_path / "b"
    assert run(scen, a, "--seed", str(seed), "--solver", solver) == 0
    assert run(scen, b, "--seed", str(seed), "--solver", solver) == 0
    s = json.loads((a / "summary.json").read_text())
    assert s["seed"] == seed and s["solver_seed"] == solver_seed(seed) < 2**31 - 8
    assert (a / "assignments.csv").read_bytes() == (b / "assignments.csv").read_bytes()


def test_benchmark_solves_accept_any_seed():
    from broker.bench.peers import run_solver
    from broker.candidates import build_problem
    from broker.scenario import read_scenario

    p = build_problem(read_scenario(LEICS))
    result = run_solver("cpsat", p, time_limit_s=5, seed=2**63 + 1)
    assert result.seed == solver_seed(2**63 + 1)


# --------------------------------------------------------------------------- broker check


def _assignments(tmp_path: Path, scen: Path) -> tuple[Path, list[list[str]]]:
    out = tmp_path / "r"
    assert run(scen, out) == 0
    path = out / "assignments.csv"
    return path, list(csv.reader(io.StringIO(path.read_text(), newline="")))


def _check(scen: Path, path: Path, capsys) -> tuple[int, str]:
    code = main(["check", str(scen), str(path)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _variant(path: Path, rows: list[list[str]], name: str, sep: str = ",", enc="utf-8") -> Path:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\r\n").writerows(rows)
    p = path.with_name(name)
    p.write_bytes(buf.getvalue().encode(enc))
    return p


def test_check_reads_what_a_spreadsheet_writes(scen, tmp_path, capsys):
    path, rows = _assignments(tmp_path, scen)
    header = rows[0]
    cost = header.index("cost_gbp")
    assert any(r[1] for r in rows[1:]), rows
    edited = [[*header, "notes"]] + [[*r, "Gérard"] for r in rows[1:]]
    plain = [list(r) for r in edited]
    for r in edited[1:]:
        if r[1]:
            r[cost] = f"{float(r[cost]):,.2f}"  # 7,800.00 as a spreadsheet formats it
    assert _check(scen, _variant(path, edited, "comma.csv"), capsys)[0] == 0
    for name, sep, enc in (("semi.csv", ";", "utf-8"), ("latin.csv", ";", "cp1252")):
        code, text = _check(scen, _variant(path, plain, name, sep, enc), capsys)
        assert code == 0, text
        assert ("not UTF-8" in text) == (enc == "cp1252")


@pytest.mark.parametrize(
    "column,value,fragment",
    [
        ("cost_gbp", "", "blank on a matched row"),
        ("cost_gbp", "lots", "value 'lots': not a number"),
        ("cost_gbp", "inf", "not a finite number"),
        ("days_per_week", "one", "value 'one': not a number"),
        ("days_per_week", "1e400", "not a finite number"),
    ],
)
def test_check_refuses_unreadable_cells_with_exit_2(
    scen, tmp_path, capsys, column, value, fragment
):
    path, rows = _assignments(tmp_path, scen)
    col = rows[0].index(column)
    row = next(i for i, r in enumerate(rows) if i and r[1])
    rows[row][col] = value
    code, text = _check(scen, _variant(path, rows, "bad.csv"), capsys)
    assert code == 2, text
    assert f"bad.csv, row {row + 1}, column '{column}'" in text and fragment in text
    assert "Traceback" not in text


def test_check_exits_1_only_when_a_rule_breaks(scen, tmp_path, capsys):
    path, rows = _assignments(tmp_path, scen)
    col = rows[0].index("cost_gbp")
    row = next(i for i, r in enumerate(rows) if i and r[1])
    rows[row][col] = "1.00"
    code, text = _check(scen, _variant(path, rows, "wrong.csv"), capsys)
    assert code == 1 and "rule 7" in text


@pytest.mark.parametrize("data", [b"", b"client_id;supporter_id\n", b"x,y\n1,2\n"])
def test_check_on_empty_or_foreign_files(scen, tmp_path, capsys, data):
    p = tmp_path / "a.csv"
    p.write_bytes(data)
    code, text = _check(scen, p, capsys)
    assert "Traceback" not in text
    if data.startswith(b"client_id;"):
        assert code == 0  # a header-only file assigns nobody; nothing is pinned
    else:
        assert code == 2 and "a.csv" in text


def test_control_characters_in_ids_reach_the_workbook_visibly_and_the_csv_exactly(tmp_path):
    """A workbook cannot hold ESC: the row is still written, with the character shown
    as ``\\x1b``; assignments.csv keeps the identifier as it was given."""
    from openpyxl import load_workbook

    scen = make(tmp_path, cli=CLI.replace("C1,", "C\x1b1,"))
    out = tmp_path / "out"
    assert run(scen, out) == 0
    ids = {
        row["client_id"]
        for row in csv.DictReader(
            io.StringIO((out / "assignments.csv").read_text(encoding="utf-8-sig"))
        )
    }
    assert "C\x1b1" in ids
    ws = load_workbook(out / "report.xlsx")["Matched"]
    cells = {str(c.value) for c in ws["A"][1:]}
    assert "C\\x1b1" in cells
