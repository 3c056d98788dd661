"""The formulation of :mod:`broker.problem`, built once for every solver.

Every solver and peer states the same model, so it is written here once:

* :func:`build_cpsat` gives a CP-SAT model of the hard rules (no objective);
* :func:`constraint_matrix` gives the same rules as sparse rows with lower and
  upper bounds, for HiGHS (MILP and LP) and CBC;
* :func:`fill` is the greedy completion every heuristic shares: pairs taken in a
  given order while they fit, a team client only with both of its members;
* :func:`scaled` divides each limit row by the greatest common divisor of its
  coefficients and right-hand side floor, an exact transformation.

Client rules, for client ``i`` with lead pairs ``L(i)`` and second pairs ``S(i)``::

    sum_{L(i)} x <= 1                 (== 1 if required)
    sum_{S(i)} x == sum_{L(i)} x      (team of two only)
    x[i, lead, j] + x[i, second, j] <= 1   for supporters j in both

and every limit row ``sum_k a[r, k] x[k] <= rhs[r]`` that can bind (rows whose
coefficients sum to at most their right-hand side are left out: they never bind).
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model
from scipy import sparse

from broker.problem import LEAD, SECOND, ProblemData
from broker.solve.deadline import Deadline


def scaled(problem: ProblemData) -> ProblemData:
    """Divide each limit row by the GCD of its coefficients (exact).

    A row ``sum_k a_k x_k <= b`` with ``g = gcd(a_k)`` is equivalent to
    ``sum_k (a_k / g) x_k <= floor(b / g)`` over 0/1 variables, because the left
    side is a multiple of ``g``. CP-SAT propagates and cuts much better with small
    coefficients (costs in £0.0001 reach 10^11 otherwise).
    """
    p = problem
    a = p.limit_matrix()
    counts = np.diff(a.indptr)
    nonempty = np.flatnonzero(counts > 0)
    if not len(nonempty):
        return p
    g = np.ones(p.n_limits, dtype=np.int64)
    g[nonempty] = np.gcd.reduceat(a.data.astype(np.int64), a.indptr[nonempty])
    g = np.maximum(g, 1)
    if np.all(g == 1):
        return p
    return p.replace(limit_amount=p.limit_amount // g[p.limit_row], limit_rhs=p.limit_rhs // g)


def binding_rows(p: ProblemData) -> tuple[sparse.csr_array, np.ndarray]:
    """The limit matrix and the rows that can bind (all pairs together exceed the limit)."""
    a = p.limit_matrix()
    totals = np.asarray(a.sum(axis=1)).reshape(-1) if p.n_pairs else np.zeros(p.n_limits)
    return a, np.flatnonzero(totals > p.limit_rhs)


def _team_parts(p: ProblemData, lo: int, hi: int) -> tuple[int, np.ndarray]:
    """Split a client's pair range into lead and second parts; shared supporters."""
    split = lo + int(np.count_nonzero(p.pair_role[lo:hi] == LEAD))
    common = np.intersect1d(p.pair_supporter[lo:split], p.pair_supporter[split:hi])
    return split, common


def build_cpsat(problem: ProblemData) -> tuple[cp_model.CpModel, list[cp_model.IntVar]]:
    """CP-SAT model of the hard rules (no objective); one Boolean per candidate pair."""
    p = problem
    model = cp_model.CpModel()
    model.name = p.name or "broker"
    x = [model.new_bool_var(f"x{k}") for k in range(p.n_pairs)]
    starts = p.client_pair_ranges()
    for i in range(p.n_clients):
        lo, hi = int(starts[i]), int(starts[i + 1])
        if p.team_size[i] == 1:
            lits = x[lo:hi]
            if p.required[i]:
                model.add_exactly_one(lits)
            elif len(lits) > 1:
                model.add_at_most_one(lits)
            continue
        split, common = _team_parts(p, lo, hi)
        lead, second = x[lo:split], x[split:hi]
        if p.required[i]:
            model.add_exactly_one(lead)
            model.add_exactly_one(second)
        else:
            if len(lead) > 1:
                model.add_at_most_one(lead)
            if len(second) > 1:
                model.add_at_most_one(second)
            model.add(sum(lead) == sum(second))
        for j in common:
            kl = lo + int(np.searchsorted(p.pair_supporter[lo:split], j))
            ks = split + int(np.searchsorted(p.pair_supporter[split:hi], j))
            model.add_bool_or([x[kl].Not(), x[ks].Not()])
    a, rows = binding_rows(p)
    for r in rows:
        cols = a.indices[a.indptr[r] : a.indptr[r + 1]]
        vals = a.data[a.indptr[r] : a.indptr[r + 1]]
        model.add(
            cp_model.LinearExpr.weighted_sum([x[k] for k in cols], [int(v) for v in vals])
            <= int(p.limit_rhs[r])
        )
    for k in p.pinned:
        model.add(x[int(k)] == 1)
    return model, x


