"""Two round results -> who gained, lost or changed supporter, and per-authority deltas.

A result is a :class:`RoundView`: one row per client and role with the supporter
(blank if unmatched) and the client's authority, priority and need. Views come
from a run folder (:func:`view_from_folder`), a recorded round
(:func:`view_from_round`) or an in-memory round (:func:`view_from_round_result`),
so ``broker diff`` and what-if comparisons share :func:`diff`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from broker.csvtext import check_replaceable, write_csv
from broker.errors import InputError, warn
from broker.outdir import make_folder

VIEW_COLUMNS = [
    "client_id",
    "role",
    "supporter_id",
    "la_code",
    "priority",
    "need_days",
    "days_per_week",
    "cost_gbp",
    "distance_km",
]
CLIENT_COLUMNS = [
    "client_id",
    "role",
    "la_code",
    "priority",
    "before_supporter_id",
    "after_supporter_id",
    "change",
    "before_cost_gbp",
    "after_cost_gbp",
    "before_distance_km",
    "after_distance_km",
]
CHANGES = ("gained", "lost", "changed", "same")


@dataclass(frozen=True, eq=False)
class RoundView:
    """One round's answer, by client and role (:data:`VIEW_COLUMNS`)."""

    label: str
    table: pd.DataFrame


def _normalise(table: pd.DataFrame) -> pd.DataFrame:
    t = table.copy()
    if "role" not in t:
        t["role"] = "lead"
    t["role"] = t["role"].map(lambda v: "lead" if _blank(v) else str(v))
    t["supporter_id"] = t["supporter_id"].map(lambda v: "" if _blank(v) else str(v))
    for col in ("need_days", "days_per_week", "cost_gbp", "distance_km"):
        t[col] = pd.to_numeric(t[col].map(lambda v: np.nan if _blank(v) else float(v)))
    t["priority"] = t["priority"].astype(np.int64)
    t["la_code"] = t["la_code"].astype(str)
    t["client_id"] = t["client_id"].astype(str)
    return t[VIEW_COLUMNS].reset_index(drop=True)


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or str(v) == ""


