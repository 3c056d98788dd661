r"""Which supporters a round depends on most: the priority lost if one withdrew.

For a round with matched priority :math:`V` and a supporter :math:`j`, the
*true loss* is

.. math::

    L_j = V - OPT_{-j},

where :math:`OPT_{-j}` is the best priority matched by any assignment that obeys
the hard rules without :math:`j` (pins of the clients :math:`j` serves are
dropped: that agreed deployment is gone). Re-solving the
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

from broker.problem import LEAD, LimitKind, ProblemData
from broker.solve.model import build_cpsat, fill
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
    """The round's pairs, each client's pairs, and what is left of every limit."""

    pairs: np.ndarray  # chosen pair indices, sorted
    client_pairs: dict[int, np.ndarray]  # client -> its chosen pairs (lead first)
    residual: np.ndarray  # per limit

    def of(self, clients: np.ndarray) -> np.ndarray:
        """Chosen pairs of ``clients``."""
        got = [self.client_pairs[int(i)] for i in clients if int(i) in self.client_pairs]
        return np.concatenate(got) if got else np.zeros(0, np.int64)

    def matched(self, n_clients: int) -> np.ndarray:
        out = np.zeros(n_clients, dtype=bool)
        out[list(self.client_pairs)] = True
        return out


def _state(p: ProblemData, pairs: np.ndarray) -> _State:
    ks = p.as_pair_indices(pairs)
    client_pairs: dict[int, list[int]] = {}
    for k in ks.tolist():
        client_pairs.setdefault(int(p.pair_client[k]), []).append(k)
    return _State(ks, {i: np.asarray(v, np.int64) for i, v in client_pairs.items()}, p.residual(ks))


def _served_by(p: ProblemData, st: _State) -> list[np.ndarray]:
    """Per supporter, the clients it serves in the round (in either role)."""
    order = np.argsort(p.pair_supporter[st.pairs], kind="stable")
    sup = p.pair_supporter[st.pairs][order]
    bounds = np.searchsorted(sup, np.arange(p.n_supporters + 1))
    clients = p.pair_client[st.pairs][order]
    return [np.unique(clients[bounds[j] : bounds[j + 1]]) for j in range(p.n_supporters)]


def _greedy_replace(
    p: ProblemData, st: _State, j: int, clients: np.ndarray
) -> tuple[int, np.ndarray]:
    """Re-place ``clients`` (all served by ``j``) without ``j``, the rest fixed.

    Returns the priority recovered and the new pairs (indices into ``p``).
    """
    sub, ks = _subproblem(p, st, clients, j)
    need = np.zeros(sub.n_clients, dtype=np.int64)
    lead = sub.pair_role == LEAD
    np.maximum.at(need, sub.pair_client[lead], sub.pair_load[lead])
    order = np.lexsort((np.arange(sub.n_clients), need, -sub.priority))
    pos = np.empty(sub.n_clients, dtype=np.int64)
    pos[order] = np.arange(sub.n_clients)
    pair_order = np.lexsort((sub.pair_supporter, sub.pair_level2, pos[sub.pair_client]))
    chosen = fill(sub, pair_order)
    # only whole teams count (a pinned member may have found no partner)
    lead = np.bincount(
        sub.pair_client[chosen], weights=sub.pair_role[chosen] == LEAD, minlength=sub.n_clients
    )
    size = np.bincount(sub.pair_client[chosen], minlength=sub.n_clients)
    whole = (lead == 1) & (size == sub.team_size)
    chosen = chosen[whole[sub.pair_client[chosen]]]
    return int(sub.pair_priority[chosen].sum()), ks[chosen]


def _coupling_components(p: ProblemData, drop: int) -> np.ndarray:
    """Component label of every client in the coupling graph without supporter ``drop``.

    Clients are linked to the supporters they could use and to every budget limit
    their pairs are charged to when that budget can bind.
    """
    n_c, n_s = p.n_clients, p.n_supporters
    keep = p.pair_supporter != drop
    rows = [p.pair_client[keep].astype(np.int64)]
    cols = [n_c + p.pair_supporter[keep].astype(np.int64)]
    budget = p.limit_kind != LimitKind.CAPACITY
    totals = np.bincount(p.limit_row, weights=p.limit_amount.astype(float), minlength=p.n_limits)
    binding = budget & (totals > p.limit_rhs)
    pair_of_entry = np.repeat(np.arange(p.n_pairs), np.diff(p.limit_ptr))
    # through every pair, the dropped supporter's too: a client that loses its
    # supporter frees budget that other clients of that budget may then use
    on = binding[p.limit_row]
    rows.append(p.pair_client[pair_of_entry[on]].astype(np.int64))
    cols.append(n_c + n_s + p.limit_row[on].astype(np.int64))
    n = n_c + n_s + p.n_limits
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = sp.csr_array((np.ones(len(r), dtype=np.int8), (r, c)), shape=(n, n))
    return connected_components(graph, directed=False)[1][:n_c]


def _subproblem(
    p: ProblemData, st: _State, clients: np.ndarray, drop: int, round_: _State | None = None
) -> tuple[ProblemData, np.ndarray]:
    """Re-optimisation of ``clients`` without supporter ``drop``, everything else fixed.

    Returns the sub-problem and its pairs' indices in ``p``.
    """
    rhs = st.residual + p.usage(st.of(clients))
    # pins of the clients the withdrawn supporter served go with it
    r = st if round_ is None else round_
    served = np.unique(p.pair_client[r.pairs[p.pair_supporter[r.pairs] == drop]])
    return p.subproblem(
        clients,
        rhs,
        keep_pair=p.pair_supporter != drop,
        drop_pins_of=served,
        name=f"{p.name} without {p.supporter_ids[drop]}",
    )


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
        Optional feasible pair set (indices into ``problem``) to start CP-SAT from.
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

    from broker.solve import search

    model, x = build_cpsat(p)
    if hint is not None:
        use = set(p.as_pair_indices(hint).tolist())
        for k, var in enumerate(x):
            model.add_hint(var, k in use)
    model.maximize(cp_model.LinearExpr.weighted_sum(x, [int(v) for v in p.pair_priority]))
    solver = search.new_solver()  # SIGINT is left to broker (broker.interrupt)
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
    return not p.violations(chosen, limit=1)


def supporter_resilience(
    problem: ProblemData,
    pairs: np.ndarray,
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
    pairs
        The round's chosen pairs (indices or a 0/1 vector); must obey the rules.
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
    st = _state(p, pairs)
    matched = st.matched(p.n_clients)
    total_v = int(p.pair_priority[st.pairs].sum())
    served_by = _served_by(p, st)
    n = p.n_supporters
    served = np.zeros(n, dtype=np.int64)
    days = np.zeros(n)
    prio = np.zeros(n, dtype=np.int64)
    recovered = np.zeros(n, dtype=np.int64)
    method = np.full(n, "unused", dtype=object)
    hood = np.zeros(n, dtype=np.int64)
    placements: dict[int, np.ndarray] = {}
    mine = p.pair_supporter[st.pairs]
    for j in range(n):
        clients = served_by[j]
        if not len(clients):
            continue
        served[j] = len(clients)
        days[j] = p.pair_load[st.pairs[mine == j]].sum() / DAY_SCALE
        prio[j] = int(p.priority[clients].sum())
        recovered[j], placements[j] = _greedy_replace(p, st, j, clients)
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
        clients = served_by[j]
        comp = _coupling_components(p, int(j))
        hood_c = np.flatnonzero(np.isin(comp, comp[clients]))
        closed = _n_pairs(p, hood_c) <= max_pairs
        if not closed:
            hood_c = _neighbourhood(p, st, clients, int(j), neighbourhood_pairs)
        sub, ks = _subproblem(p, st, hood_c, int(j))
        hint = _hint(st, hood_c, ks, placements[int(j)], int(j), p)
        value, optimal, stop[j] = max_priority(
            sub,
            hint,
            solver=solver,
            node_limit=node_limit,
            work_limit=work_limit,
            time_limit_s=time_limit_s,
            seed=seed,
        )
        current = int(p.priority[hood_c[matched[hood_c]]].sum())
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
    served_near = np.unique(p.pair_client[st.pairs[is_near[p.pair_supporter[st.pairs]]]])
    matched = st.matched(p.n_clients)
    unmatched_near = np.unique(p.pair_client[is_near[p.pair_supporter]])
    unmatched_near = unmatched_near[~matched[unmatched_near]]
    for extra in (np.union1d(served_near, unmatched_near), served_near):
        c = np.union1d(clients, extra)
        if _n_pairs(p, c) <= max_pairs:
            return c
    return np.sort(clients)


def _hint(
    st: _State,
    clients: np.ndarray,
    ks: np.ndarray,
    placed: np.ndarray,
    j: int,
    p: ProblemData,
) -> np.ndarray:
    """Sub-problem pairs: the current pairs of ``clients`` not with ``j``, else the
    greedy re-placements (``ks`` maps sub-problem pairs to ``p``'s)."""
    current = st.of(clients)
    current = current[p.pair_supporter[current] != j]
    keep = np.union1d(current, placed)
    # a team client keeps both members or neither
    mask = np.isin(ks, keep)
    return np.flatnonzero(mask)


def resilience_naive(
    problem: ProblemData,
    pairs: np.ndarray,
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
    st = _state(p, pairs)
    total_v = int(p.pair_priority[st.pairs].sum())
    served_by = _served_by(p, st)
    rows = []
    everyone = np.arange(p.n_clients)
    empty = _state(p, np.zeros(0, np.int64))
    for j in range(p.n_supporters):
        sub, ks = _subproblem(p, empty, everyone, j, round_=st)
        hint = _hint(st, everyone, ks, np.zeros(0, np.int64), j, p)
        value, optimal, stopped = max_priority(
            sub,
            hint,
            solver=solver,
            node_limit=node_limit,
            work_limit=time_limit_s,
            time_limit_s=time_limit_s,
            seed=seed,
        )
        mine = served_by[j]
        loss = total_v - value
        prio_j = int(p.priority[mine].sum())
        rows.append(
            (
                p.supporter_ids[j],
                "",
                "",
                "",
                len(mine),
                p.pair_load[st.pairs[p.pair_supporter[st.pairs] == j]].sum() / DAY_SCALE,
                prio_j,
                prio_j - loss,
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
