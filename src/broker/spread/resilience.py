r"""Which supporters a round depends on most: the priority lost if one withdrew.

For a round with matched priority :math:`V` and a supporter :math:`j`, the
*true loss* is

.. math::

    L_j = V - OPT_{-j},

where :math:`OPT_{-j}` is the best priority matched by any assignment that obeys
the hard rules without :math:`j` (pins to :math:`j` are dropped). Re-solving the
whole problem once per supporter is what :func:`resilience_naive` does; it is the
reference for small scenarios. :func:`supporter_resilience` estimates :math:`L_j` cheaply:

1. ``greedy_reassign`` (every supporter): keep the rest of the round fixed, free
   :math:`j`'s clients and their spend against budgets, and re-place them one by
   one (highest priority first, then smaller need) into the residual capacity of
   other supporters in reach, best fit first. This is a feasible assignment
   without :math:`j` of value :math:`F_j \le OPT_{-j}`, so
   :math:`\hat L_j = V - F_j \ge L_j`: an **upper bound** on the loss.
2. ``component_<solver>`` / ``neighbourhood_<solver>`` (until the ``refine_top``
   largest estimates are all refined): re-optimise level 1 exactly, but only
   for the clients around :math:`j`, everything else fixed. The clients are the
   connected component(s) holding :math:`j`'s clients in the *coupling graph*
   without :math:`j` (clients and supporters linked by candidate pairs; clients
   of one authority also linked when its budget can bind, all clients linked
   when the programme budget can bind), when that is at most ``max_pairs``
   pairs (``component_*``); otherwise :math:`j`'s clients, the clients of every
   supporter in their reach and the unmatched clients those supporters reach
   (``neighbourhood_*``, capped at ``neighbourhood_pairs``). The solver is HiGHS
   by default (its LP bound proves
   budget-constrained neighbourhoods optimal in milliseconds, where CP-SAT with
   one worker may need seconds) or CP-SAT. Every solution is verified in integer
   arithmetic. It is still a feasible assignment without :math:`j`, so still an
   upper bound; the smaller of the two estimates is kept. (When the round is not
   optimal, a local re-solve may even beat it; the estimate is then 0, which
   still bounds the true loss, then negative, from above.)

**Exactness.** When the round's level 1 is proven optimal, components of the
coupling graph are independent, so the round is optimal on every component,
and :math:`L_j` equals the component re-solve's loss when the solver proves it
optimal: ``bound = "exact"``. An estimate of 0 is also exact then (removing a
supporter cannot raise the optimum). Every other estimate is reported with
``bound = "upper_bound"``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from broker.problem import NO_LIMIT, ProblemData
from broker.units import DAY_SCALE

RESILIENCE_COLUMNS = [
    "supporter_id",
    "la_code",
    "la_name",
    "region",
    "clients_served",
    "days_served",
    "priority_served",
    "priority_recovered",
    "loss_estimate",
    "loss_share",
    "method",
    "bound",
    "neighbourhood_clients",
    "local_stop",
]
"""Columns of :func:`supporter_resilience` (``la_*``/``region`` filled by :func:`annotate`)."""

EXACT, UPPER = "exact", "upper_bound"


@dataclass(frozen=True, eq=False)
class _State:
    """The round's residual capacity and budgets."""

    chosen: np.ndarray  # pair index per client, -1 if unmatched
    cap_left: np.ndarray
    group_left: np.ndarray
    prog_left: int | None
    group_spent: np.ndarray
    total_spent: int


def _state(p: ProblemData, assignment: np.ndarray) -> _State:
    a = np.asarray(assignment, dtype=np.int64)
    ks = p.assignment_to_pairs(a)
    chosen = np.full(p.n_clients, -1, dtype=np.int64)
    chosen[p.pair_client[ks]] = ks
    used = np.bincount(
        p.pair_supporter[ks], weights=p.pair_load[ks], minlength=p.n_supporters
    ).astype(np.int64)
    g = p.client_group[p.pair_client[ks]]
    spent = np.zeros(p.n_groups, dtype=np.int64)
    np.add.at(spent, g[g >= 0], p.pair_cost[ks][g >= 0])
    total = int(p.pair_cost[ks].sum())
    prog = None if p.programme_budget == NO_LIMIT else p.programme_budget - total
    return _State(chosen, p.capacity - used, p.group_budget - spent, prog, spent, total)


