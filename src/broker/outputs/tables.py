"""Readable tables of a round: who was matched, with names; supporters and authorities.

Every table is a pure function of a :class:`~broker.pipeline.MatchingRound` (and,
for the fix columns, of the fixes found for it): nothing is solved here.

* :func:`assignments_table`: the checked outcome rows in the column order
  ``broker check`` reads (:data:`broker.report.ASSIGNMENT_COLUMNS`), then names,
  URNs, authorities, priority and supporter kind (:data:`READABLE_COLUMNS`), then
  the first fix of each unmatched school (:data:`FIX_COLUMNS`).
* :func:`supporters_table`: per supporter, days committed against capacity (the
  busiest term when there are several), spare days and clients served.
* :func:`authorities_table`: per authority of the clients, matched and unmatched
  schools, priority, need, cost and what is left of its budget.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broker.pipeline import MatchingRound
from broker.problem import LimitKind
from broker.units import DAY_SCALE, MONEY_SCALE

READABLE_COLUMNS = [
    "client_name",
    "client_urn",
    "la_code",
    "la_name",
    "priority",
    "supporter_name",
    "supporter_urn",
    "supporter_kind",
    "supporter_la_code",
]
"""Columns :func:`assignments_table` adds after the checked ones."""

FIX_COLUMNS = ["fix_kind", "fix_target", "fix_amount", "fix_text"]
"""The first fix of an unmatched school (all of them are in ``fixes.csv``)."""

SUPPORTER_COLUMNS = [
    "supporter_id",
    "name",
    "urn",
    "kind",
    "la_code",
    "la_name",
    "capacity_days",
    "days_committed",
    "spare_days",
    "clients_served",
    "cost_gbp",
    "status",
]

AUTHORITY_COLUMNS = [
    "la_code",
    "la_name",
    "clients",
    "matched",
    "unmatched",
    "priority_total",
    "priority_matched",
    "need_days",
    "need_days_matched",
    "cost_gbp",
    "budget_gbp",
    "budget_left_gbp",
]


def _text(frame: pd.DataFrame, col: str) -> pd.Series:
    """Column ``col`` as text ('' when absent or missing)."""
    if col not in frame.columns:
        return pd.Series([""] * len(frame), index=frame.index, dtype=object)
    return frame[col].map(
        lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
    )


def authority_names(rnd: MatchingRound, codes: pd.Series | list[str]) -> list[str]:
    """The name of each LA code: from ``authorities.csv`` if given, else the register's."""
    from broker.spread.geography import la_names

    a = rnd.scenario.authorities
    given = {}
    if len(a) and "name" in a.columns:
        given = {c: n for c, n in zip(a["la_code"], _text(a, "name"), strict=True) if n}
    codes = [str(c) for c in codes]
    looked_up = la_names(codes)
    return [
        given.get(c) or (str(n) if n != c else "") for c, n in zip(codes, looked_up, strict=True)
    ]


