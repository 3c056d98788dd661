"""Per-client outcomes: who is matched to whom, and why the others are not.

Every unmatched client gets a short ``reason_code`` and a sentence. Codes for
clients that no rule allows to be matched (isolated) come from the first
candidate stage that removed their last supporter; codes for clients with
candidates come from the solution (what blocks each candidate supporter).

=========================  =====================================================
code                       meaning
=========================  =====================================================
no_supporter_in_reach      no supporter within reach
no_phase_match             supporters in reach, none of the client's phase
no_mode_match              supporters in reach, none offering a mode the client needs
no_expertise_match         supporters in reach, none with the expertise it must have
no_second_in_reach         a team of two, but no supporter may be its second
outside_network            supporters in reach serve only their own network
authority_rule             the client's authority accepts none in reach
need_exceeds_capacity      every supporter in reach has less capacity than needed
only_conflicting           every supporter left is a declared conflict
over_budget                every package left costs more than a budget allows
supporters_full            every supporter in reach is at capacity
authority_budget           a supporter has room but the authority's budget is spent
programme_budget           a supporter has room but the programme budget (or a programme
                           funder's budget) is spent
school_budget              a team fits, but not within the school's own budget
budget_mix                 each package with room is over a different budget
no_second_supporter        a lead has room but no second supporter for the team
not_reached                room exists; the solver stopped before matching it
=========================  =====================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broker.candidates import STAGES, Candidates
from broker.problem import LEAD, ROLE_NAMES, LimitKind, ProblemData
from broker.scenario.model import Scenario
from broker.solve.result import Result, SolveStatus
from broker.units import DAY_SCALE, MONEY_SCALE

OUTCOME_COLUMNS = [
    "client_id",
    "supporter_id",
    "role",
    "mode",
    "status",
    "days_per_week",
    "cost_gbp",
    "distance_km",
    "reason_code",
    "reason",
]


def _isolated_reason(scenario: Scenario, cand: Candidates, i: int) -> tuple[str, str]:
    counts = cand.stage_counts[i]
    cli = scenario.clients
    stage = STAGES[int(np.argmax(counts == 0))]
    before = int(counts[STAGES.index(stage) - 1]) if stage != "reach" else 0
    phase = cli["phase"].iat[i]
    if stage == "reach":
        d = cand.nearest_km[i]
        if not np.isfinite(d):
            return "no_supporter_in_reach", "no supporter in the scenario"
        return (
            "no_supporter_in_reach",
            f"no supporter within reach: the nearest is {d:.1f} km away "
            f"(reach {_reach_text(cand)})",
        )
    if stage == "phase":
        return (
            "no_phase_match",
            f"no {phase.replace('_', ' ')} supporter within reach ({before} supporter"
            f"{'s' if before != 1 else ''} of other phases in reach; cross-phase work "
            "is not allowed for them)",
        )
    if stage == "team":
        return _isolated_second(cand, i, before)
    if stage == "mode":
        wanted = cli["mode"].iat[i] if "mode" in cli else ()
        return (
            "no_mode_match",
            f"none of the {before} supporter{'s' if before != 1 else ''} in reach offers "
            f"{' or '.join(m.replace('_', ' ') for m in wanted) or 'a mode it accepts'}",
        )
    if stage == "expertise":
        must = cli["must"].iat[i] if "must" in cli else ()
        return (
            "no_expertise_match",
            f"none of the {before} supporter{'s' if before != 1 else ''} left has all the "
            f"expertise it must have ({', '.join(must)})",
        )
    if stage == "network":
        net = cli["network"].iat[i] or "none"
        return (
            "outside_network",
            f"the {before} supporter{'s' if before != 1 else ''} in reach serve only "
            f"their own network (this school's network: {net})",
        )
    if stage == "authority":
        la = cli["la_code"].iat[i]
        a = scenario.authorities
        mode = (
            dict(zip(a["la_code"], a["cross_la"], strict=True)).get(la, "allow")
            if len(a)
            else "allow"
        )
        which = "its own" if mode == "own_only" else "its own or neighbouring authorities'"
        return (
            "authority_rule",
            f"its authority ({la}) accepts only {which} supporters, and none of "
            f"those is in reach ({before} from other authorities are)",
        )
    if stage == "capacity":
        need = cli["need_days"].iat[i]
        return (
            "need_exceeds_capacity",
            f"needs {need:g} days per week; the most any supporter in reach can give "
            f"is {cand.best_capacity_days[i]:g}",
        )
    if stage == "conflict":
        return (
            "only_conflicting",
            f"the only supporter{'s' if before != 1 else ''} in reach ({before}) "
            f"{'are' if before != 1 else 'is'} listed as conflicts, or of a kind it excludes",
        )
    cheapest = cand.cheapest_gbp[i]
    budget = cli["budget_gbp"].iat[i]
    if not np.isnan(budget) and cheapest > budget:
        return (
            "over_budget",
            f"the cheapest package in reach costs £{cheapest:,.2f}, more than the "
            f"school's budget of £{budget:,.2f}",
        )
    la_budget = _authority_budget(scenario, str(cli["la_code"].iat[i]))
    if la_budget is not None and cheapest > la_budget:
        return (
            "over_budget",
            f"the cheapest package in reach costs £{cheapest:,.2f}, more than its "
            f"authority's whole budget of £{la_budget:,.2f}",
        )
    programme = scenario.config.programme_budget_gbp
    return (
        "over_budget",
        f"the cheapest package in reach costs £{cheapest:,.2f}, more than the "
        f"programme budget of £{(programme or 0.0):,.2f}",
    )


def _authority_budget(scenario: Scenario, la_code: str) -> float | None:
    a = scenario.authorities
    if not len(a):
        return None
    hit = a.loc[a["la_code"] == la_code, "budget_gbp"]
    return None if hit.empty or np.isnan(hit.iat[0]) else float(hit.iat[0])


def _isolated_second(cand: Candidates, i: int, before: int) -> tuple[str, str]:
    counts = cand.second_counts[i]
    if counts[-2] > 0:  # second candidates survive every rule but are the lead's only one
        why = "the only supporter allowed as its second is its only possible lead"
    else:
        stage = STAGES[int(np.argmax(counts == 0))]
        why = f"the {stage} rule removes the last candidate for the second role"
    return (
        "no_second_in_reach",
        f"it needs a team of two: {before} supporter{'s' if before != 1 else ''} could lead, "
        f"but {why}",
    )


def _reach_text(cand: Candidates) -> str:
    lo, hi = float(np.min(cand.reach_km)), float(np.max(cand.reach_km))
    return f"{lo:g} km" if lo == hi else f"{lo:g} to {hi:g} km by supporter"


def outcomes(scenario: Scenario, cand: Candidates, result: Result) -> pd.DataFrame:
    """One row per client and supporter: match, package and reason.

    A matched client has one row per member of its team (``role`` ``lead``, then
    ``second``); an unmatched client has one row with a ``reason_code`` and a
    sentence. Columns are :data:`OUTCOME_COLUMNS`.
    """
    p = cand.problem
    chosen = np.asarray(result.pairs, dtype=np.int64)
    pinned = np.zeros(p.n_pairs, dtype=bool)
    pinned[p.pinned] = True
    residual = p.residual(chosen)
    served_min_priority = np.full(p.n_supporters, np.iinfo(np.int64).max)
    np.minimum.at(served_min_priority, p.pair_supporter[chosen], p.priority[p.pair_client[chosen]])
    by_client: dict[int, list[int]] = {}
    for k in chosen.tolist():
        by_client.setdefault(int(p.pair_client[k]), []).append(k)
    starts = p.client_pair_ranges()
    rows = []
    for i in range(p.n_clients):
        cid = p.client_ids[i]
        if i in by_client:
            for k in by_client[i]:
                rows.append(
                    (
                        cid,
                        p.supporter_ids[p.pair_supporter[k]],
                        ROLE_NAMES[p.pair_role[k]],
                        cand.mode_ids[cand.pair_mode[k]],
                        "pinned" if pinned[k] else "matched",
                        p.pair_load[k] / DAY_SCALE,
                        p.pair_cost[k] / MONEY_SCALE,
                        round(float(p.pair_distance_km[k]), 2),
                        "",
                        "",
                    )
                )
            continue
        lo, hi = int(starts[i]), int(starts[i + 1])
        if lo == hi:
            code, text = _isolated_reason(scenario, cand, i)
        else:
            code, text = _blocked_reason(p, i, lo, hi, residual, served_min_priority, result)
        rows.append((cid, "", "", "", "unmatched", 0.0, 0.0, np.nan, code, text))
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)


def _blocked_by(p: ProblemData, ks: np.ndarray, residual: np.ndarray) -> list[set[int]]:
    """For each pair, the limits it does not fit into (empty set: it fits)."""
    out = []
    for k in ks.tolist():
        rows, amounts = p.limits_of(k)
        out.append({int(r) for r in rows[amounts > residual[rows]]})
    return out


def _blocked_reason(  # type: ignore[no-untyped-def]
    p: ProblemData, i, lo, hi, residual, served_min_priority, result: Result
) -> tuple[str, str]:
    ks = np.arange(lo, hi)
    ks = ks[p.pair_role[ks] == LEAD]
    blocked = _blocked_by(p, ks, residual)
    kind = p.limit_kind
    full = np.array([any(kind[r] == LimitKind.CAPACITY for r in b) for b in blocked])
    n = len(ks)
    if full.all():
        js = p.pair_supporter[ks]
        lowest = int(served_min_priority[js].min())
        if lowest >= p.priority[i]:
            tail = "with clients of equal or higher priority"
        else:
            tail = (
                f"(some serve lower-priority clients, down to priority {lowest}, whose "
                "needs fit together where this school's would not)"
            )
        return (
            "supporters_full",
            f"all {n} supporter{'s' if n != 1 else ''} in reach "
            f"{'are' if n != 1 else 'is'} at capacity {tail}",
        )
    room = [(k, b) for k, b, f in zip(ks.tolist(), blocked, full, strict=True) if not f]
    cheapest = min(p.pair_cost[k] for k, _ in room) / MONEY_SCALE
    for limit_kind, code in (
        (LimitKind.GROUP_BUDGET, "authority_budget"),
        (LimitKind.CLIENT_BUDGET, "school_budget"),
        (LimitKind.PROGRAMME_BUDGET, "programme_budget"),
    ):
        hit = [next((r for r in b if kind[r] == limit_kind), None) for _, b in room]
        if all(h is not None for h in hit):
            r = int(hit[0])  # type: ignore[arg-type]
            if limit_kind == LimitKind.GROUP_BUDGET and not p.limit_names[r].startswith(
                "authority "
            ):
                code = "programme_budget"  # a programme that funds its own deployments
            m = len(room)
            who = (
                "the programme"
                if limit_kind == LimitKind.PROGRAMME_BUDGET
                else "its {} ({})".format(*p.limit_names[r].split(" ", 1))
                if limit_kind == LimitKind.GROUP_BUDGET
                else "the school's own budget"
            )
            return (
                code,
                f"{m} supporter{'s' if m != 1 else ''} in reach "
                f"{'have' if m != 1 else 'has'} room, but {who} has "
                f"£{max(int(residual[r]), 0) / MONEY_SCALE:,.2f} of budget left and the cheapest "
                f"such package costs £{cheapest:,.2f}",
            )
    if any(b for _, b in room):
        return (
            "budget_mix",
            "supporters in reach have room, but each remaining package is over one of the "
            "budgets left: " + "; ".join(sorted({p.limit_names[r] for _, b in room for r in b})),
        )
    fits = [k for k, _ in room]
    if p.team_size[i] == 2:
        return (
            "no_second_supporter",
            f"{len(fits)} lead supporter{'s' if len(fits) != 1 else ''} in reach "
            f"{'have' if len(fits) != 1 else 'has'} room, but no second supporter for the team "
            "has room beside them",
        )
    if result.level1.optimal and result.status is not SolveStatus.UNKNOWN:
        # Cannot happen for positive priorities: matching would raise level 1.
        return (
            "not_reached",
            "a supporter has room; matching it would not raise the priority total (priority 0)",
        )
    return (
        "not_reached",
        f"supporter {p.supporter_ids[p.pair_supporter[fits[0]]]} has room, but the "
        f"solver stopped ({result.stopped_by.replace('_', ' ')}) before matching it",
    )
