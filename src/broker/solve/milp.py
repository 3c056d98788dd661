"""Exact lexicographic solver on HiGHS through :func:`scipy.optimize.milp`.

Same formulation as :mod:`broker.solve.cpsat`, written as a MILP with a sparse
constraint matrix built without Python loops over pairs::

    rows 0 .. n_clients-1        sum_{k in K(i)} x[k]            <= 1  (= 1 if required)
    next n_supporters rows       sum_{k in K(j)} load[k] x[k]    <= capacity[j]
    next n_groups rows           sum_{k in G(g)} cost[k] x[k]    <= budget[g]
    one row if set               sum_k cost[k] x[k]              <= programme_budget
    bounds                       0 <= x[k] <= 1, x[k] = 1 for pinned k, x integer

It is independent of CP-SAT (another algorithm, another code path) and so serves
to cross-check it; it is also the MIP peer in the benchmarks. HiGHS ships inside
SciPy, so it adds no dependency.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from broker.problem import NO_LIMIT, ProblemData
from broker.solve.base import SolveOptions, register
from broker.solve.result import Level, Result, SolveStatus, evaluate, freeze


def constraint_matrix(p: ProblemData) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Sparse rows of the hard rules and their lower and upper bounds."""
    k = np.arange(p.n_pairs)
    rows = [p.pair_client.astype(np.int64)]
    cols = [k]
    vals = [np.ones(p.n_pairs)]
    lo = [np.where(p.required, 1.0, 0.0)]
    hi = [np.ones(p.n_clients)]
    r0 = p.n_clients
    rows.append(r0 + p.pair_supporter.astype(np.int64))
    cols.append(k)
    vals.append(p.pair_load.astype(float))
    lo.append(np.zeros(p.n_supporters))
    hi.append(p.capacity.astype(float))
    r0 += p.n_supporters
    if p.n_groups:
        g = p.client_group[p.pair_client].astype(np.int64)
        has = g >= 0
        rows.append(r0 + g[has])
        cols.append(k[has])
        vals.append(p.pair_cost[has].astype(float))
        lo.append(np.zeros(p.n_groups))
        hi.append(p.group_budget.astype(float))
        r0 += p.n_groups
    if p.programme_budget != NO_LIMIT:
        rows.append(np.full(p.n_pairs, r0))
        cols.append(k)
        vals.append(p.pair_cost.astype(float))
        lo.append(np.zeros(1))
        hi.append(np.array([float(p.programme_budget)]))
        r0 += 1
    a = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r0, p.n_pairs)
    )
    return a, np.concatenate(lo), np.concatenate(hi)


MIN_LEVEL2_S = 0.5
"""Level 2 is skipped (reported not optimal) when less than this is left."""

_STATUS = {0: SolveStatus.OPTIMAL, 1: SolveStatus.FEASIBLE, 2: SolveStatus.INFEASIBLE}


class HighsSolver:
    """Two-level lexicographic MILP solve with HiGHS (via SciPy)."""

    name = "highs"
    exact = True

    def solve(self, problem: ProblemData, options: SolveOptions) -> Result:
        p = problem
        t0 = time.perf_counter()
        a, lo, hi = constraint_matrix(p)
        lb = np.zeros(p.n_pairs)
        lb[p.pinned] = 1.0
        bounds = Bounds(lb, np.ones(p.n_pairs))
        integrality = np.ones(p.n_pairs)
        prio = p.pair_priority.astype(float)
        cons = [LinearConstraint(a, lo, hi)]
        params: dict[str, object] = {
            "threads": 1,
            "seed": options.seed,
            "time_limit_s": options.time_limit_s,
        }
        if p.n_pairs == 0:
            empty = np.full(p.n_clients, -1, dtype=np.int64)
            st = SolveStatus.INFEASIBLE if p.required.any() else SolveStatus.OPTIMAL
            return Result(
                freeze(empty),
                Level(0, 0, True, "max"),
                Level(0, 0, True, "min"),
                st,
                self.name,
                params,
                options.seed,
                time.perf_counter() - t0,
                "optimal" if st is SolveStatus.OPTIMAL else "infeasible",
            )

        def run(c: np.ndarray, constraints: list[LinearConstraint], limit: float):  # type: ignore[no-untyped-def]
            return milp(
                c,
                constraints=constraints,
                integrality=integrality,
                bounds=bounds,
                options={"time_limit": max(limit, 0.05), "disp": False, "mip_rel_gap": 0.0},
            )

        r1 = run(-prio, cons, 0.7 * options.time_limit_s)
        st1 = _STATUS.get(r1.status, SolveStatus.UNKNOWN)
        if r1.x is None:
            empty = np.full(p.n_clients, -1, dtype=np.int64)
            return Result(
                freeze(empty),
                Level(0, 0, False, "max"),
                Level(0, 0, False, "min"),
                st1 if st1 is SolveStatus.INFEASIBLE else SolveStatus.UNKNOWN,
                self.name,
                params,
                options.seed,
                time.perf_counter() - t0,
                "infeasible" if st1 is SolveStatus.INFEASIBLE else "time_limit",
            )
        x1 = r1.x > 0.5
        l1 = int(prio[x1].sum())
        bound1 = getattr(r1, "mip_dual_bound", None)
        l1_bound = (
            l1 if bound1 is None or not np.isfinite(bound1) else int(np.floor(-bound1 + 1e-6))
        )
        l1_opt = st1 is SolveStatus.OPTIMAL
        cons2 = cons + [LinearConstraint(prio[np.newaxis, :], l1 - 0.5, np.inf)]
        remaining = options.time_limit_s - (time.perf_counter() - t0)
        if remaining < MIN_LEVEL2_S:
            # HiGHS does not honour a tiny limit during presolve; skip rather than overrun.
            r2 = None
            st2 = SolveStatus.UNKNOWN
        else:
            r2 = run(p.pair_level2.astype(float), cons2, remaining)
            st2 = _STATUS.get(r2.status, SolveStatus.UNKNOWN)
        chosen = r2.x > 0.5 if r2 is not None and r2.x is not None else x1
        assignment = p.pairs_to_assignment(chosen)
        v1, v2 = evaluate(p, assignment)
        l2_opt = st2 is SolveStatus.OPTIMAL and r2 is not None and r2.x is not None
        bound2 = getattr(r2, "mip_dual_bound", None) if r2 is not None else None
        l2_bound = (
            v2 if (bound2 is None or not np.isfinite(bound2)) else int(np.ceil(bound2 - 1e-6))
        )
        both = l1_opt and l2_opt
        return Result(
            assignment=freeze(assignment),
            level1=Level(v1, max(l1_bound, v1), l1_opt, "max"),
            level2=Level(v2, min(l2_bound, v2), l2_opt, "min"),
            status=SolveStatus.OPTIMAL if both else SolveStatus.FEASIBLE,
            solver=self.name,
            params=params,
            seed=options.seed,
            runtime_s=time.perf_counter() - t0,
            stopped_by="optimal" if both else "time_limit",
        )


register("highs")(HighsSolver)
