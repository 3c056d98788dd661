"""An independent feasibility check of an assignment on a :class:`ProblemData`.

The benchmark runner checks every solution it records with :func:`violations`,
whichever solver produced it. The check re-derives every rule of the formulation in
:mod:`broker.problem` from the raw arrays (it does not call the solvers' helpers such
as :meth:`ProblemData.assignment_to_pairs` or :meth:`ProblemData.usage`), so a
solver bug and a checker bug would have to coincide to go unnoticed.
"""

from __future__ import annotations

import numpy as np

from broker.problem import ProblemData


def _pairs_of(
    p: ProblemData, assignment: np.ndarray, second: np.ndarray | None, out: list[str]
) -> dict[int, int]:
    """Client -> pair index per role, by a dictionary lookup on (client, role, supporter)."""
    key = {
        (int(c), int(r), int(s)): k
        for k, (c, r, s) in enumerate(
            zip(
                p.pair_client.tolist(),
                p.pair_role.tolist(),
                p.pair_supporter.tolist(),
                strict=True,
            )
        )
    }
    chosen: dict[int, int] = {}
    for role, a in ((0, assignment), (1, second)):
        if a is None:
            continue
        for i in np.flatnonzero(a >= 0).tolist():
            k = key.get((i, role, int(a[i])), -1)
            if k < 0:
                out.append(
                    f"client {i}: supporter {int(a[i])} in role {role} is not an allowed pair"
                )
            else:
                chosen[i * 2 + role] = k
    return chosen


def violations(
    problem: ProblemData,
    assignment: np.ndarray,
    limit: int = 20,
    second: np.ndarray | None = None,
) -> list[str]:
    """Hard rules an assignment breaks; empty when it is feasible.

    Parameters
    ----------
    problem
        The problem.
    assignment
        Lead supporter index for each client, ``-1`` if unmatched.
    limit
        Stop after this many messages.
    second
        Second supporter index for clients with a team of two (``-1`` otherwise);
        ``None`` means no second supporters.

    Returns
    -------
    list of str
        One sentence per broken rule, naming the client, supporter or limit.
    """
    p = problem
    a = np.asarray(assignment)
    b = None if second is None else np.asarray(second)
    for arr in (a, b):
        if arr is None:
            continue
        if arr.shape != (p.n_clients,):
            return [f"expected one entry per client ({p.n_clients}), got shape {arr.shape}"]
        if not np.issubdtype(arr.dtype, np.integer):
            return [f"expected integer supporter indices, got dtype {arr.dtype}"]
        bad = np.flatnonzero((arr < -1) | (arr >= p.n_supporters))
        if len(bad):
            return [f"client {i}: supporter index {int(arr[i])} out of range" for i in bad[:limit]]
    out: list[str] = []
    chosen = _pairs_of(p, a, b, out)
    for i in range(p.n_clients):
        has_lead = i * 2 in chosen
        has_second = i * 2 + 1 in chosen
        if p.required[i] and not has_lead:
            out.append(f"client {i}: required but unmatched")
        if p.team_size[i] == 2 and has_lead != has_second:
            out.append(f"client {i}: needs a team of two, has {int(has_lead) + int(has_second)}")
        if has_lead and has_second and a[i] == b[i]:  # type: ignore[index]
            out.append(f"client {i}: one supporter fills both roles")
    used = np.zeros(p.n_limits, dtype=np.int64)
    for k in chosen.values():
        for e in range(int(p.limit_ptr[k]), int(p.limit_ptr[k + 1])):
            used[int(p.limit_row[e])] += int(p.limit_amount[e])
    for r in np.flatnonzero(used > p.limit_rhs)[:limit]:
        out.append(f"{p.limit_label(r)}: uses {int(used[r])}, more than {int(p.limit_rhs[r])}")
    taken = set(chosen.values())
    for k in p.pinned.tolist():
        if k not in taken:
            out.append(
                f"pinned pair {k} (client {int(p.pair_client[k])}, supporter "
                f"{int(p.pair_supporter[k])}) is not used"
            )
    return out[:limit]


def objective_values(
    problem: ProblemData, assignment: np.ndarray, second: np.ndarray | None = None
) -> tuple[int, int]:
    """Level-1 and level-2 values of a feasible assignment, recomputed from the arrays."""
    p = problem
    errors: list[str] = []
    chosen = _pairs_of(
        p, np.asarray(assignment), None if second is None else np.asarray(second), errors
    )
    l1 = sum(int(p.priority[slot // 2]) for slot in chosen if slot % 2 == 0)
    l2 = sum(int(p.pair_level2[k]) for k in chosen.values())
    return l1, l2