def constraint_matrix(p: ProblemData) -> tuple[sparse.csr_array, np.ndarray, np.ndarray]:
    """Sparse rows of the hard rules with lower and upper bounds (float64).

    Rows: one per client (its lead pairs), then for each team client one row
    ``sum S(i) - sum L(i) = 0`` and one per supporter in both roles, then every
    binding limit row. Pins are left to the variable bounds.
    """
    k = np.arange(p.n_pairs)
    lead = p.pair_role == LEAD
    rows = [p.pair_client[lead].astype(np.int64)]
    cols = [k[lead]]
    vals = [np.ones(int(lead.sum()))]
    lo = [np.where(p.required, 1.0, 0.0)]
    hi = [np.ones(p.n_clients)]
    r0 = p.n_clients
    teams = np.flatnonzero(p.team_size == 2)
    if len(teams):
        starts = p.client_pair_ranges()
        t_rows: list[int] = []
        t_cols: list[int] = []
        t_vals: list[float] = []
        t_lo: list[float] = []
        t_hi: list[float] = []
        for i in teams:
            a0, b0 = int(starts[i]), int(starts[i + 1])
            split, common = _team_parts(p, a0, b0)
            row = r0 + len(t_lo)
            t_rows += [row] * (b0 - a0)
            t_cols += list(range(a0, b0))
            t_vals += [-1.0] * (split - a0) + [1.0] * (b0 - split)
            t_lo.append(0.0)
            t_hi.append(0.0)
            for j in common:
                row = r0 + len(t_lo)
                kl = a0 + int(np.searchsorted(p.pair_supporter[a0:split], j))
                ks = split + int(np.searchsorted(p.pair_supporter[split:b0], j))
                t_rows += [row, row]
                t_cols += [kl, ks]
                t_vals += [1.0, 1.0]
                t_lo.append(0.0)
                t_hi.append(1.0)
        rows.append(np.asarray(t_rows, np.int64))
        cols.append(np.asarray(t_cols, np.int64))
        vals.append(np.asarray(t_vals))
        lo.append(np.asarray(t_lo))
        hi.append(np.asarray(t_hi))
        r0 += len(t_lo)
    a, binding = binding_rows(p)
    if len(binding):
        sub = a[binding].tocoo()
        rows.append(r0 + sub.row.astype(np.int64))
        cols.append(sub.col.astype(np.int64))
        vals.append(sub.data.astype(float))
        lo.append(np.zeros(len(binding)))
        hi.append(p.limit_rhs[binding].astype(float))
        r0 += len(binding)
    matrix = sparse.csr_array(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(r0, p.n_pairs),
    )
    return matrix, np.concatenate(lo), np.concatenate(hi)