def view_from_folder(path: str | Path, scenario: str | Path | None = None) -> RoundView:
    """A run folder written by ``broker run`` (``assignments.csv``, ``summary.json``).

    The clients' authority, priority and need come from the scenario: ``scenario``
    if given, else the folder's ``topup_scenario/``, else the ``scenario_dir``
    recorded in ``summary.json``.
    """
    from broker.report import read_assignments
    from broker.scenario import read_scenario

    root = Path(path)
    assignments = root / "assignments.csv"
    if not assignments.is_file():
        raise InputError.one(
            str(root),
            "not a run folder: no assignments.csv; expected a folder written by broker run, "
            "or a round id with --db",
        )
    recorded: dict[str, Any] = {}
    if (root / "summary.json").is_file():
        try:
            recorded = json.loads((root / "summary.json").read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            recorded = {}
        if not isinstance(recorded, dict):
            recorded = {}
    source: Path | None = Path(scenario) if scenario else None
    if source is None and (root / "topup_scenario" / "scenario.toml").is_file():
        source = root / "topup_scenario"
    if source is None and recorded.get("scenario_dir") and Path(recorded["scenario_dir"]).is_dir():
        source = Path(recorded["scenario_dir"])
    if source is None:
        raise InputError.one(
            str(root),
            "cannot find the scenario this round solved; pass it with --scenario DIR",
        )
    sc = read_scenario(source)
    solved = recorded.get("inputs_sha256")
    if isinstance(solved, str) and solved and sc.inputs_sha256 != solved:
        # priorities, authorities and needs come from the scenario: a changed one
        # would give the round figures it never had
        what = (
            f"the scenario {source} is not the one this round solved (its inputs_sha256 "
            "differs from the one summary.json records)"
        )
        if scenario is None:
            raise InputError.one(
                str(root / "summary.json"),
                f"{what}; it has changed since the round. Pass the scenario this round "
                "solved with --scenario DIR",
                column="inputs_sha256",
                value=solved,
            )
        warn(str(source), f"{what}; priorities and needs are read from it as it is now")
    table = read_assignments(assignments).reset_index(drop=True)
    cli = sc.clients.set_index("client_id")
    unknown = sorted(set(table["client_id"]) - set(cli.index))
    if unknown:
        raise InputError.one(
            str(assignments),
            f"client(s) not in the scenario {source}: {', '.join(unknown[:5])}; "
            "pass the scenario this round solved with --scenario DIR",
            column="client_id",
        )
    ids = table["client_id"]
    table["la_code"] = cli.loc[ids, "la_code"].to_numpy()
    table["priority"] = cli.loc[ids, "priority"].to_numpy()
    table["need_days"] = cli.loc[ids, "need_days"].to_numpy()
    for col in ("days_per_week", "cost_gbp", "distance_km"):
        if col not in table:
            table[col] = ""
    return RoundView(str(root), _normalise(table))


def view_from_round(session: Any, round_id: int) -> RoundView:
    """A round recorded in the ledger."""
    from broker.ledger.repository import round_outcomes

    return RoundView(f"round {round_id}", _normalise(round_outcomes(session, round_id)))


def view_from_round_result(rnd: Any, label: str = "round") -> RoundView:
    """A :class:`broker.pipeline.MatchingRound` held in memory."""
    from broker.ledger.run import outcome_table

    return RoundView(label, _normalise(outcome_table(rnd)))


@dataclass(frozen=True, eq=False)
class Diff:
    """What changed between two rounds.

    Attributes
    ----------
    clients
        One row per client and role (:data:`CLIENT_COLUMNS`); ``change`` is
        ``gained`` (unmatched before, matched after), ``lost``, ``changed``
        (another supporter) or ``same``.
    authorities
        One row per authority, then a row ``all``: matched clients, priority
        matched, cost, mean distance and need met, before, after and delta.
    """

    before: str
    after: str
    clients: pd.DataFrame
    authorities: pd.DataFrame

    def counts(self) -> dict[str, int]:
        c = self.clients["change"]
        return {k: int((c == k).sum()) for k in CHANGES}


def diff(before: RoundView, after: RoundView) -> Diff:
    """Compare two rounds client by client and authority by authority."""
    a = before.table.set_index(["client_id", "role"])
    b = after.table.set_index(["client_id", "role"])
    keys = sorted(set(a.index) | set(b.index))
    rows = []
    for key in keys:
        ra = a.loc[key] if key in a.index else None
        rb = b.loc[key] if key in b.index else None
        info = rb if rb is not None else ra
        assert info is not None
        sa = ra["supporter_id"] if ra is not None else ""
        sb = rb["supporter_id"] if rb is not None else ""
        if sa == sb:
            change = "same"
        elif not sa:
            change = "gained"
        elif not sb:
            change = "lost"
        else:
            change = "changed"
        rows.append(
            (
                *key,
                info["la_code"],
                int(info["priority"]),
                sa,
                sb,
                change,
                _num(ra, "cost_gbp", sa),
                _num(rb, "cost_gbp", sb),
                _num(ra, "distance_km", sa),
                _num(rb, "distance_km", sb),
            )
        )
    clients = pd.DataFrame(rows, columns=CLIENT_COLUMNS)
    return Diff(before.label, after.label, clients, _authorities(before, after, clients))


def _num(row: Any, col: str, supporter: str) -> float:
    if row is None or not supporter:
        return float("nan")
    return float(row[col])


def _per_la(t: pd.DataFrame) -> pd.DataFrame:
    m = t[t["supporter_id"] != ""]
    by_client = m.drop_duplicates("client_id")
    g = m.groupby("la_code")
    out = pd.DataFrame(
        {
            "matched": by_client.groupby("la_code")["client_id"].count(),
            "priority": by_client.groupby("la_code")["priority"].sum(),
            "cost_gbp": g["cost_gbp"].sum(),
            "mean_distance_km": g["distance_km"].mean(),
            "need_met_days": g["days_per_week"].sum(),
        }
    )
    total = pd.DataFrame(
        {
            "matched": [by_client["client_id"].count()],
            "priority": [by_client["priority"].sum()],
            "cost_gbp": [m["cost_gbp"].sum()],
            "mean_distance_km": [m["distance_km"].mean() if len(m) else np.nan],
            "need_met_days": [m["days_per_week"].sum()],
        },
        index=["all"],
    )
    return pd.concat([out, total])


def _authorities(before: RoundView, after: RoundView, clients: pd.DataFrame) -> pd.DataFrame:
    pa, pb = _per_la(before.table), _per_la(after.table)
    las = sorted((set(before.table["la_code"]) | set(after.table["la_code"])) - {"all"}) + ["all"]
    pa, pb = pa.reindex(las), pb.reindex(las)
    out = pd.DataFrame({"la_code": las})
    counts = clients.assign(n=1).pivot_table(
        index="la_code", columns="change", values="n", aggfunc="sum", fill_value=0
    )
    for k in ("gained", "lost", "changed"):
        col = counts[k] if k in counts else pd.Series(dtype=float)
        vals = [int(col.get(la, 0)) for la in las[:-1]]
        out[k] = vals + [sum(vals)]
    for name, fill in (
        ("matched", 0),
        ("priority", 0),
        ("cost_gbp", 0.0),
        ("mean_distance_km", np.nan),
        ("need_met_days", 0.0),
    ):
        x = pa[name].fillna(fill).to_numpy(float)
        y = pb[name].fillna(fill).to_numpy(float)
        out[f"{name}_before"] = x
        out[f"{name}_after"] = y
        out[f"{name}_delta"] = y - x
    for c in ("matched_before", "matched_after", "matched_delta"):
        out[c] = out[c].astype(np.int64)
    for c in ("priority_before", "priority_after", "priority_delta"):
        out[c] = out[c].astype(np.int64)
    for c in [c for c in out.columns if c.startswith(("cost", "need", "mean"))]:
        out[c] = out[c].round(4 if c.startswith("cost") else 2)
    return out


def write_diff(d: Diff, folder: str | Path) -> dict[str, Path]:
    """Write ``diff.csv`` (clients) and ``diff_authorities.csv`` into ``folder``.

    Raises
    ------
    broker.errors.InputError
        If ``folder`` is a file, or holds a ``diff.csv`` or ``diff_authorities.csv``
        that is not an earlier diff (see :func:`broker.csvtext.check_replaceable`).
    """
    root = Path(folder)
    if root.exists() and not root.is_dir():
        raise InputError.one(str(root), "is a file; expected a folder for the diff", column="--out")
    paths = {"diff": root / "diff.csv", "diff_authorities": root / "diff_authorities.csv"}
    check_replaceable(paths["diff"], d.clients.columns, "--out")
    check_replaceable(paths["diff_authorities"], d.authorities.columns, "--out")
    make_folder(root)
    write_csv(d.clients, paths["diff"])
    write_csv(d.authorities, paths["diff_authorities"])
    return paths


def format_diff(d: Diff, max_rows: int = 15) -> str:
    """A short table for the terminal."""
    n = d.counts()
    lines = [
        f"diff {d.before} -> {d.after}: {n['gained']} gained, {n['lost']} lost, "
        f"{n['changed']} changed supporter, {n['same']} unchanged"
    ]
    moved = d.clients[d.clients["change"] != "same"]
    if len(moved):
        lines.append(f"  {'client':<12} {'la':<4} {'prio':>4}  {'before':<12} {'after':<12} change")
        for r in moved.head(max_rows).itertuples(index=False):
            lines.append(
                f"  {r.client_id:<12} {r.la_code:<4} {r.priority:>4}  "
                f"{r.before_supporter_id or '-':<12} {r.after_supporter_id or '-':<12} {r.change}"
            )
        if len(moved) > max_rows:
            lines.append(f"  ... and {len(moved) - max_rows} more in diff.csv")
    a = d.authorities
    changed = a[
        (a["la_code"] != "all")
        & (
            (a["priority_delta"] != 0)
            | (a["cost_gbp_delta"].abs() > 0.005)
            | (a["gained"] + a["lost"] + a["changed"] > 0)
        )
    ]
    show = pd.concat([changed.head(max_rows), a[a["la_code"] == "all"]])
    lines.append(
        f"  {'la':<4} {'matched':>9} {'priority':>10} {'cost £':>14} {'mean km':>9} "
        f"{'need days':>10}"
    )
    for r in show.itertuples(index=False):
        lines.append(
            f"  {r.la_code:<4} {r.matched_after:>5} {r.matched_delta:>+3} "
            f"{r.priority_after:>6} {r.priority_delta:>+3} "
            f"{r.cost_gbp_delta:>+14,.2f} {_fmt(r.mean_distance_km_delta):>9} "
            f"{r.need_met_days_delta:>+10.2f}"
        )
    return "\n".join(lines)


def _fmt(v: float) -> str:
    return "-" if np.isnan(v) else f"{v:+.2f}"
