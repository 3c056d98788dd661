"""Shift and swap local search for assignment-shaped problems (GAP-like), vectorised.

Some problems are plain assignments: every client is required, needs one
supporter, and each candidate pair uses exactly one limit, its supporter's
capacity (the generalised assignment problem, broker's GAP benchmarks). For
them two classical moves improve level 2 (the cost) quickly from any complete
start, far faster than a CP-SAT search that starts from a poor hint:

* **shift**: client ``i`` moves from supporter ``a(i)`` to supporter ``s`` if ``s``
  has room for it and ``c[s, i] < c[a(i), i]``;
* **swap**: clients ``i`` and ``j`` exchange supporters if both have room after
  the exchange and ``c[a(j), i] + c[a(i), j] < c[a(i), i] + c[a(j), j]``.

Each round evaluates every shift (``m x n``) and every swap (``n x n``) at once
with numpy and applies the best improving moves that touch disjoint clients and
supporters, rechecking capacity as it goes; it stops at a local optimum or the
deadline. The result is always feasible and never worse than the start.
:func:`assignment_matrices` decides whether a problem has this shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from broker.problem import ProblemData
from broker.solve.deadline import Deadline

MAX_CELLS = 4_000_000
"""Largest ``n x n`` (and ``m x n``) matrix the search builds."""


@dataclass(frozen=True, eq=False)
class AssignmentMatrices:
    """Dense view of an assignment-shaped problem (agent-major, ``m x n``).

    ``cost`` is the level-2 coefficient (``inf`` where no pair exists), ``weight``
    the amount charged to the supporter's capacity, ``pair`` the pair index (``-1``
    where none), ``capacity`` per supporter.
    """

    cost: np.ndarray
    weight: np.ndarray
    pair: np.ndarray
    capacity: np.ndarray


def assignment_matrices(p: ProblemData) -> AssignmentMatrices | None:
    """The dense matrices if ``p`` is assignment-shaped (see the module docstring)."""
    m, n = p.n_supporters, p.n_clients
    if n == 0 or m == 0 or n * max(n, m) > MAX_CELLS:
        return None
    if not (np.all(p.required) and np.all(p.team_size == 1) and len(p.pinned) == 0):
        return None
    if not np.all(np.diff(p.limit_ptr) == 1):
        return None
    row = p.limit_row  # one entry per pair
    sup = p.pair_supporter.astype(np.int64)
    # every limit row must belong to one supporter, and each supporter to one row
    row_sup = np.full(p.n_limits, -1, dtype=np.int64)
    row_sup[row] = sup
    if np.any(row_sup[row] != sup):
        return None
    sup_row = np.full(m, -1, dtype=np.int64)
    sup_row[sup] = row
    if np.any(sup_row[sup] != row):
        return None
    cli = p.pair_client.astype(np.int64)
    cost = np.full((m, n), np.inf)
    weight = np.zeros((m, n))
    pair = np.full((m, n), -1, dtype=np.int64)
    cost[sup, cli] = p.pair_level2
    weight[sup, cli] = p.limit_amount
    pair[sup, cli] = np.arange(p.n_pairs)
    capacity = np.where(sup_row >= 0, p.limit_rhs[np.maximum(sup_row, 0)], 0).astype(float)
    return AssignmentMatrices(cost, weight, pair, capacity)


def improve_assignment(
    p: ProblemData, pairs: np.ndarray, until: Deadline, mats: AssignmentMatrices | None = None
) -> np.ndarray:
    """Shift and swap from the complete assignment ``pairs`` until a local optimum.

    Returns the improved pair indices (``pairs`` itself if ``p`` is not
    assignment-shaped or ``pairs`` is not a complete assignment).
    """
    mats = mats if mats is not None else assignment_matrices(p)
    ks = p.as_pair_indices(pairs)
    if mats is None or len(ks) != p.n_clients:
        return ks
    cost, weight, cap = mats.cost, mats.weight, mats.capacity
    n = p.n_clients
    cols = np.arange(n)
    a = np.full(n, -1, dtype=np.int64)
    a[p.pair_client[ks]] = p.pair_supporter[ks]
    if np.any(a < 0):
        return ks
    load = np.bincount(a, weights=weight[a, cols], minlength=len(cap))
    while not until.passed():
        moved = _shift_round(cost, weight, cap, a, load) or _swap_round(cost, weight, cap, a, load)
        if not moved:
            break
    out = mats.pair[a, cols]
    return np.sort(out)


def _shift_round(
    cost: np.ndarray, weight: np.ndarray, cap: np.ndarray, a: np.ndarray, load: np.ndarray
) -> bool:
    cols = np.arange(len(a))
    delta = cost - cost[a, cols]
    fits = load[:, None] + weight <= cap[:, None]
    delta = np.where(fits & np.isfinite(cost), delta, 0.0)
    best_s = np.argmin(delta, axis=0)
    best_d = delta[best_s, cols]
    order = np.flatnonzero(best_d < 0)
    if not len(order):
        return False
    moved = False
    for i in order[np.argsort(best_d[order], kind="stable")].tolist():
        s, old = int(best_s[i]), int(a[i])
        if load[s] + weight[s, i] > cap[s]:
            continue  # an earlier move this round used the room
        load[old] -= weight[old, i]
        load[s] += weight[s, i]
        a[i] = s
        moved = True
    return moved


def _swap_round(
    cost: np.ndarray, weight: np.ndarray, cap: np.ndarray, a: np.ndarray, load: np.ndarray
) -> bool:
    n = len(a)
    cols = np.arange(n)
    own = cost[a, cols]
    c_at = cost[a, :]  # [i, j]: cost of client j at i's supporter
    w_at = weight[a, :]
    # swap i <-> j: i goes to a(j), j goes to a(i)
    delta = c_at.T + c_at - own[:, None] - own[None, :]
    room = load[a] - weight[a, cols]  # i's supporter without i
    fits = room[:, None] + w_at <= cap[a][:, None]  # j fits at a(i) once i has left
    ok = fits & fits.T & (a[:, None] != a[None, :]) & np.isfinite(delta)
    delta = np.where(ok, delta, 0.0)
    np.fill_diagonal(delta, 0.0)
    flat = np.flatnonzero(delta < -1e-9)
    if not len(flat):
        return False
    flat = flat[np.argsort(delta.ravel()[flat], kind="stable")]
    used_c: set[int] = set()
    used_s: set[int] = set()
    moved = False
    for f in flat[: 4 * n].tolist():
        i, j = divmod(f, n)
        if i >= j:
            continue
        si, sj = int(a[i]), int(a[j])
        if i in used_c or j in used_c or si in used_s or sj in used_s:
            continue
        new_si = load[si] - weight[si, i] + weight[si, j]
        new_sj = load[sj] - weight[sj, j] + weight[sj, i]
        if new_si > cap[si] or new_sj > cap[sj]:
            continue
        load[si], load[sj] = new_si, new_sj
        a[i], a[j] = sj, si
        used_c.update((i, j))
        used_s.update((si, sj))
        moved = True
    return moved
