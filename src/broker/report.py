"""Outputs of a round: ``assignments.csv``, ``summary.json`` and the terminal summary."""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import broker
from broker.csvtext import write_csv
from broker.high_need_share import high_need_share
from broker.outdir import RUN_OUTPUTS, staged_folder
from broker.pipeline import MatchingRound
from broker.units import OBJECTIVE_SCALE

ASSIGNMENT_COLUMNS = [
    "client_id",
    "supporter_id",
    "role",
    "mode",
    "status",
    "days_per_week",
    "cost_gbp",
    "distance_km",
    "reason",
    "reason_code",
]


def summary(rnd: MatchingRound) -> dict[str, object]:
    """The figures of a round as a JSON-ready dict."""
    r, p, t, cand = rnd.result, rnd.candidates.problem, rnd.outcomes, rnd.candidates
    kept = int(np.isin(cand.proposal_pairs, r.pairs).sum())
    n_prop = len(rnd.scenario.proposals)
    proposals = (
        {"proposals": {"total": n_prop, "kept": kept, "changed": n_prop - kept}} if n_prop else {}
    )
    matched = t[t["status"] != "unmatched"]
    reasons = t.loc[t["status"] == "unmatched", "reason_code"].value_counts().sort_index()
    need = rnd.scenario.clients["need_days"].to_numpy(float)
    lead = matched[matched["role"] == "lead"]
    return {
        "scenario": rnd.scenario.name,
        "scenario_dir": str(rnd.scenario.source.resolve()) if rnd.scenario.source else None,
        "broker_version": broker.__version__,
        "run_id": rnd.run_id,
        "started_at": rnd.started_at.isoformat(timespec="milliseconds"),
        "inputs_sha256": rnd.scenario.inputs_sha256,
        "clients": int(p.n_clients),
        "supporters": int(p.n_supporters),
        "candidate_pairs": int(p.n_pairs),
        "matched": int(len(lead)),
        "pinned": int(((t["status"] == "pinned") & (t["role"] == "lead")).sum()),
        "unmatched": int((t["status"] == "unmatched").sum()),
        "priority_total": int(rnd.scenario.clients["priority"].sum()),
        "priority_matched": int(rnd.check.priority_matched),
        "priority_bound": int(r.level1.bound) if cand.level1_scale == 1 else None,
        "priority_gap": round(r.level1.gap, 6),
        "level1_optimal": bool(r.level1.optimal),
        "level1_objective": int(r.level1.value),
        "level1_bound": int(r.level1.bound),
        "level1_scale": int(cand.level1_scale),
        "level2_points": round((r.level2.value + cand.proposal_weight * kept) / OBJECTIVE_SCALE, 3),
        "level2_bound_points": (
            round(r.level2.bound / OBJECTIVE_SCALE, 3) if not cand.proposal_weight else None
        ),
        "level2_gap": round(r.level2.gap, 6),
        "level2_optimal": bool(r.level2.optimal),
        **proposals,
        "need_days_total": round(float(need.sum()), 2),
        "need_days_matched": round(float(lead["days_per_week"].sum()), 2),
        "total_cost_gbp": round(float(matched["cost_gbp"].sum()), 2),
        "mean_distance_km": (
            round(float(matched["distance_km"].mean()), 2) if len(matched) else None
        ),
        "high_need": high_need_share(rnd.scenario.clients, lead["client_id"]),
        "unmatched_reasons": {str(k): int(v) for k, v in reasons.items()},
        "solver": r.solver,
        "solver_status": r.status.value,
        "stopped_by": r.stopped_by,
        "solver_params": {k: v for k, v in r.params.items()},
        "runtime_s": round(r.runtime_s, 3),
        "timings_s": {k: round(v, 3) for k, v in rnd.timings.items()},
        "seed": int(rnd.seed),
        "solver_seed": int(rnd.solver_seed),
        "checked": {"ok": rnd.check.ok, "violations": len(rnd.check.violations)},
        "python": platform.python_version(),
    }


def write_outputs(
    rnd: MatchingRound,
    out: str | Path,
    *,
    draw_map: bool = False,
    force: bool = False,
    extra: dict[str, Any] | None = None,
    extra_files: Callable[[Path], list[str]] | None = None,
    fixes: pd.DataFrame | None = None,
    alternates: pd.DataFrame | None = None,
    readable: bool = True,
) -> dict[str, Path]:
    """Write ``assignments.csv``, ``summary.json`` and, with ``draw_map``, ``map.png``.

    With ``readable`` (the default) also ``supporters.csv``, ``authorities.csv``,
    ``report.xlsx`` and ``report.html``, with ``fixes.csv`` and ``alternates.csv`` when given
    (:mod:`broker.outputs`); ``assignments.csv`` then carries names and the first
    fix of each unmatched client after its checked columns.

    The files are written into a temporary sibling of ``out`` that replaces it
    when all are complete (:func:`broker.outdir.staged_folder`): ``out`` must be
    new or empty, or with ``force`` a folder holding only these files. Text cells
    of ``assignments.csv`` are neutralised against formula injection
    (:mod:`broker.csvtext`). ``extra`` adds fields to ``summary.json`` (the
    ledger's ``round_id``); ``extra_files`` writes more files into the folder
    before it is committed and returns their names (a top-up round's tables).
    """
    folder = Path(out)
    with staged_folder(folder, owned=RUN_OUTPUTS, force=force) as tmp:
        if readable:
            from broker.outputs.tables import assignments_table

            t = assignments_table(rnd, fixes)
        else:
            t = rnd.outcomes[ASSIGNMENT_COLUMNS].copy()
        t["cost_gbp"] = t["cost_gbp"].map(lambda v: f"{v:.2f}")
        t["days_per_week"] = t["days_per_week"].map(lambda v: f"{v:g}")
        t["distance_km"] = t["distance_km"].map(lambda v: "" if np.isnan(v) else f"{v:.2f}")
        names = {"assignments": "assignments.csv", "summary": "summary.json"}
        write_csv(t, tmp / names["assignments"])
        figures = {**summary(rnd), **(extra or {})}
        (tmp / names["summary"]).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        if readable:
            from broker.outputs import write_readable

            names.update(
                write_readable(
                    rnd, tmp, figures, fixes=fixes, alternates=alternates, draw_map=draw_map
                )
            )
        for name in extra_files(tmp) if extra_files else ():
            names[name] = name
        if draw_map:
            from broker.maps import round_map

            round_map(rnd, tmp / "map.png")
            names["map"] = "map.png"
    return {k: folder / v for k, v in names.items()}


