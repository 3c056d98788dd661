"""The best supporters for one urgent request, given everything already agreed.

For a client in the scenario, :func:`recommend` finds the supporters the hard
rules allow (reach, phase, network, authority, conflicts, declined pairs, the
history rules of :mod:`broker.ledger.topup`), using
:func:`broker.candidates.build_candidates` on a one-client copy of the scenario.
It then checks each against what is left once the ledger's current deployments
are counted: the supporter's days (committed and proposed work) and the
authority's and programme's budgets.

A supporter with room displaces nothing. One without room can still be offered if
dropping *proposals* (not yet contracted) of lower priority frees enough; the
lowest-priority ones are chosen first, and named. Committed work is never
displaced. Supporters are ranked: no displacement first, then the least priority
displaced, then the level-2 score (cost, distance, penalties) of the pair.

What is left is computed on the problem's generic limits (capacity per
supporter and term, authority and programme budgets): :func:`held_usage` maps
each held deployment onto those rows, and :func:`residuals` subtracts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from broker.errors import InputError
from broker.ledger.stages import OCCUPYING, PROPOSALS, Stage
from broker.ledger.topup import _history_columns, history_rules, terms_of
from broker.problem import LEAD, LimitKind, ProblemData
from broker.scenario.model import Scenario
from broker.units import MONEY_SCALE, OBJECTIVE_SCALE

RECOMMEND_COLUMNS = [
    "rank",
    "supporter_id",
    "name",
    "kind",
    "la_code",
    "cost_gbp",
    "distance_km",
    "level2_points",
    "days_free_after",
    "displaces",
    "displaced_priority",
]

HOLDING = frozenset(OCCUPYING | PROPOSALS)
"""Deployments whose days and money are held now."""


def _units(v: object, scale: int) -> int:
    return int((Decimal(str(v)) * scale).to_integral_value())


def held_usage(p: ProblemData, held: pd.DataFrame) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each held deployment, the limit rows of ``p`` it uses and how much.

    Days count against its supporter's capacity rows in the terms it occupies;
    its cost against its authority's budget row and the programme budget row.
    This is the one place that maps ledger rows onto the problem's limits.
    """
    index = {s: j for j, s in enumerate(p.supporter_ids)}
    la_row: dict[str, int] = {}
    for r in np.flatnonzero(p.limit_kind == LimitKind.GROUP_BUDGET):
        name = p.limit_names[r]
        if name.startswith("authority "):
            la_row[name.removeprefix("authority ")] = int(r)
    fixed_rows = [int(r) for r in np.flatnonzero(p.limit_kind == LimitKind.PROGRAMME_BUDGET)]
    days = [_units(v, 100) for v in held["days_per_week"]]
    costs = [_units(v, MONEY_SCALE) for v in held["cost_gbp"]]
    out = []
    for k, (sid, la, start, end) in enumerate(
        zip(
            held["supporter_id"], held["la_code"], held["start_term"], held["end_term"], strict=True
        )
    ):
        j = index.get(sid)
        terms = terms_of(start, end, p.n_terms) if j is not None else range(0)
        money = ([la_row[la]] if la in la_row else []) + fixed_rows
        rows = [j * p.n_terms + t for t in terms] + money  # type: ignore[operator]
        amounts = [days[k]] * len(terms) + [costs[k]] * len(money)
        out.append((np.asarray(rows, np.int64), np.asarray(amounts, np.int64)))
    return out


