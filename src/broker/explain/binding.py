"""What keeps unmatched clients out: no supporter within the rules, full supporters, or budgets.

Used where supply is being planned (``broker spread --recruit``): designating new
supporters brings clients *within reach*, which helps only those that no rule
lets any current supporter serve. A client that already has supporters in reach
but stays unmatched is held out by capacity or by a budget, and recruiting does
nothing for it.
"""

from __future__ import annotations

import numpy as np

from broker.candidates import STAGES, Candidates
from broker.problem import LEAD, LimitKind


def binding_counts(cand: Candidates, pairs: np.ndarray) -> dict[str, int]:
    """Count the clients left unmatched by ``pairs`` by what binds.

    Parameters
    ----------
    cand
        The scenario's candidates.
    pairs
        The chosen pairs of a round (indices into ``cand.problem``).

    Returns
    -------
    dict
        ``unmatched``; ``rules`` (no candidate supporter: reach, phase or another
        rule isolates it), ``budget`` (a supporter in reach has room but a budget
        is spent, or every package in reach costs more than a whole budget),
        ``capacity`` (every supporter in reach is full) and ``other`` (for
        example a team with no second supporter free).
    """
    p = cand.problem
    chosen = np.asarray(pairs, dtype=np.int64)
    matched = np.zeros(p.n_clients, dtype=bool)
    matched[p.pair_client[chosen[p.pair_role[chosen] == LEAD]]] = True
    residual = p.residual(chosen)
    starts = p.client_pair_ranges()
    out = {"unmatched": 0, "rules": 0, "budget": 0, "capacity": 0, "other": 0}
    budget_stage = STAGES.index("budget") if "budget" in STAGES else -1
    for i in np.flatnonzero(~matched).tolist():
        out["unmatched"] += 1
        ks = np.arange(starts[i], starts[i + 1])
        ks = ks[p.pair_role[ks] == LEAD]
        if not len(ks):
            counts = cand.stage_counts[i]
            stage = int(np.argmax(counts == 0))
            out["budget" if stage == budget_stage else "rules"] += 1
            continue
        kinds = []
        for k in ks.tolist():
            rows, amounts = p.limits_of(k)
            over = rows[amounts > residual[rows]]
            kinds.append({int(p.limit_kind[r]) for r in over})
        if all(LimitKind.CAPACITY in b for b in kinds):
            out["capacity"] += 1
        elif any(b and LimitKind.CAPACITY not in b for b in kinds):
            out["budget"] += 1
        else:
            out["other"] += 1
    return out


def binding_sentence(counts: dict[str, int]) -> str:
    """One sentence for a headline, or ``""`` when every unmatched client is out of reach."""
    n, in_reach = counts["unmatched"], counts["unmatched"] - counts["rules"]
    if not n or not in_reach:
        return ""
    parts = [f"a budget for {counts['budget']}"] if counts["budget"] else []
    if counts["capacity"]:
        parts.append(f"capacity for {counts['capacity']}")
    if counts["other"]:
        parts.append(f"something else (a team's second member) for {counts['other']}")
    return (
        f"{in_reach} of the {n} unmatched clients already have a supporter in reach; what binds "
        f"is {', '.join(parts)}: designating more supporters cannot match those"
        + ("; raise the budget instead (broker run writes fixes.csv)" if counts["budget"] else "")
    )