def _greedy_replace(
    p: ProblemData, st: _State, starts: np.ndarray, j: int, clients: np.ndarray
) -> tuple[int, dict[int, int]]:
    """Re-place ``clients`` (all served by ``j``) without ``j``; priority recovered."""
    cap = st.cap_left.copy()
    group_left = st.group_left.copy()
    prog = st.prog_left
    for i in clients:
        k = st.chosen[i]
        g = p.client_group[i]
        if g >= 0:
            group_left[g] += p.pair_cost[k]
        if prog is not None:
            prog += int(p.pair_cost[k])
    load = p.pair_load
    order = clients[np.lexsort((clients, load[st.chosen[clients]], -p.priority[clients]))]
    placed: dict[int, int] = {}
    recovered = 0
    for i in order:
        ks = np.arange(starts[i], starts[i + 1])
        ks = ks[p.pair_supporter[ks] != j]
        s = p.pair_supporter[ks]
        ok = load[ks] <= cap[s]
        g = p.client_group[i]
        if g >= 0:
            ok &= p.pair_cost[ks] <= group_left[g]
        if prog is not None:
            ok &= p.pair_cost[ks] <= prog
        ks, s = ks[ok], s[ok]
        if not len(ks):
            continue
        best = int(np.lexsort((s, p.pair_level2[ks], cap[s] - load[ks]))[0])
        k, js = int(ks[best]), int(s[best])
        cap[js] -= load[k]
        if g >= 0:
            group_left[g] -= p.pair_cost[k]
        if prog is not None:
            prog -= int(p.pair_cost[k])
        placed[int(i)] = k
        recovered += int(p.priority[i])
    return recovered, placed


def _coupling_components(p: ProblemData, drop: int) -> np.ndarray:
    """Component label of every client in the coupling graph without supporter ``drop``."""
    n_c, n_s = p.n_clients, p.n_supporters
    keep = p.pair_supporter != drop
    rows = [p.pair_client[keep].astype(np.int64)]
    cols = [n_c + p.pair_supporter[keep].astype(np.int64)]
    extra = n_c + n_s
    if p.n_groups:
        pair_group = p.client_group[p.pair_client].astype(np.int64)
        has = pair_group >= 0
        spend = np.bincount(pair_group[has], weights=p.pair_cost[has], minlength=p.n_groups)
        binding = spend > p.group_budget
        g = p.client_group.astype(np.int64)
        link = (g >= 0) & binding[np.maximum(g, 0)]
        rows.append(np.flatnonzero(link))
        cols.append(extra + g[link])
    extra += p.n_groups
    if p.programme_budget != NO_LIMIT and int(p.pair_cost.sum()) > p.programme_budget:
        rows.append(np.arange(n_c))
        cols.append(np.full(n_c, extra))
    n = extra + 1
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sp.csr_array((np.ones(len(r), dtype=np.int8), (r, c)), shape=(n, n))
    return connected_components(graph, directed=False)[1][:n_c]


def _subproblem(
    p: ProblemData, st: _State, clients: np.ndarray, drop: int
) -> tuple[ProblemData, np.ndarray, np.ndarray]:
    """Re-optimisation of ``clients`` without supporter ``drop``, everything else fixed.

    Returns the sub-problem, its supporters (original indices) and its pairs
    (original indices, in the sub-problem's order).
    """
    clients = np.sort(np.asarray(clients, dtype=np.int64))
    in_c = np.zeros(p.n_clients, dtype=bool)
    in_c[clients] = True
    ks = np.flatnonzero(in_c[p.pair_client] & (p.pair_supporter != drop))
    sups = np.unique(p.pair_supporter[ks])
    cmap = np.full(p.n_clients, -1, dtype=np.int64)
    cmap[clients] = np.arange(len(clients))
    smap = np.full(p.n_supporters, -1, dtype=np.int64)
    smap[sups] = np.arange(len(sups))
    # residual of the fixed rest: add back what the clients in C use now
    cur = st.chosen[clients]
    cur = cur[cur >= 0]
    cap = st.cap_left.copy()
    np.add.at(cap, p.pair_supporter[cur], p.pair_load[cur])
    group = st.group_left.copy()
    g = p.client_group[p.pair_client[cur]]
    np.add.at(group, g[g >= 0], p.pair_cost[cur][g >= 0])
    prog = NO_LIMIT if st.prog_left is None else st.prog_left + int(p.pair_cost[cur].sum())
    pin_mask = np.zeros(p.n_pairs, dtype=bool)
    pin_mask[p.pinned] = True
    sub = ProblemData.create(
        client_ids=[p.client_ids[i] for i in clients],
        supporter_ids=[p.supporter_ids[s] for s in sups],
        priority=p.priority[clients],
        capacity=cap[sups],
        pair_client=cmap[p.pair_client[ks]],
        pair_supporter=smap[p.pair_supporter[ks]],
        pair_load=p.pair_load[ks],
        pair_cost=p.pair_cost[ks],
        pair_level2=p.pair_level2[ks],
        pair_distance_km=p.pair_distance_km[ks],
        pair_flags=p.pair_flags[ks],
        required=p.required[clients],
        pinned=np.flatnonzero(pin_mask[ks]),
        client_group=p.client_group[clients],
        group_budget=group,
        group_names=p.group_names,
        programme_budget=prog,
        name=f"{p.name} without {p.supporter_ids[drop]}",
    )
    return sub, sups, ks