_NUMERIC_ASSIGNMENT_COLUMNS = {
    "days_per_week": "days per week (the client's need)",
    "cost_gbp": "pounds (need x weeks x day rate)",
}


def read_assignments(path: str | Path) -> pd.DataFrame:
    """Read an ``assignments.csv`` for checking, as written by ``broker run`` or a spreadsheet.

    Uses the scenario reader's CSV path (encodings, delimiters, neutralised
    cells). ``client_id`` and ``supporter_id`` are required (blank supporter:
    unmatched); ``days_per_week`` and ``cost_gbp``, when present, are parsed as
    numbers (``7,800.00`` is 7800) and must not be blank on a matched row. Other
    columns are kept as text. The index is the spreadsheet row.

    Raises
    ------
    broker.errors.InputError
        Naming file, row, column and value for each cell that cannot be used.
    """
    from broker.errors import ProblemCollector
    from broker.scenario.read import number_text, read_table

    p = Path(path)
    file = str(p)
    table = read_table(p, ("client_id", "supporter_id"))
    delimiter = table.attrs.get("delimiter", ",")
    matched = (table["supporter_id"] != "").to_numpy()
    errors = ProblemCollector()
    for col, what in _NUMERIC_ASSIGNMENT_COLUMNS.items():
        if col not in table.columns:
            continue
        values = np.full(len(table), np.nan)
        for k, (row, v) in enumerate(table[col].items()):
            if v == "":
                if matched[k]:
                    errors.add(
                        file, f"blank on a matched row; expected {what}", row=row, column=col
                    )
                continue
            try:
                x = number_text(v, delimiter=delimiter)
            except ValueError as exc:
                errors.add(file, f"{exc}; expected {what}", row=row, column=col, value=v)
                continue
            if not math.isfinite(x):
                errors.add(
                    file, f"not a finite number; expected {what}", row=row, column=col, value=v
                )
                continue
            values[k] = x
        table[col] = values
    errors.raise_if_any()
    return table


def format_summary(rnd: MatchingRound) -> str:
    """A short, readable summary for the terminal."""
    s: dict[str, Any] = summary(rnd)
    lines = [
        f"broker {s['broker_version']}: {s['scenario']}",
        f"  clients {s['clients']}, supporters {s['supporters']}, allowed pairs "
        f"{s['candidate_pairs']:,}",
        f"  matched {s['matched']} of {s['clients']} clients"
        + (f" ({s['pinned']} pinned)" if s["pinned"] else "")
        + f"; need met {s['need_days_matched']:g} of {s['need_days_total']:g} days/week",
        f"  priority matched {s['priority_matched']} of {s['priority_total']} "
        + (
            f"(best bound {s['priority_bound']}, gap {100 * float(s['priority_gap']):.2f}%)"
            if s["priority_bound"] is not None
            else f"(high-need weighted objective {s['level1_objective'] / s['level1_scale']:g}, "
            f"bound {s['level1_bound'] / s['level1_scale']:g}, "
            f"gap {100 * float(s['priority_gap']):.2f}%)"
        ),
        f"  total cost £{s['total_cost_gbp']:,.2f}"
        + (f", mean distance {s['mean_distance_km']:.1f} km" if s["mean_distance_km"] else ""),
        f"  solver {s['solver']}: {s['solver_status']} (stopped by {s['stopped_by']}) in "
        f"{s['runtime_s']:.2f}s, seed {s['seed']}"
        + (f" (solver seed {s['solver_seed']})" if s["solver_seed"] != s["seed"] else ""),
        "  independent check: " + ("passed" if rnd.check.ok else "FAILED"),
    ]
    if s["high_need"]:
        hn = s["high_need"]
        lines.append(
            f"  high-need schools: {hn['matched']} of {hn['clients']} matched; "
            f"{100 * hn['share_of_matched_need']:.1f}% of matched need "
            f"({100 * hn['share_of_need']:.1f}% of all need)"
        )
    if "proposals" in s:
        pr = s["proposals"]
        lines.append(
            f"  earlier proposals: {pr['kept']} of {pr['total']} kept, {pr['changed']} changed"
        )
    if s["unmatched_reasons"]:
        reasons = ", ".join(f"{k} {v}" for k, v in s["unmatched_reasons"].items())  # type: ignore[union-attr]
        lines.append(f"  unmatched by reason: {reasons}")
    return "\n".join(lines)
