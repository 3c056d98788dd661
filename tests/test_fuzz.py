"""Fuzz: hostile scenario folders give a checked solution or a clear error, never a traceback.

Hypothesis starts from a small valid scenario and substitutes hostile cells (huge,
tiny, negative, non-finite, non-ASCII, formula-like, empty, very long, line
separators inside quoted cells, delimiters inside cells), writes the files with a
drawn delimiter, quoting and encoding, and runs ``broker run`` in-process. The run
must either exit 0 with assignments the independent checker (``broker check``)
accepts, or exit 2 with a message and no traceback; the input files must be
byte-identical afterwards.
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.cli import main

TOML = """name = "fuzz"
[round]
weeks = 39
[defaults]
max_distance_km = 40
allow_cross_phase = false
[budget]
programme_gbp = 100000
[weights]
cost_per_1000_gbp = 1.0
distance_per_km = 1.0
cross_phase = 50.0
other_la = 25.0
"""

TABLES: dict[str, list[list[str]]] = {
    "supporters.csv": [
        [
            "supporter_id",
            "name",
            "kind",
            "phase",
            "la_code",
            "easting",
            "northing",
            "capacity_days",
            "day_rate_gbp",
            "max_distance_km",
            "cross_phase",
            "network",
            "urn",
        ],
        ["S1", "Alpha", "nle", "primary", "855", "450000", "300000", "2", "500", "", "", "", "1"],
        ["S2", "Beta", "lle", "secondary;primary", "856", "460000", "300000", "1.5", "400"]
        + ["30", "yes", "", "2"],
        ["S3", "Gamma", "other", "special", "855", "455000", "305000", "1", "450", "", "", "", ""],
    ],
    "clients.csv": [
        [
            "client_id",
            "name",
            "phase",
            "la_code",
            "easting",
            "northing",
            "need_days",
            "priority",
            "budget_gbp",
            "weeks",
            "urn",
        ],
        ["C1", "One", "primary", "855", "451000", "300000", "1", "3", "", "", "11"],
        ["C2", "Two", "secondary", "856", "459000", "300000", "1.5", "2", "40000", "20", "12"],
        ["C3", "Three", "special", "855", "456000", "304000", "0.5", "5", "", "", "13"],
        ["C4", "Four", "primary", "855", "452000", "301000", "1", "1", "", "", "14"],
    ],
    "authorities.csv": [
        ["la_code", "cross_la", "budget_gbp", "neighbours"],
        ["855", "prefer_own", "60000", "856"],
        ["856", "allow", "", "855"],
    ],
    "pinned.csv": [["client_id", "supporter_id"], ["C1", "S1"]],
}

TOML_KEYS = [
    ("round", "weeks"),
    ("defaults", "max_distance_km"),
    ("defaults", "allow_cross_phase"),
    ("budget", "programme_gbp"),
    ("weights", "cost_per_1000_gbp"),
    ("weights", "distance_per_km"),
    ("weights", "cross_phase"),
    ("weights", "other_la"),
]

HOSTILE_CELLS = [
    "",
    " ",
    "0",
    "-0",
    "-1",
    "1e-320",
    "0.001",
    "1e308",
    "1e400",
    "-1e400",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "9" * 30,
    "1000000000000000",
    "2,500",
    "2,5",
    "1_000",
    "١٢",
    "7",
    "5.5",
    "=cmd|' /C calc'!A0",
    "+1",
    "-x",
    "@SUM(A1)",
    "'=x",
    "Zoë Ünïcödé",
    "日本語",
    "a\u2028b",
    "a\u2029b\u0085c",
    "a;b",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "x" * 5000,
    "\x00",
    "$\\frac{$",
]

TOML_VALUES = [
    "0",
    "-1",
    "1e400",
    "-1e400",
    "inf",
    "nan",
    "99999999999999999999",
    "1e15",
    "0.001",
    "521",
    '"39"',
    "true",
    "[1]",
    "{a = 1}",
    '"=cmd"',
]

cells = st.one_of(st.sampled_from(HOSTILE_CELLS), st.text(max_size=20))

TEXT_COLUMNS = {"supporter_id", "client_id", "name", "network", "urn"}
"""Columns that take any text: hostile values there should still solve."""

EXTREMES = {
    "capacity_days": ["7", "0.01", "6.5", "2.00"],
    "need_days": ["7", "0.01", "5.25"],
    "priority": ["1000000", "1", "1e3"],
    "day_rate_gbp": ["5000", "0", "4,999.99"],
    "budget_gbp": ["10000000000", "0", "10,000,000,000.00", ""],
    "weeks": ["520", "1", ""],
    "max_distance_km": ["1500", "0.001", ""],
    "easting": ["0", "700000"],
    "northing": ["0", "1300000"],
}
"""Valid values at or near the bounds."""


@st.composite
def mutation(draw: st.DrawFn, column: str) -> str:
    kind = draw(st.integers(0, 9))
    if column in TEXT_COLUMNS and kind < 6:
        return draw(st.sampled_from(HOSTILE_CELLS[22:]) | st.text(min_size=1, max_size=12))
    if column in EXTREMES and kind < 7:
        return draw(st.sampled_from(EXTREMES[column]))
    return draw(cells)


@st.composite
def folders(draw: st.DrawFn) -> dict[str, bytes]:
    """File name -> bytes of a hostile scenario folder."""
    tables = {name: [list(r) for r in rows] for name, rows in TABLES.items()}
    if draw(st.booleans()):
        del tables["pinned.csv"]
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(sorted(tables)))
        rows = tables[name]
        header = draw(st.integers(0, 19)) == 0 and name != "pinned.csv"
        r = 0 if header else draw(st.integers(1, len(rows) - 1))
        c = draw(st.integers(0, len(rows[0]) - 1))
        rows[r][c] = draw(cells) if header else draw(mutation(rows[0][c]))
    toml = TOML
    if draw(st.integers(0, 3)) == 0:
        _, key = draw(st.sampled_from(TOML_KEYS))
        old = next(line for line in TOML.splitlines() if line.startswith(f"{key} ="))
        toml = toml.replace(old, f"{key} = {draw(st.sampled_from(TOML_VALUES))}", 1)
    if draw(st.integers(0, 9)) == 0:
        toml = f"format = {draw(st.sampled_from(['2', '1', '1', '0']))}\n" + toml
    if draw(st.integers(0, 9)) == 0:
        toml = toml.replace('"fuzz"', repr(draw(st.sampled_from(HOSTILE_CELLS[22:]))))
    files = {"scenario.toml": toml.encode("utf-8")}
    for name, rows in tables.items():
        delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
        quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter, quoting=quoting, lineterminator="\r\n").writerows(rows)
        text = buf.getvalue()
        shape = draw(st.integers(0, 39))
        if shape == 0:
            text = ""  # empty file
        elif shape == 1:
            text = text.split("\r\n", 1)[0] + "\r\n"  # header only
        elif shape < 5:
            text = text.replace("\r\n", "\r\n\r\n", 1)  # a blank line after the header
        encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1252"]))
        files[name] = text.encode(encoding, errors="replace")
    return files


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(files=folders(), solver=st.sampled_from(["cpsat", "cpsat", "highs", "greedy"]))
def test_hostile_folders_give_a_checked_solution_or_a_clear_error(files, solver):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        scen = root / "scen"
        scen.mkdir()
        for name, data in files.items():
            (scen / name).write_bytes(data)
        out = root / "out"
        code, stdout, stderr = run_cli(
            ["run", str(scen), "--out", str(out), "--quiet", "--no-map", "--time-limit", "5"]
            + ["--solver", solver]
        )
        assert "Traceback" not in stderr + stdout
        assert {p.name: p.read_bytes() for p in scen.iterdir()} == files, "an input changed"
        assert not [p for p in root.iterdir() if ".partial-" in p.name]
        if code == 0:
            assert (out / "summary.json").is_file()
            check, check_out, check_err = run_cli(
                ["check", str(scen), str(out / "assignments.csv")]
            )
            assert check == 0, check_out + check_err
            assert "passed" in check_out
        else:
            assert code == 2, (code, stderr)
            head = "broker: error in input\n"
            assert head in stderr, stderr
            first = stderr.split(head, 1)[1].split("\n")[0]
            assert first.strip() and ": " in first, stderr
            assert not out.exists()


def test_no_traceback_reaches_the_terminal(tmp_path):
    scen = tmp_path / "scen"
    scen.mkdir()
    (scen / "scenario.toml").write_text('name = "x"\n[budget]\nprogramme_gbp = inf\n')
    rows = TABLES["supporters.csv"]
    (scen / "supporters.csv").write_text(
        "\n".join(",".join(r) for r in rows).replace("450000", "1e400") + "\n"
    )
    (scen / "clients.csv").write_bytes(b"client_id;phase\n\xff\xfe=cmd|' /C calc'!A0;primary\n")
    proc = subprocess.run(
        [sys.executable, "-m", "broker.cli", "run", str(scen), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert "programme_gbp" in proc.stderr and "not a finite number" in proc.stderr