class LocalSolve(NamedTuple):
    """Result of :func:`max_priority`.

    ``value`` is the best priority of a solution verified in integer arithmetic
    (``-1`` if none), ``optimal`` whether it is proven optimal and ``stopped_by``
    ``"optimal"``, ``"infeasible"``, ``"node_limit"`` / ``"work_limit"``
    (deterministic stops) or ``"time_limit"`` (the wall-clock safety net).
    """

    value: int
    optimal: bool
    stopped_by: str


def max_priority(
    problem: ProblemData,
    hint: np.ndarray | None = None,
    *,
    solver: str = "highs",
    node_limit: int = 1000,
    work_limit: float = 1.0,
    time_limit_s: float = 10.0,
    seed: int = 0,
) -> LocalSolve:
    """Level 1 only: the most priority ``problem`` can match.

    Parameters
    ----------
    problem
        The problem.
    hint
        Optional feasible assignment (supporter per client) to start CP-SAT from.
    solver
        ``"highs"`` (default: HiGHS through :func:`scipy.optimize.milp` on
        :func:`broker.solve.milp.constraint_matrix`, single thread; its LP bound
        proves budget-constrained neighbourhoods optimal quickly) or ``"cpsat"``
        (single worker).
    node_limit
        HiGHS branch-and-bound nodes (a deterministic stop).
    work_limit
        CP-SAT deterministic time (a deterministic stop).
    time_limit_s
        Wall-clock safety net for either solver; the only stop that depends on
        machine load.
    seed
        CP-SAT random seed.

    Returns
    -------
    LocalSolve
    """
    if solver not in ("highs", "cpsat"):
        raise ValueError(f"unknown solver {solver!r}; expected highs or cpsat")
    if problem.n_pairs == 0:
        return (
            LocalSolve(0, True, "optimal")
            if not problem.required.any()
            else LocalSolve(-1, True, "infeasible")
        )
    t0 = time.perf_counter()
    if solver == "highs":
        chosen, optimal, infeasible = _highs_level1(problem, node_limit, time_limit_s)
        limit = "node_limit"
    else:
        chosen, optimal, infeasible = _cpsat_level1(problem, hint, work_limit, time_limit_s, seed)
        limit = "work_limit"
    stopped = (
        "optimal"
        if optimal
        else "infeasible"
        if infeasible
        else "time_limit"
        if time.perf_counter() - t0 >= 0.98 * time_limit_s
        else limit
    )
    if chosen is None or not _feasible(problem, chosen):
        return LocalSolve(-1, False, stopped)
    return LocalSolve(int(problem.pair_priority[chosen].sum()), optimal, stopped)


def _highs_level1(
    p: ProblemData, node_limit: int, time_limit_s: float
) -> tuple[np.ndarray | None, bool, bool]:
    from scipy.optimize import Bounds, LinearConstraint, milp

    from broker.solve.milp import constraint_matrix

    a, lo, hi = constraint_matrix(p)
    lb = np.zeros(p.n_pairs)
    lb[p.pinned] = 1.0
    from broker.spread._cstdout import silenced_c_stdout

    with silenced_c_stdout():
        res = milp(
            -p.pair_priority.astype(float),
            constraints=[LinearConstraint(a, lo, hi)],
            integrality=np.ones(p.n_pairs),
            bounds=Bounds(lb, np.ones(p.n_pairs)),
            options={
                "time_limit": max(float(time_limit_s), 0.05),
                "disp": False,
                "node_limit": max(int(node_limit), 1),
                "mip_rel_gap": 0.0,
            },
        )
    if res.x is None:
        return None, False, res.status == 2
    return res.x > 0.5, res.status == 0, False


