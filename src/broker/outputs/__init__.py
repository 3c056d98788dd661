"""Readable outputs of a round: tables with names, a workbook and a web page.

Consumers of a finished round (:class:`broker.pipeline.MatchingRound`): nothing
here solves or changes a result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from broker.csvtext import write_csv
from broker.pipeline import MatchingRound

READABLE_FILES = (
    "supporters.csv",
    "authorities.csv",
    "fixes.csv",
    "alternates.csv",
    "report.xlsx",
    "report.html",
)
"""Files ``broker run`` writes beside ``assignments.csv`` and ``summary.json`` (the
fixes and alternates unless ``--no-fixes`` or ``--alternates 0``)."""


def write_readable(
    rnd: MatchingRound,
    folder: Path,
    figures: dict[str, Any],
    *,
    fixes: pd.DataFrame | None = None,
    alternates: pd.DataFrame | None = None,
    draw_map: bool = True,
) -> dict[str, str]:
    """Write ``supporters.csv``, ``authorities.csv``, ``report.xlsx``, ``report.html``
    (with its map when ``draw_map``) and, when given, ``fixes.csv`` and
    ``alternates.csv`` into ``folder``; return ``{key: file name}``.
    """
    from broker.outputs.html import write_html
    from broker.outputs.tables import assignments_table, authorities_table, supporters_table
    from broker.outputs.workbook import write_workbook

    names: dict[str, str] = {}
    supporters = supporters_table(rnd)
    authorities = authorities_table(rnd)
    write_csv(_formatted(supporters), folder / "supporters.csv")
    names["supporters"] = "supporters.csv"
    write_csv(_formatted(authorities), folder / "authorities.csv")
    names["authorities"] = "authorities.csv"
    if fixes is not None:
        write_csv(_formatted(fixes), folder / "fixes.csv")
        names["fixes"] = "fixes.csv"
    if alternates is not None:
        write_csv(_formatted(alternates), folder / "alternates.csv")
        names["alternates"] = "alternates.csv"
    tables = {
        "summary": figures,
        "assignments": assignments_table(rnd, fixes),
        "supporters": supporters,
        "authorities": authorities,
        "fixes": fixes,
        "alternates": alternates,
    }
    write_workbook(folder / "report.xlsx", **tables)  # type: ignore[arg-type]
    names["report_xlsx"] = "report.xlsx"
    write_html(folder / "report.html", rnd, draw_map=draw_map, **tables)  # type: ignore[arg-type]
    names["report_html"] = "report.html"
    return names


def _formatted(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers written briefly: ``:g`` for floats (NaN blank), as they are otherwise."""
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = [("" if pd.isna(v) else f"{v:.2f}".rstrip("0").rstrip(".")) for v in out[c]]
    return out
