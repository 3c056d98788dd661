"""An independent feasibility check of an assignment on a :class:`ProblemData`.

The benchmark runner checks every solution it records with :func:`violations`,
whichever solver produced it. The check re-derives every rule of the formulation in
:mod:`broker.problem` from the raw arrays (it does not call the solvers' helpers such
as :meth:`ProblemData.assignment_to_pairs`), so a solver bug and a checker bug would
have to coincide to go unnoticed.
"""

from __future__ import annotations

import numpy as np

from broker.problem import NO_LIMIT, ProblemData


def violations(problem: ProblemData, assignment: np.ndarray, limit: int = 20) -> list[str]:
    """Hard rules an assignment breaks; empty when it is feasible.

    Parameters
    ----------
    problem
        The problem.
    assignment
        Supporter index for each client, ``-1`` if unmatched.
    limit
        Stop after this many messages.

    Returns
    -------
    list of str
        One sentence per broken rule, naming the client, supporter, group or budget.
    """
    p = problem
    a = np.asarray(assignment)
    if a.shape != (p.n_clients,):
        return [f"expected one entry per client ({p.n_clients}), got shape {a.shape}"]
    if not np.issubdtype(a.dtype, np.integer):
        return [f"expected integer supporter indices, got dtype {a.dtype}"]
    out: list[str] = []
    bad = np.flatnonzero((a < -1) | (a >= p.n_supporters))
    out += [f"client {i}: supporter index {int(a[i])} out of range" for i in bad[:limit]]
    if out:
        return out
    # which pair each matched client uses, by a dictionary lookup on (client, supporter)
    key = {
        (int(c), int(s)): k
        for k, (c, s) in enumerate(
            zip(p.pair_client.tolist(), p.pair_supporter.tolist(), strict=True)
        )
    }
    matched = np.flatnonzero(a >= 0)
    pair = np.full(p.n_clients, -1, dtype=np.int64)
    for i in matched.tolist():
        k = key.get((i, int(a[i])), -1)
        if k < 0:
            out.append(f"client {i}: supporter {int(a[i])} is not an allowed pair")
        pair[i] = k
    for i in np.flatnonzero(p.required & (a < 0))[:limit]:
        out.append(f"client {int(i)}: required but unmatched")
    used = pair[pair >= 0]
    load = np.zeros(p.n_supporters, dtype=np.int64)
    np.add.at(load, p.pair_supporter[used], p.pair_load[used])
    for j in np.flatnonzero(load > p.capacity)[:limit]:
        out.append(f"supporter {int(j)}: load {int(load[j])} exceeds capacity {int(p.capacity[j])}")
    if p.n_groups:
        spent = np.zeros(p.n_groups, dtype=np.int64)
        g = p.client_group[p.pair_client[used]]
        np.add.at(spent, g[g >= 0], p.pair_cost[used][g >= 0])
        for gi in np.flatnonzero(spent > p.group_budget)[:limit]:
            name = p.group_names[gi] if p.group_names else str(gi)
            out.append(
                f"group {name}: spend {int(spent[gi])} exceeds budget {int(p.group_budget[gi])}"
            )
    if p.programme_budget != NO_LIMIT:
        total = int(p.pair_cost[used].sum())
        if total > p.programme_budget:
            out.append(f"programme: spend {total} exceeds budget {p.programme_budget}")
    chosen = set(used.tolist())
    for k in p.pinned.tolist():
        if k not in chosen:
            out.append(
                f"pinned pair {k} (client {int(p.pair_client[k])}, supporter "
                f"{int(p.pair_supporter[k])}) is not used"
            )
    return out[:limit]


def objective_values(problem: ProblemData, assignment: np.ndarray) -> tuple[int, int]:
    """Level-1 and level-2 values of a feasible assignment, recomputed from the arrays."""
    p = problem
    a = np.asarray(assignment)
    starts = np.searchsorted(p.pair_client, np.arange(p.n_clients + 1))
    l1 = l2 = 0
    for i in np.flatnonzero(a >= 0).tolist():
        lo, hi = int(starts[i]), int(starts[i + 1])
        k = lo + int(np.flatnonzero(p.pair_supporter[lo:hi] == a[i])[0])
        l1 += int(p.priority[i])
        l2 += int(p.pair_level2[k])
    return l1, l2