def _cpsat_level1(
    p: ProblemData, hint: np.ndarray | None, work_limit: float, time_limit_s: float, seed: int
) -> tuple[np.ndarray | None, bool, bool]:
    from ortools.sat.python import cp_model

    from broker.solve.cpsat import build_model

    model, x = build_model(p)
    if hint is not None:
        try:
            use = set(p.assignment_to_pairs(hint).tolist())
        except ValueError:
            use = set()
        for k, var in enumerate(x):
            model.add_hint(var, k in use)
    model.maximize(cp_model.LinearExpr.weighted_sum(x, [int(v) for v in p.pair_priority]))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = int(seed)
    solver.parameters.max_deterministic_time = max(float(work_limit), 0.01)
    solver.parameters.max_time_in_seconds = max(float(time_limit_s), 0.05)
    code = solver.solve(model)
    if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False, code == cp_model.INFEASIBLE
    return np.array(solver.boolean_values(x), dtype=bool), code == cp_model.OPTIMAL, False


def _feasible(p: ProblemData, chosen: np.ndarray) -> bool:
    """Whether a 0/1 pair vector obeys every constraint, in exact integers."""
    ks = np.flatnonzero(chosen)
    if np.any(np.bincount(p.pair_client[ks], minlength=p.n_clients) > 1):
        return False
    per_client = np.bincount(p.pair_client[ks], minlength=p.n_clients)
    if np.any(per_client[p.required] == 0) or not np.all(np.isin(p.pinned, ks)):
        return False
    load = np.zeros(p.n_supporters, dtype=np.int64)
    np.add.at(load, p.pair_supporter[ks], p.pair_load[ks])
    if np.any(load > p.capacity):
        return False
    if p.n_groups:
        g = p.client_group[p.pair_client[ks]]
        spent = np.zeros(p.n_groups, dtype=np.int64)
        np.add.at(spent, g[g >= 0], p.pair_cost[ks][g >= 0])
        if np.any(spent > p.group_budget):
            return False
    return p.programme_budget == NO_LIMIT or int(p.pair_cost[ks].sum()) <= p.programme_budget


