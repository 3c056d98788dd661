"""Readable outputs of broker run: names in assignments.csv, supporters.csv, report.xlsx,
and scenarios given as one .xlsx workbook."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from broker.cli import main

ROOT = Path(__file__).resolve().parents[1]
LEICS = ROOT / "scenarios" / "leicestershire"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    argv = ["run", str(LEICS), "--out", str(out), "--quiet", "--no-map", "--fix-solves", "6"]
    assert main(argv) == 0
    return out


def test_assignments_keep_checked_columns_then_names(run_dir, capsys):
    from broker.report import ASSIGNMENT_COLUMNS

    t = pd.read_csv(run_dir / "assignments.csv", dtype=str, keep_default_na=False)
    assert list(t.columns[: len(ASSIGNMENT_COLUMNS)]) == ASSIGNMENT_COLUMNS
    for col in ("client_name", "client_urn", "la_code", "la_name", "priority", "supporter_name"):
        assert col in t.columns
    assert (t.loc[t["status"] == "matched", "supporter_name"] != "").all()
    assert main(["check", str(LEICS), str(run_dir / "assignments.csv")]) == 0
    assert "passed" in capsys.readouterr().out


def test_supporters_csv(run_dir):
    s = pd.read_csv(run_dir / "supporters.csv")
    t = pd.read_csv(run_dir / "assignments.csv", dtype={"supporter_id": str})
    assert len(s) == 24
    assert ((s["days_committed"] + s["spare_days"] - s["capacity_days"]).abs() < 1e-9).all()
    served = t.dropna(subset=["supporter_id"]).groupby("supporter_id").size()
    assert s.set_index("supporter_id")["clients_served"].sum() == served.sum()
    assert set(s["status"]) <= {"full", "spare", "unused"}


def test_report_xlsx(run_dir):
    from openpyxl import load_workbook

    wb = load_workbook(run_dir / "report.xlsx")
    for name in ("Summary", "Matched", "Unmatched", "Supporters", "Authorities"):
        ws = wb[name]
        assert ws.freeze_panes == "A2"
        assert ws["A1"].font.bold
        assert ws.column_dimensions["A"].width > 5
    summary = {r[0]: r[1] for r in wb["Summary"].iter_rows(min_row=2, values_only=True)}
    import json

    figures = json.loads((run_dir / "summary.json").read_text())
    assert summary["matched"] == figures["matched"]
    assert wb["Matched"].max_row == 1 + figures["matched"]
    assert wb["Unmatched"].max_row >= 1 + figures["unmatched"]
    header = [c.value for c in wb["Unmatched"][1]]
    assert {"reason", "fix_kind", "fix_text"} <= set(header)


def test_fixes_and_alternates_csv(run_dir):
    f = pd.read_csv(run_dir / "fixes.csv", dtype=str, keep_default_na=False)
    t = pd.read_csv(run_dir / "assignments.csv", dtype=str, keep_default_na=False)
    assert set(f["client_id"]) == set(t.loc[t["status"] == "unmatched", "client_id"])
    first = f.drop_duplicates("client_id").set_index("client_id")["fix_text"]
    shown = t[t["status"] == "unmatched"].set_index("client_id")["fix_text"]
    assert (shown == first.reindex(shown.index)).all()
    a = pd.read_csv(run_dir / "alternates.csv", dtype=str, keep_default_na=False)
    assert set(a["client_id"]) <= set(t.loc[t["status"] != "unmatched", "client_id"])


def _settings(folder: Path) -> pd.DataFrame:
    rows = []

    def walk(prefix: str, d: dict) -> None:
        for k, v in d.items():
            if isinstance(v, dict):
                walk(f"{prefix}{k}.", v)
            else:
                rows.append((prefix + k, v))

    walk("", tomllib.loads((folder / "scenario.toml").read_text()))
    return pd.DataFrame(rows, columns=["setting", "value"])


def _workbook(path: Path, change=None) -> Path:
    with pd.ExcelWriter(path) as w:
        _settings(LEICS).to_excel(w, sheet_name="scenario", index=False)
        for t in ("supporters", "clients", "authorities"):
            df = pd.read_csv(LEICS / f"{t}.csv", dtype=str, keep_default_na=False)
            if change and t in change:
                df = change[t](df)
            df.to_excel(w, sheet_name=t.capitalize(), index=False)
    return path


def test_xlsx_scenario_solves_like_the_folder(tmp_path):
    import broker

    book = _workbook(tmp_path / "leics.xlsx")
    a = broker.solve(broker.read_scenario(book), fixes=False)
    b = broker.solve(broker.read_scenario(LEICS), fixes=False)
    assert list(a.round.result.pairs) == list(b.round.result.pairs)
    assert a.scenario.source == book
    out = tmp_path / "out"
    assert main(["run", str(book), "--out", str(out), "--quiet", "--no-map", "--no-fixes"]) == 0


def test_xlsx_errors_name_sheet_row_and_column(tmp_path, capsys):
    def bad(df):
        df.loc[3, "need_days"] = "two"
        return df

    book = _workbook(tmp_path / "bad.xlsx", {"clients": bad})
    assert main(["validate", str(book)]) == 2
    err = capsys.readouterr().err
    assert f"{book}, sheet 'Clients', row 5, column 'need_days': value 'two'" in err


def test_xlsx_settings_problems_name_the_row_of_the_scenario_sheet(tmp_path, capsys):
    """Not a line of the TOML text broker builds from the sheet, which the user never sees."""
    book = _workbook(tmp_path / "s.xlsx")
    settings = _settings(LEICS)
    extra = pd.DataFrame(
        [("round.weeks", "40"), ("weights.cost per 1000", "1"), ("round", "39")],
        columns=["setting", "value"],
    )
    with pd.ExcelWriter(book, mode="a", if_sheet_exists="replace") as w:
        pd.concat([settings, extra]).to_excel(w, sheet_name="scenario", index=False)
    assert main(["validate", str(book)]) == 2
    err = capsys.readouterr().err
    n = len(settings) + 1
    weeks = 2 + list(settings["setting"]).index("round.weeks")
    where = f"{book}, sheet 'scenario', row"
    assert f"{where} {n + 1}, column 'setting': value 'round.weeks': setting given twice " in err
    assert f"(first on row {weeks})" in err
    assert f"{where} {n + 2}, column 'setting': value 'weights.cost per 1000': not a setting" in err
    assert f"{where} {n + 3}, column 'setting': value 'round': clashes with 'round." in err
    assert "not valid TOML" not in err and "line " not in err


def test_xlsx_settings_numbers_as_spreadsheets_keep_them(tmp_path):
    """Text cells such as 0039 or 40. mean the number, as in a CSV cell."""
    import broker

    book = _workbook(tmp_path / "n.xlsx")
    settings = _settings(LEICS).astype(object)
    settings.loc[settings["setting"] == "round.weeks", "value"] = "0039"
    settings.loc[settings["setting"] == "defaults.max_distance_km", "value"] = "25."
    settings.loc[settings["setting"] == "name", "value"] = 2024  # a name is always text
    with pd.ExcelWriter(book, mode="a", if_sheet_exists="replace") as w:
        settings.to_excel(w, sheet_name="scenario", index=False)
    cfg = broker.read_scenario(book).config
    assert (cfg.weeks, cfg.max_distance_km, cfg.name) == (39, 25.0, "2024")


def test_xlsx_without_a_table(tmp_path, capsys):
    book = tmp_path / "thin.xlsx"
    with pd.ExcelWriter(book) as w:
        pd.DataFrame({"a": [1]}).to_excel(w, sheet_name="clients", index=False)
    assert main(["validate", str(book)]) == 2
    assert "no sheet named 'supporters'" in capsys.readouterr().err


def test_xlsx_text_is_never_a_formula(tmp_path):
    from openpyxl import load_workbook

    from broker.outputs.workbook import write_workbook

    t = pd.DataFrame({"client_id": ["=1+1"], "status": ["unmatched"]})
    for c in ("client_name", "client_urn", "la_name", "priority", "reason_code", "reason"):
        t[c] = "=cmd|x"
    path = write_workbook(
        tmp_path / "r.xlsx",
        summary={"scenario": "=HYPERLINK(1)"},
        assignments=t.assign(
            **{
                c: ""
                for c in (
                    "role",
                    "mode",
                    "supporter_id",
                    "supporter_name",
                    "supporter_kind",
                    "days_per_week",
                    "cost_gbp",
                    "distance_km",
                )
            }
        ),
        supporters=pd.DataFrame({"x": ["=2"]}),
        authorities=pd.DataFrame({"y": [1]}),
    )
    wb = load_workbook(path)
    assert wb["Unmatched"]["A2"].data_type == "s"
    assert wb["Unmatched"]["A2"].value == "=1+1"
    assert wb["Summary"]["B2"].value == "=HYPERLINK(1)"


def test_progress_is_logging_quiet_and_verbose(tmp_path, capsys):
    argv = ["run", str(LEICS), "--no-map", "--fix-solves", "2", "--alternates", "0"]
    assert main([*argv, "--out", str(tmp_path / "q"), "--quiet"]) == 0
    assert "[" not in capsys.readouterr().err
    assert main([*argv, "--out", str(tmp_path / "v"), "--verbose"]) == 0
    err = capsys.readouterr().err
    assert "s] read 'Leicestershire LEEP'" in err
    assert "fixes: C120176 (priority 2)" in err  # a detail, shown with --verbose only
    assert main([*argv, "--out", str(tmp_path / "n")]) == 0
    err = capsys.readouterr().err
    assert "s] read 'Leicestershire LEEP'" in err and "fixes: C120176" not in err
    assert not (tmp_path / "n" / "alternates.csv").exists()


def test_progress_bar_only_on_a_terminal_with_progress_shown(monkeypatch):
    import io

    from broker import progress as prog

    items = ["C1", "C2", "C3"]
    prog.progress(quiet=True)
    assert prog.bar(items, "fixes") is items  # --quiet: no bar
    prog.progress()
    assert prog.bar(items, "fixes") is items  # stderr here is not a terminal

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake = Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    shown = prog.bar(items, "fixes")
    assert shown is not items and list(shown) == items
    assert "fixes" in fake.getvalue()