def fill(
    p: ProblemData,
    order: np.ndarray,
    start: np.ndarray | None = None,
    until: Deadline | None = None,
) -> np.ndarray:
    """Feasible pair set: ``start`` and the pins, then pairs in ``order`` while they fit.

    With ``until``, pairs stop being added when that deadline passes (the set is
    still feasible, only smaller).

    A lead pair of a team client is taken only together with a second pair that
    fits beside it (the earliest in ``order``, else the one with the smallest
    level-2 coefficient); second pairs met on their own are skipped. Required
    clients are not guaranteed a pair. Returns sorted pair indices.
    """
    residual = p.limit_rhs.copy()
    matched = np.zeros(p.n_clients, dtype=bool)
    chosen: list[int] = []
    rank = np.full(p.n_pairs, p.n_pairs, dtype=np.int64)
    order = np.asarray(order, dtype=np.int64)
    rank[order] = np.arange(len(order))
    starts = p.client_pair_ranges()
    initial = np.zeros(0, np.int64) if start is None else p.as_pair_indices(start)
    for k in np.concatenate([initial, np.setdiff1d(p.pinned, initial)]):
        k = int(k)
        p.take(k, residual)
        chosen.append(k)
        matched[p.pair_client[k]] = True
    # a team with only one member pinned (or started) gets its other member now
    taken = set(chosen)
    for c in np.flatnonzero(matched & (p.team_size == 2)).tolist():
        lo, hi = int(starts[c]), int(starts[c + 1])
        mine = [k for k in range(lo, hi) if k in taken]
        if len(mine) != 1:
            continue
        have = mine[0]
        others = np.arange(lo, hi)
        others = others[
            (p.pair_role[others] != p.pair_role[have])
            & (p.pair_supporter[others] != p.pair_supporter[have])
        ]
        others = others[np.lexsort((p.pair_level2[others], rank[others]))]
        partner = next((int(o) for o in others if p.fits(int(o), residual)), -1)
        if partner >= 0:
            p.take(partner, residual)
            chosen.append(partner)
    for step, k in enumerate(order.tolist()):
        if until is not None and step % 512 == 0 and until.passed():
            break
        i = int(p.pair_client[k])
        if matched[i] or p.pair_role[k] != LEAD or not p.fits(k, residual):
            continue
        if p.team_size[i] == 2:
            p.take(k, residual)
            lo, hi = int(starts[i]), int(starts[i + 1])
            seconds = np.arange(lo, hi)
            seconds = seconds[
                (p.pair_role[seconds] == SECOND)
                & (p.pair_supporter[seconds] != p.pair_supporter[k])
            ]
            seconds = seconds[np.lexsort((p.pair_level2[seconds], rank[seconds]))]
            partner = next((int(s) for s in seconds if p.fits(int(s), residual)), -1)
            if partner < 0:
                p.release(k, residual)
                continue
            p.take(partner, residual)
            chosen += [k, partner]
        else:
            p.take(k, residual)
            chosen.append(k)
        matched[i] = True
    return np.sort(np.asarray(chosen, dtype=np.int64))


def client_order_pairs(p: ProblemData, client_order: np.ndarray) -> np.ndarray:
    """All pairs, clients in ``client_order``, each client's by level 2 then supporter."""
    pos = np.empty(p.n_clients, dtype=np.int64)
    pos[np.asarray(client_order, np.int64)] = np.arange(p.n_clients)
    return np.lexsort((p.pair_supporter, p.pair_level2, pos[p.pair_client]))


def is_complete(p: ProblemData, pairs: np.ndarray) -> bool:
    """Whether every required client has its lead and every team both its members."""
    ks = p.as_pair_indices(pairs)
    lead = np.zeros(p.n_clients, bool)
    second = np.zeros(p.n_clients, bool)
    lead[p.pair_client[ks[p.pair_role[ks] == LEAD]]] = True
    second[p.pair_client[ks[p.pair_role[ks] == SECOND]]] = True
    team = p.team_size == 2
    return bool(np.all(lead[p.required]) and np.all(lead[team] == second[team]))


def level1_is_fixed(p: ProblemData) -> bool:
    """Whether every feasible solution has the same level 1 (every client required).

    Level 1 is then the sum of all priorities (or there is no solution at all), so
    the solvers give all their time to level 2, as in the generalised assignment
    problem.
    """
    return bool(p.n_clients > 0 and np.all(p.required))
