"""``report.xlsx``: the round as a workbook a programme manager can sign off.

Sheets: **Summary** (the figures of ``summary.json``), **Matched** (one row per
client and supporter, with names), **Unmatched** (reason and every fix found),
**Alternates** (when computed), **Supporters** (days committed against capacity)
and **Authorities**. Each sheet has a bold, frozen header row, a filter and
column widths fitted to the text.

Text is always stored as text: a cell that starts with ``=`` is never a formula
(the workbook equivalent of :func:`broker.csvtext.neutralise`). A workbook cannot
hold control characters (other than tab, line feed and carriage return): each one
in an identifier or name is shown as its escape, ``\\x1b`` for ESC, so the row
stays and the character is visible. The CSV and JSON outputs keep the exact text.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

MAX_WIDTH = 60
"""Widest column, in characters (longer text wraps)."""

MATCHED_COLUMNS = [
    "client_id",
    "client_name",
    "client_urn",
    "la_name",
    "priority",
    "status",
    "role",
    "mode",
    "supporter_id",
    "supporter_name",
    "supporter_kind",
    "days_per_week",
    "cost_gbp",
    "distance_km",
]
UNMATCHED_COLUMNS = [
    "client_id",
    "client_name",
    "client_urn",
    "la_name",
    "priority",
    "reason_code",
    "reason",
]


def _visible(text: str) -> str:
    """``text`` with every control character a workbook cannot hold escaped (the
    characters openpyxl refuses)."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _cell_value(v: object) -> object:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()  # type: ignore[union-attr]
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)  # JSON escapes control characters itself
    if isinstance(v, str):
        return _visible(v)
    return v


def _sheet(wb: Any, title: str, frame: pd.DataFrame) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    columns = [str(c) for c in frame.columns]
    ws.append(columns)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [len(c) for c in columns]
    for values in frame.itertuples(index=False, name=None):
        row = [_cell_value(v) for v in values]
        ws.append(row)
        for k, v in enumerate(row):
            if v is not None:
                widths[k] = max(widths[k], min(len(str(v)), MAX_WIDTH))
    for row_cells in ws.iter_rows(min_row=2):
        for cell in row_cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula
                if len(cell.value) > MAX_WIDTH:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
    for k, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(k)].width = w + 2
    ws.freeze_panes = "A2"
    if len(frame):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"


def _summary_rows(summary: dict[str, Any]) -> pd.DataFrame:
    rows: list[tuple[str, object]] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            rows.append((prefix, value))

    walk("", summary)
    return pd.DataFrame(rows, columns=["figure", "value"])


def unmatched_table(assignments: pd.DataFrame, fixes: pd.DataFrame | None) -> pd.DataFrame:
    """Unmatched clients with their reason, then one row per fix found (if any)."""
    un = assignments.loc[assignments["status"] == "unmatched", UNMATCHED_COLUMNS]
    if fixes is None or fixes.empty:
        return un.reset_index(drop=True)
    cols = ["client_id", "fix_kind", "fix_target", "fix_amount", "fix_unit", "fix_text"]
    merged = un.merge(fixes[[c for c in cols if c in fixes.columns]], on="client_id", how="left")
    merged = merged.astype(object)
    return merged.where(merged.notna(), "").reset_index(drop=True)


def write_workbook(
    path: str | Path,
    *,
    summary: dict[str, Any],
    assignments: pd.DataFrame,
    supporters: pd.DataFrame,
    authorities: pd.DataFrame,
    fixes: pd.DataFrame | None = None,
    alternates: pd.DataFrame | None = None,
) -> Path:
    """Write ``report.xlsx`` to ``path`` (see the module docstring) and return it."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    _sheet(wb, "Summary", _summary_rows(summary))
    matched = assignments[assignments["status"] != "unmatched"]
    _sheet(wb, "Matched", matched[MATCHED_COLUMNS].reset_index(drop=True))
    _sheet(wb, "Unmatched", unmatched_table(assignments, fixes))
    if alternates is not None and not alternates.empty:
        _sheet(wb, "Alternates", alternates)
    _sheet(wb, "Supporters", supporters)
    _sheet(wb, "Authorities", authorities)
    out = Path(path)
    wb.save(out)
    return out