def residuals(p: ProblemData, usage: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """What is left of every limit of ``p`` after the held deployments' ``usage``."""
    left = p.limit_rhs.astype(np.int64).copy()
    for rows, amounts in usage:
        np.subtract.at(left, rows, amounts)
    return left


@dataclass(frozen=True)
class Recommendations:
    """The answer for one client."""

    client_id: str
    priority: int
    la_code: str
    need_days: float
    table: pd.DataFrame  # RECOMMEND_COLUMNS
    considered: int
    notes: tuple[str, ...]


def recommend(
    scenario: Scenario, deployments: pd.DataFrame, client_id: str, *, top: int = 5
) -> Recommendations:
    """The ``top`` best supporters for ``client_id`` given the ledger's ``deployments``.

    Raises
    ------
    broker.errors.InputError
        If the client is not in the scenario.
    """
    from broker.candidates import build_candidates

    cli = scenario.clients
    row = cli[cli["client_id"] == client_id]
    if row.empty:
        raise InputError.one(
            "<arguments>",
            "client not in the scenario's clients.csv; add the request there first",
            column="CLIENT_ID",
            value=client_id,
        )
    one = row.reset_index(drop=True).copy()
    notes: list[str] = []
    mine = deployments[deployments["client_id"] == client_id]
    for d in mine[mine["stage"].isin([s.value for s in HOLDING])].itertuples(index=False):
        notes.append(
            f"{client_id} already has deployment #{d.deployment_id} ({d.stage}) with "
            f"{d.supporter_id}; its days and cost are left out of the figures below"
        )
    _history_columns(one, deployments, history_rules())
    declined = mine[mine["stage"] == Stage.DECLINED.value]
    sids = set(scenario.supporters["supporter_id"])
    conflicts = pd.concat(
        [
            scenario.conflicts[scenario.conflicts["client_id"] == client_id],
            declined.loc[declined["supporter_id"].isin(sids), ["client_id", "supporter_id"]],
        ],
        ignore_index=True,
    ).drop_duplicates()
    sub = scenario.replace(
        clients=one,
        conflicts=conflicts.reset_index(drop=True),
        pinned=scenario.pinned.iloc[0:0],
        proposals=scenario.proposals.iloc[0:0],
    )
    p = build_candidates(sub).problem
    priority = int(one["priority"].iloc[0])
    held = deployments[
        deployments["stage"].isin([s.value for s in HOLDING])
        & (deployments["client_id"] != client_id)
    ].reset_index(drop=True)
    usage = held_usage(p, held)
    left = residuals(p, usage)
    by_row: dict[int, list[tuple[int, int, int, int]]] = {}
    for m, d in enumerate(held.itertuples(index=False)):
        if d.stage in PROPOSALS and d.priority < priority:
            for r, a in zip(*usage[m], strict=True):
                by_row.setdefault(int(r), []).append(
                    (int(d.priority), -int(a), int(d.deployment_id), m)
                )
    for options in by_row.values():
        options.sort()  # lowest priority first, then the largest use of the row
    sup = scenario.supporters.set_index("supporter_id")
    rows = []
    for k in range(p.n_pairs):
        if p.pair_role[k] != LEAD:
            continue
        chosen = _displace(p, k, left, usage, by_row)
        if chosen is None:
            continue
        after = left.copy()
        for m in chosen:
            np.add.at(after, *usage[m])
        p.take(k, after)
        cap_rows = [r for r in p.limits_of(k)[0] if p.limit_kind[r] == LimitKind.CAPACITY]
        sid = p.supporter_ids[int(p.pair_supporter[k])]
        gone = held.iloc[chosen] if chosen else held.iloc[0:0]
        rows.append(
            (
                sid,
                str(sup.at[sid, "name"]) if "name" in sup.columns else "",
                str(sup.at[sid, "kind"]),
                str(sup.at[sid, "la_code"]),
                round(int(p.pair_cost[k]) / MONEY_SCALE, 2),
                round(float(p.pair_distance_km[k]), 2),
                round(int(p.pair_level2[k]) / OBJECTIVE_SCALE, 3),
                float(min(after[r] for r in cap_rows)) / 100 if cap_rows else float("nan"),
                "; ".join(
                    f"{d.client_id} (priority {d.priority}, {d.stage}, #{d.deployment_id})"
                    for d in gone.itertuples(index=False)
                ),
                int(gone["priority"].sum()),
                len(chosen),
                int(p.pair_level2[k]),
            )
        )
    rows.sort(key=lambda r: (r[10] > 0, r[9], r[10], r[11], r[0]))
    table = pd.DataFrame(
        [(i + 1, *r[:10]) for i, r in enumerate(rows[:top])], columns=RECOMMEND_COLUMNS
    )
    if p.n_pairs == 0:
        notes.append("no supporter is allowed for this client by the hard rules")
    elif not rows:
        notes.append(
            f"{p.n_pairs} supporter(s) are allowed, but none has room, even after dropping "
            f"proposals of lower priority than {priority}"
        )
    return Recommendations(
        client_id=client_id,
        priority=priority,
        la_code=str(one["la_code"].iloc[0]),
        need_days=float(one["need_days"].iloc[0]),
        table=table,
        considered=int(p.n_pairs),
        notes=tuple(notes),
    )


def _displace(
    p: ProblemData,
    k: int,
    left: np.ndarray,
    usage: list[tuple[np.ndarray, np.ndarray]],
    by_row: dict[int, list[tuple[int, int, int, int]]],
) -> list[int] | None:
    """Held proposals to drop so that pair ``k`` fits; ``None`` if no choice makes room.

    Empty when the pair fits as it is. For each limit the pair would overrun, the
    proposals using that limit are dropped lowest priority first (``by_row`` lists
    them in that order), until it fits.
    """
    rows, amounts = p.limits_of(k)
    room = left.copy()
    picked: list[int] = []
    for r, need in zip(rows, amounts, strict=True):
        for *_, m in by_row.get(int(r), ()):
            if room[r] >= need:
                break
            if m not in picked:
                picked.append(m)
                np.add.at(room, *usage[m])
        if room[r] < need:
            return None
    return picked if bool(np.all(amounts <= room[rows])) else None


def format_recommendations(r: Recommendations) -> str:
    lines = [
        f"{r.client_id}: priority {r.priority}, LA {r.la_code}, needs {r.need_days:g} days/week; "
        f"{r.considered} supporter(s) allowed by the rules"
    ]
    lines += [f"  note: {n}" for n in r.notes]
    if len(r.table):
        lines.append(
            f"  {'#':>2} {'supporter':<12} {'kind':<19} {'cost £':>12} {'km':>6} "
            f"{'free after':>10}  displaces"
        )
        for t in r.table.itertuples(index=False):
            lines.append(
                f"  {t.rank:>2} {t.supporter_id:<12} {t.kind:<19} {t.cost_gbp:>12,.2f} "
                f"{t.distance_km:>6.1f} {t.days_free_after:>10g}  {t.displaces or '-'}"
            )
    return "\n".join(lines)
