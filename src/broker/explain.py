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
outside_network            supporters in reach serve only their own network
authority_rule             the client's authority accepts none in reach
need_exceeds_capacity      every supporter in reach has less capacity than needed
only_conflicting           every supporter left is a declared conflict
over_budget                every package left costs more than a budget allows
supporters_full            every supporter in reach is at capacity
authority_budget           a supporter has room but the authority's budget is spent
programme_budget           a supporter has room but the programme budget is spent
not_reached                room exists; the solver stopped before matching it
=========================  =====================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broker.candidates import STAGES, Candidates
from broker.problem import NO_LIMIT
from broker.scenario.model import Scenario
from broker.solve.result import Result, SolveStatus

OUTCOME_COLUMNS = [
    "client_id",
    "supporter_id",
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
            f"{'are' if before != 1 else 'is'} listed as conflicts",
        )
    cheapest = cand.cheapest_gbp[i]
    budget = cli["budget_gbp"].iat[i]
    if not np.isnan(budget) and cheapest > budget:
        return (
            "over_budget",
            f"the cheapest package in reach costs £{cheapest:,.2f}, more than the "
            f"school's budget of £{budget:,.2f}",
        )
    p = cand.problem
    g = p.client_group[i]
    if g >= 0 and cheapest * 1e4 > p.group_budget[g]:
        return (
            "over_budget",
            f"the cheapest package in reach costs £{cheapest:,.2f}, more than its "
            f"authority's whole budget of £{p.group_budget[g] / 1e4:,.2f}",
        )
    return (
        "over_budget",
        f"the cheapest package in reach costs £{cheapest:,.2f}, more than the "
        f"programme budget of £{p.programme_budget / 1e4:,.2f}",
    )


def _reach_text(cand: Candidates) -> str:
    lo, hi = float(np.min(cand.reach_km)), float(np.max(cand.reach_km))
    return f"{lo:g} km" if lo == hi else f"{lo:g} to {hi:g} km by supporter"


def outcomes(scenario: Scenario, cand: Candidates, result: Result) -> pd.DataFrame:
    """One row per client: match, package and reason.

    Columns are :data:`OUTCOME_COLUMNS`; ``reason`` is empty for matched clients.
    """
    p = cand.problem
    a = np.asarray(result.assignment)
    chosen = p.assignment_to_pairs(a)
    pinned_clients = set(p.pair_client[p.pinned].tolist())
    cap_left = p.capacity.astype(np.int64) - np.bincount(
        p.pair_supporter[chosen], weights=p.pair_load[chosen], minlength=p.n_supporters
    ).astype(np.int64)
    group_left = p.group_budget.astype(np.int64).copy()
    if p.n_groups:
        g = p.client_group[p.pair_client[chosen]]
        np.subtract.at(group_left, g[g >= 0], p.pair_cost[chosen][g >= 0])
    prog_left = (
        p.programme_budget - int(p.pair_cost[chosen].sum())
        if p.programme_budget != NO_LIMIT
        else None
    )
    served_min_priority = np.full(p.n_supporters, np.iinfo(np.int64).max)
    np.minimum.at(served_min_priority, p.pair_supporter[chosen], p.priority[p.pair_client[chosen]])

    starts = p.client_pair_ranges()
    rows = []
    cli = scenario.clients
    for i in range(p.n_clients):
        cid = p.client_ids[i]
        if a[i] >= 0:
            k = int(chosen[np.searchsorted(p.pair_client[chosen], i)])
            rows.append(
                (
                    cid,
                    p.supporter_ids[a[i]],
                    "pinned" if i in pinned_clients else "matched",
                    float(cli["need_days"].iat[i]),
                    p.pair_cost[k] / 1e4,
                    round(float(p.pair_distance_km[k]), 2),
                    "",
                    "",
                )
            )
            continue
        lo, hi = starts[i], starts[i + 1]
        if lo == hi:
            code, text = _isolated_reason(scenario, cand, i)
        else:
            code, text = _blocked_reason(
                p, i, lo, hi, cap_left, group_left, prog_left, served_min_priority, result
            )
        rows.append((cid, "", "unmatched", 0.0, 0.0, np.nan, code, text))
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)


def _blocked_reason(
    p,
    i,
    lo,
    hi,
    cap_left,
    group_left,
    prog_left,  # type: ignore[no-untyped-def]
    served_min_priority,
    result,
):
    ks = np.arange(lo, hi)
    js = p.pair_supporter[ks]
    full = p.pair_load[ks] > cap_left[js]
    n = len(ks)
    if full.all():
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
    room = ks[~full]
    g = p.client_group[i]
    if g >= 0 and (p.pair_cost[room] > group_left[g]).all():
        return (
            "authority_budget",
            f"{len(room)} supporter{'s' if len(room) != 1 else ''} in reach "
            f"{'have' if len(room) != 1 else 'has'} room, but its authority "
            f"({p.group_names[g]}) has £{group_left[g] / 1e4:,.2f} of budget left and the "
            f"cheapest such package costs £{p.pair_cost[room].min() / 1e4:,.2f}",
        )
    if g >= 0:
        room = room[p.pair_cost[room] <= group_left[g]]
    if prog_left is not None and (p.pair_cost[room] > prog_left).all():
        return (
            "programme_budget",
            f"supporters in reach have room, but the programme has "
            f"£{prog_left / 1e4:,.2f} of budget left and the cheapest such package "
            f"costs £{p.pair_cost[room].min() / 1e4:,.2f}",
        )
    if result.level1.optimal and result.status is not SolveStatus.UNKNOWN:
        # Cannot happen for positive priorities: matching would raise level 1.
        return (
            "not_reached",
            "a supporter has room; matching it would not raise the priority total (priority 0)",
        )
    return (
        "not_reached",
        f"supporter {p.supporter_ids[p.pair_supporter[room[0]]]} has room, but the "
        f"solver stopped ({result.stopped_by.replace('_', ' ')}) before matching it",
    )
