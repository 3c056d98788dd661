"""A scenario as one ``.xlsx`` workbook: one sheet per table.

Sheets are named as the files of a scenario folder, without ``.csv``:
``supporters`` and ``clients`` (required), ``authorities``, ``conflicts``,
``pinned`` and ``proposals`` (optional; names are matched without regard to case).
An optional ``scenario`` sheet holds the settings of ``scenario.toml`` as two
columns, ``setting`` and ``value``, one row per setting, with the TOML table
before a dot (``name``, ``round.weeks``, ``budget.programme_gbp``,
``weights.distance_per_km``); without it the scenario is named after the file.

Each sheet is turned into the text a CSV export of it would hold (blank rows
kept, so row numbers are those Excel shows) and read by the one validation path
of :func:`broker.scenario.read_scenario`. Every message names the workbook and
the sheet in place of the file: ``book.xlsx, sheet 'clients', row 7, column
'need_days': ...``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import math
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from broker.csvtext import PLAIN_NUMBER, format_csv
from broker.errors import LOG, InputError, Problem
from broker.scenario.model import Scenario

TABLES = ("supporters", "clients", "authorities", "conflicts", "pinned", "proposals")
SETTINGS_SHEET = "scenario"


def _text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
            return str(int(v))
        return repr(v)
    if isinstance(v, (dt.datetime, dt.date)):
        return v.isoformat()
    return str(v)


_NON_FINITE = {"inf", "+inf", "-inf", "nan", "+nan", "-nan"}
_KEY_PART = re.compile(r"[A-Za-z0-9_-]+")
_TEXT_SETTINGS = {"name", "description"}
"""Settings that are always text, even when the cell holds a number (a name like 2024)."""


def _toml_value(v: object) -> str:
    """A cell as a TOML value: booleans, numbers, else a string.

    Text that reads as a number (``0039``, ``40.``, ``.5``, ``12,500``) is written
    as the TOML number it means, since TOML itself refuses those spellings.
    """
    from broker.scenario.build import _toml_str

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _text(v)
    text = _text(v).strip()
    if text.lower() in ("true", "false") or text.lower() in _NON_FINITE:
        return text.lower()
    plain = text.replace(",", "")
    if PLAIN_NUMBER.fullmatch(plain):
        if any(ch in plain for ch in ".eE"):
            return repr(float(plain))
        return str(int(plain))
    return _toml_str(text)


def _settings_toml(rows: list[tuple[object, ...]], label: str) -> str:
    """The settings sheet's rows as the text of ``scenario.toml``.

    Each row is checked on its own, so that a problem names the sheet's row: a
    setting name TOML cannot hold, a setting given twice, a name that is both a
    setting and a table of settings, or a blank value.
    """
    from broker.scenario.build import _toml_str

    tables: dict[str, list[str]] = {"": []}
    problems = []
    first: dict[str, int] = {}
    for n, row in enumerate(rows[1:], start=2):
        key = _text(row[0] if row else None).strip()
        if not key:
            continue
        if not all(_KEY_PART.fullmatch(part) for part in key.split(".")):
            problems.append(
                Problem(
                    label,
                    "not a setting name; expected a name such as name, round.weeks or "
                    "weights.distance_per_km (letters, digits, _ and -, with a dot after "
                    "the table)",
                    row=n,
                    column="setting",
                    value=key,
                )
            )
            continue
        clash = next(
            (
                (other, m)
                for other, m in first.items()
                if other == key or other.startswith(key + ".") or key.startswith(other + ".")
            ),
            None,
        )
        if clash is not None:
            other, m = clash
            why = (
                f"setting given twice (first on row {m})"
                if other == key
                else f"clashes with {other!r} on row {m}: a name cannot be both a setting "
                "and a table of settings"
            )
            problems.append(Problem(label, why, row=n, column="setting", value=key))
            continue
        first[key] = n
        value = row[1] if len(row) > 1 else None
        if value is None or _text(value).strip() == "":
            problems.append(Problem(label, "blank value for a setting", row=n, column="value"))
            continue
        table, _, name = key.rpartition(".")
        toml = _toml_str(_text(value).strip()) if key in _TEXT_SETTINGS else _toml_value(value)
        tables.setdefault(table, []).append(f"{name} = {toml}")
    if problems:
        raise InputError(problems)
    lines = tables.pop("")
    for table, entries in tables.items():
        lines += ["", f"[{table}]", *entries]
    return "\n".join(lines) + "\n"


def _sheet_label(path: Path, sheet: str) -> str:
    return f"{path}, sheet '{sheet}'"


@contextmanager
def _relabelled(mapping: dict[str, str]) -> Iterator[None]:
    """Warnings logged meanwhile name the sheet instead of the temporary file."""

    def relabel(record: logging.LogRecord) -> bool:
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                dataclasses.replace(a, file=mapping.get(a.file, a.file))
                if isinstance(a, Problem)
                else a
                for a in record.args
            )
        return True

    LOG.addFilter(relabel)
    try:
        yield
    finally:
        LOG.removeFilter(relabel)


def read_workbook(path: str | Path) -> Scenario:
    """Read and validate the scenario in the workbook ``path`` (see the module docstring).

    Raises
    ------
    broker.errors.InputError
        Naming workbook, sheet, row, column, value and what was expected.
    """
    from openpyxl import load_workbook

    from broker.scenario.read import read_scenario

    p = Path(path)
    label = str(p)
    if not p.is_file():
        raise InputError.one(label, "workbook not found")
    data = p.read_bytes()
    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise InputError.one(
            label, f"cannot open as an .xlsx workbook ({type(exc).__name__}: {exc})"
        ) from None
    sheets = {ws.title.strip().lower().removesuffix(".csv"): ws for ws in wb.worksheets}
    missing = [t for t in ("supporters", "clients") if t not in sheets]
    if missing:
        wb.close()
        raise InputError.one(
            label,
            f"no sheet named {' or '.join(repr(m) for m in missing)}; expected one sheet per "
            f"table named {', '.join(TABLES)} (and optionally '{SETTINGS_SHEET}'); found "
            + ", ".join(repr(ws.title) for ws in wb.worksheets),
        )
    with tempfile.TemporaryDirectory(prefix="broker-xlsx-") as tmp:
        root = Path(tmp)
        mapping = {}
        for table in TABLES:
            if table not in sheets:
                continue
            ws = sheets[table]
            rows = [[_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
            while rows and not any(c.strip() for c in rows[-1]):
                rows.pop()
            width = max(
                (max((k + 1 for k, c in enumerate(r) if c), default=0) for r in rows), default=0
            )
            rows = [r[:width] + [""] * (width - len(r[:width])) for r in rows]
            (root / f"{table}.csv").write_text(format_csv(rows), encoding="utf-8")
            mapping[str(root / f"{table}.csv")] = _sheet_label(p, ws.title)
        settings_label = _sheet_label(p, SETTINGS_SHEET)
        if SETTINGS_SHEET in sheets:
            settings = [tuple(r) for r in sheets[SETTINGS_SHEET].iter_rows(values_only=True)]
            settings_label = _sheet_label(p, sheets[SETTINGS_SHEET].title)
            toml = _settings_toml(settings, settings_label)
        else:
            from broker.scenario.build import _toml_str

            toml = f"name = {_toml_str(p.stem)}\n"
        wb.close()
        (root / "scenario.toml").write_text(toml, encoding="utf-8")
        mapping[str(root / "scenario.toml")] = settings_label
        mapping[str(root)] = label
        try:
            with _relabelled(mapping):
                scenario = read_scenario(root)
        except InputError as exc:
            raise InputError(
                [_relabel_problem(q, mapping, root, p) for q in exc.problems]
            ) from None
    return scenario.replace(source=p, inputs_sha256=hashlib.sha256(data).hexdigest())


def _relabel_problem(q: Problem, mapping: dict[str, str], root: Path, path: Path) -> Problem:
    if q.file in mapping:
        return dataclasses.replace(q, file=mapping[q.file])
    if q.file.startswith(str(root)):
        name = Path(q.file).name.removesuffix(".csv")
        return dataclasses.replace(q, file=_sheet_label(path, name))
    return q