def supporter_resilience(
    problem: ProblemData,
    assignment: np.ndarray,
    *,
    level1_optimal: bool = False,
    refine_top: int = 10,
    max_refinements: int | None = None,
    solver: str = "highs",
    node_limit: int = 1000,
    work_limit: float = 1.0,
    time_limit_s: float = 10.0,
    max_pairs: int = 20_000,
    neighbourhood_pairs: int = 1_000,
    total_time_s: float = 60.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Estimated priority lost if each supporter withdrew (see the module docstring).

    Parameters
    ----------
    problem
        The candidate problem of the round.
    assignment
        The round's supporter index per client (-1 unmatched); must obey the rules.
    level1_optimal
        Whether the round's priority matched is proven optimal (allows ``exact``).
    refine_top
        Re-solve locally until the ``refine_top`` supporters with the largest
        estimates have all been re-solved (refining lowers estimates, so others
        move up and are refined in turn); 0 for the greedy estimate only.
    max_refinements
        Most local re-solves in all (default ``5 * refine_top``).
    solver, node_limit, work_limit, time_limit_s
        Solver of the local re-solves and its limits (see :func:`max_priority`).
    max_pairs
        Largest closed component (in candidate pairs) to re-solve.
    neighbourhood_pairs
        Largest neighbourhood (in candidate pairs) to re-solve when the component
        is larger than ``max_pairs``; neighbourhoods only give bounds, so they are
        kept small.
    total_time_s
        Wall-clock safety net: stop refining after this many seconds. With
        ``time_limit_s`` the only stops that depend on machine load; the
        ``local_stop`` column shows when one was used.
    seed
        CP-SAT seed.

    Returns
    -------
    pandas.DataFrame
        One row per supporter, columns :data:`RESILIENCE_COLUMNS` (LA columns
        blank; see :func:`annotate`), sorted by ``loss_estimate`` descending, then
        ``priority_served`` descending, then supporter order. ``loss_estimate`` is
        in priority points; ``loss_share`` is it over the round's matched priority;
        ``method`` says which method gave the number and ``bound`` whether it is
        ``exact`` or an ``upper_bound`` on the true loss; ``neighbourhood_clients``
        counts the clients re-placed or re-solved and ``local_stop`` how the local
        re-solve stopped (blank when none ran).
    """
    t_start = time.perf_counter()
    p = problem
    a = np.asarray(assignment, dtype=np.int64)
    st = _state(p, a)
    starts = p.client_pair_ranges()
    total_v = int(p.priority[a >= 0].sum())
    order = np.argsort(a, kind="stable")
    a_sorted = a[order]
    bounds = np.searchsorted(a_sorted, np.arange(p.n_supporters + 1))
    n = p.n_supporters
    served = np.zeros(n, dtype=np.int64)
    days = np.zeros(n)
    prio = np.zeros(n, dtype=np.int64)
    recovered = np.zeros(n, dtype=np.int64)
    method = np.full(n, "unused", dtype=object)
    hood = np.zeros(n, dtype=np.int64)
    placements: dict[int, dict[int, int]] = {}
    for j in range(n):
        clients = order[bounds[j] : bounds[j + 1]]
        if not len(clients):
            continue
        served[j] = len(clients)
        days[j] = p.pair_load[st.chosen[clients]].sum() / DAY_SCALE
        prio[j] = int(p.priority[clients].sum())
        recovered[j], placements[j] = _greedy_replace(p, st, starts, j, clients)
        method[j] = "greedy_reassign"
        hood[j] = len(clients)
    loss = prio - recovered
    exact = np.zeros(n, dtype=bool)

    refined = np.zeros(n, dtype=bool)
    stop = np.full(n, "", dtype=object)
    cap = 5 * max(refine_top, 0) if max_refinements is None else max_refinements
    for _ in range(min(cap, n)):
        if refine_top <= 0:
            break
        if time.perf_counter() - t_start > total_time_s:
            stop[~refined & (loss > 0)] = "time_limit"  # left unrefined by the safety net
            break
        # lazily: refine the unrefined supporter among the current top ``refine_top``
        top = np.lexsort((np.arange(n), -prio, -loss))[:refine_top]
        todo = top[~refined[top] & (loss[top] > 0)]
        if not len(todo):
            break
        j = int(todo[0])
        refined[j] = True
        clients = order[bounds[j] : bounds[j + 1]]
        comp = _coupling_components(p, int(j))
        hood_c = np.flatnonzero(np.isin(comp, comp[clients]))
        closed = _n_pairs(p, hood_c) <= max_pairs
        if not closed:
            hood_c = _neighbourhood(p, st, clients, int(j), neighbourhood_pairs)
        sub, sups, _ks = _subproblem(p, st, hood_c, int(j))
        hint = _hint(p, st, hood_c, sups, placements[int(j)], int(j))
        value, optimal, stop[j] = max_priority(
            sub,
            hint,
            solver=solver,
            node_limit=node_limit,
            work_limit=work_limit,
            time_limit_s=time_limit_s,
            seed=seed,
        )
        current = int(p.priority[hood_c[a[hood_c] >= 0]].sum())
        # a local re-solve may beat a non-optimal round; 0 is then still an upper bound
        local_loss = max(current - value, 0) if value >= 0 else None
        if local_loss is not None and local_loss <= loss[j]:
            loss[j] = local_loss
            recovered[j] = prio[j] - local_loss
            method[j] = f"{'component' if closed else 'neighbourhood'}_{solver}"
            hood[j] = len(hood_c)
            exact[j] = closed and optimal and level1_optimal
    exact |= level1_optimal & (loss == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total_v > 0, loss / max(total_v, 1), 0.0)
    out = pd.DataFrame(
        {
            "supporter_id": list(p.supporter_ids),
            "la_code": "",
            "la_name": "",
            "region": "",
            "clients_served": served,
            "days_served": days,
            "priority_served": prio,
            "priority_recovered": recovered,
            "loss_estimate": loss,
            "loss_share": np.round(share, 6),
            "method": method,
            "bound": np.where(exact, EXACT, UPPER),
            "neighbourhood_clients": hood,
            "local_stop": stop,
        },
        columns=RESILIENCE_COLUMNS,
    )
    out = out.iloc[np.lexsort((np.arange(n), -prio, -loss))].reset_index(drop=True)
    return out


def _n_pairs(p: ProblemData, clients: np.ndarray) -> int:
    starts = p.client_pair_ranges()
    return int((starts[clients + 1] - starts[clients]).sum())


def _neighbourhood(
    p: ProblemData, st: _State, clients: np.ndarray, j: int, max_pairs: int
) -> np.ndarray:
    """Clients of ``j``, plus those of the supporters in their reach, within ``max_pairs``."""
    starts = p.client_pair_ranges()
    ks = np.concatenate([np.arange(starts[i], starts[i + 1]) for i in clients])
    near = np.setdiff1d(p.pair_supporter[ks], [j])
    is_near = np.zeros(p.n_supporters, dtype=bool)
    is_near[near] = True
    served_near = np.flatnonzero(
        (st.chosen >= 0) & is_near[p.pair_supporter[np.maximum(st.chosen, 0)]]
    )
    unmatched_near = np.unique(p.pair_client[is_near[p.pair_supporter]])
    unmatched_near = unmatched_near[st.chosen[unmatched_near] < 0]
    for extra in (np.union1d(served_near, unmatched_near), served_near):
        c = np.union1d(clients, extra)
        if _n_pairs(p, c) <= max_pairs:
            return c
    return np.sort(clients)


def _hint(
    p: ProblemData,
    st: _State,
    clients: np.ndarray,
    sups: np.ndarray,
    placed: dict[int, int],
    j: int,
) -> np.ndarray:
    """Current assignment of ``clients`` without ``j`` plus the greedy re-placements."""
    smap = np.full(p.n_supporters, -1, dtype=np.int64)
    smap[sups] = np.arange(len(sups))
    hint = np.full(len(clients), -1, dtype=np.int64)
    for pos, i in enumerate(clients):
        k = placed.get(int(i), st.chosen[i])
        if k >= 0 and p.pair_supporter[k] != j:
            hint[pos] = smap[p.pair_supporter[k]]
    return hint


def resilience_naive(
    problem: ProblemData,
    assignment: np.ndarray,
    *,
    solver: str = "highs",
    node_limit: int = 100_000,
    time_limit_s: float = 60.0,
    seed: int = 0,
) -> pd.DataFrame:
    """Reference: re-solve the whole problem without each supporter in turn.

    ``loss_estimate`` is :math:`V - OPT_{-j}` from a full re-solve with ``solver``
    (``method = "full_resolve"``); ``bound`` is ``exact`` when the re-solve is
    proven optimal and ``unproven`` otherwise. Only for small problems: it runs one
    full solve per supporter.
    """
    p = problem
    a = np.asarray(assignment, dtype=np.int64)
    st = _state(p, a)
    total_v = int(p.priority[a >= 0].sum())
    rows = []
    everyone = np.arange(p.n_clients)
    for j in range(p.n_supporters):
        sub, sups, _ks = _subproblem(p, _state(p, np.full(p.n_clients, -1)), everyone, j)
        hint = _hint(p, st, everyone, sups, {}, j)
        value, optimal, stopped = max_priority(
            sub,
            hint,
            solver=solver,
            node_limit=node_limit,
            work_limit=time_limit_s,
            time_limit_s=time_limit_s,
            seed=seed,
        )
        mine = a == j
        loss = total_v - value
        rows.append(
            (
                p.supporter_ids[j],
                "",
                "",
                "",
                int(mine.sum()),
                p.pair_load[st.chosen[mine]].sum() / DAY_SCALE,
                int(p.priority[mine].sum()),
                int(p.priority[mine].sum()) - loss,
                loss,
                round(loss / total_v, 6) if total_v else 0.0,
                "full_resolve",
                EXACT if optimal else "unproven",
                p.n_clients,
                stopped,
            )
        )
    return pd.DataFrame(rows, columns=RESILIENCE_COLUMNS)


def annotate(table: pd.DataFrame, supporter_la: dict[str, str]) -> pd.DataFrame:
    """Fill ``la_code``, ``la_name`` and ``region`` from a supporter id -> LA code map."""
    from broker.spread.geography import la_names, la_regions

    out = table.copy()
    codes = [supporter_la.get(s, "") for s in out["supporter_id"]]
    out["la_code"] = codes
    out["la_name"] = la_names(codes)
    out["region"] = la_regions(codes)
    return out