def assignments_table(rnd: MatchingRound, fixes: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per client and supporter, readable (see the module docstring).

    Parameters
    ----------
    rnd
        The round.
    fixes
        :func:`broker.explain.fixes.find_fixes` output; the first fix of each
        client fills the fix columns (blank for matched clients or without fixes).
    """
    from broker.report import ASSIGNMENT_COLUMNS

    t = rnd.outcomes[ASSIGNMENT_COLUMNS].copy()
    cli = rnd.scenario.clients.set_index("client_id")
    sup = rnd.scenario.supporters.set_index("supporter_id")
    cid, sid = t["client_id"], t["supporter_id"]
    t["client_name"] = _text(cli, "name").reindex(cid).to_numpy()
    t["client_urn"] = _text(cli, "urn").reindex(cid).to_numpy()
    t["la_code"] = cli["la_code"].reindex(cid).to_numpy()
    t["la_name"] = authority_names(rnd, t["la_code"])
    t["priority"] = cli["priority"].reindex(cid).to_numpy(np.int64)
    matched = (sid != "").to_numpy()
    for col, src in (
        ("supporter_name", "name"),
        ("supporter_urn", "urn"),
        ("supporter_kind", "kind"),
        ("supporter_la_code", "la_code"),
    ):
        values = _text(sup, src).reindex(sid[matched]).to_numpy()
        out = np.full(len(t), "", dtype=object)
        out[matched] = values
        t[col] = out
    for col in FIX_COLUMNS:
        t[col] = ""
    if fixes is not None and len(fixes):
        first = fixes.drop_duplicates("client_id").set_index("client_id")
        unmatched = t["status"] == "unmatched"
        for col in FIX_COLUMNS:
            values = first[col].reindex(t.loc[unmatched, "client_id"]).astype(object)
            t.loc[unmatched, col] = [_fix_cell(v) for v in values]
    return t.reset_index(drop=True)


def _fix_cell(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def supporters_table(rnd: MatchingRound) -> pd.DataFrame:
    """Per supporter: capacity, days committed, spare days and clients served.

    With several terms, ``capacity_days`` and ``days_committed`` are those of the
    busiest term (the one with least spare) and ``spare_days`` is the least spare
    over the terms. ``status`` is ``full`` (no spare days), ``spare`` or
    ``unused`` (no client).
    """
    p = rnd.candidates.problem
    chosen = np.asarray(rnd.result.pairs, dtype=np.int64)
    used = p.usage(chosen)
    cap_rows = np.flatnonzero(p.limit_kind == LimitKind.CAPACITY)
    owner = p.limit_owner[cap_rows]
    spare = np.full(p.n_supporters, np.iinfo(np.int64).max)
    committed = np.zeros(p.n_supporters, np.int64)
    capacity = np.zeros(p.n_supporters, np.int64)
    for r, j in zip(cap_rows.tolist(), owner.tolist(), strict=True):
        left = int(p.limit_rhs[r] - used[r])
        if left < spare[j]:
            spare[j], committed[j], capacity[j] = left, int(used[r]), int(p.limit_rhs[r])
    no_row = spare == np.iinfo(np.int64).max
    sup = rnd.scenario.supporters
    spare[no_row] = 0
    capacity[no_row] = np.round(sup["capacity_days"].to_numpy(float)[no_row] * DAY_SCALE)
    spare[no_row] = capacity[no_row]
    served = np.zeros(p.n_supporters, np.int64)
    np.add.at(served, p.pair_supporter[chosen], 1)
    cost = np.zeros(p.n_supporters, np.int64)
    np.add.at(cost, p.pair_supporter[chosen], p.pair_cost[chosen])
    status = np.where(served == 0, "unused", np.where(spare <= 0, "full", "spare"))
    out = pd.DataFrame(
        {
            "supporter_id": sup["supporter_id"].to_numpy(),
            "name": _text(sup, "name").to_numpy(),
            "urn": _text(sup, "urn").to_numpy(),
            "kind": sup["kind"].to_numpy(),
            "la_code": sup["la_code"].to_numpy(),
            "la_name": authority_names(rnd, sup["la_code"]),
            "capacity_days": capacity / DAY_SCALE,
            "days_committed": committed / DAY_SCALE,
            "spare_days": spare / DAY_SCALE,
            "clients_served": served,
            "cost_gbp": cost / MONEY_SCALE,
            "status": status,
        }
    )
    return out[SUPPORTER_COLUMNS]


def authorities_table(rnd: MatchingRound) -> pd.DataFrame:
    """Per authority of the clients: schools, priority, need, cost and budget left.

    ``budget_left_gbp`` is what the round leaves of the authority's budget (blank
    without one); spending counts the packages the authority funds.
    """
    p = rnd.candidates.problem
    cli = rnd.scenario.clients
    t = rnd.outcomes
    lead = t[(t["status"] != "unmatched") & (t["role"] == "lead")]
    matched_ids = set(lead["client_id"])
    is_matched = cli["client_id"].isin(matched_ids).to_numpy()
    cost_by_client = t.groupby("client_id")["cost_gbp"].sum()
    frame = pd.DataFrame(
        {
            "la_code": cli["la_code"].to_numpy(),
            "matched": is_matched.astype(int),
            "priority_total": cli["priority"].to_numpy(np.int64),
            "priority_matched": np.where(is_matched, cli["priority"].to_numpy(np.int64), 0),
            "need_days": cli["need_days"].to_numpy(float),
            "need_days_matched": np.where(is_matched, cli["need_days"].to_numpy(float), 0.0),
            "cost_gbp": cost_by_client.reindex(cli["client_id"]).fillna(0.0).to_numpy(),
        }
    )
    g = frame.groupby("la_code", sort=True)
    out = g.sum()
    out.insert(0, "clients", g.size())
    out.insert(2, "unmatched", out["clients"] - out["matched"])
    out = out.reset_index()
    out.insert(1, "la_name", authority_names(rnd, out["la_code"]))
    used = p.usage(np.asarray(rnd.result.pairs, dtype=np.int64))
    budget = np.full(len(out), np.nan)
    left = np.full(len(out), np.nan)
    rows = {
        p.limit_names[r].split(" ", 1)[1]: r
        for r in np.flatnonzero(p.limit_kind == LimitKind.GROUP_BUDGET).tolist()
        if p.limit_names[r].startswith("authority ")
    }
    a = rnd.scenario.authorities
    given = dict(zip(a["la_code"], a["budget_gbp"], strict=True)) if len(a) else {}
    for k, code in enumerate(out["la_code"]):
        if code in rows:
            r = rows[code]
            budget[k] = p.limit_rhs[r] / MONEY_SCALE
            left[k] = (p.limit_rhs[r] - used[r]) / MONEY_SCALE
        elif code in given and not np.isnan(given[code]):
            budget[k] = left[k] = float(given[code])
    out["budget_gbp"] = budget
    out["budget_left_gbp"] = left
    out["cost_gbp"] = out["cost_gbp"].round(2)
    out["need_days"] = out["need_days"].round(2)
    out["need_days_matched"] = out["need_days_matched"].round(2)
    return out[AUTHORITY_COLUMNS]
