"""Exact lexicographic solver on HiGHS through :func:`scipy.optimize.milp`.

Same formulation as :mod:`broker.solve.cpsat`, written as a MILP with the sparse
rows of :func:`broker.solve.model.constraint_matrix` (one row per client, team
rows, every limit that can bind), bounds ``0 <= x[k] <= 1``, ``x[k] = 1`` for
pinned ``k``, and ``x`` integer.

It is independent of CP-SAT (another algorithm, another code path) and so serves
to cross-check it; it is also the MIP peer in the benchmarks. HiGHS ships inside
SciPy, so it adds no dependency.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from broker.problem import ProblemData
from broker.solve.base import SolveOptions, register
from broker.solve.model import constraint_matrix
from broker.solve.result import Level, Result, Sense, SolveStatus, evaluate, make_result

MIN_LEVEL2_S = 0.5
"""Level 2 is skipped (reported not optimal) when less than this is left."""

_STATUS = {0: SolveStatus.OPTIMAL, 1: SolveStatus.FEASIBLE, 2: SolveStatus.INFEASIBLE}


class HighsSolver:
    """Two-level lexicographic MILP solve with HiGHS (via SciPy)."""

    name = "highs"

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
            st = SolveStatus.INFEASIBLE if p.required.any() else SolveStatus.OPTIMAL
            return make_result(
                p,
                np.zeros(0, np.int64),
                level1=Level(0, 0, True, Sense.MAX),
                level2=Level(0, 0, True, Sense.MIN),
                status=st,
                solver=self.name,
                params=params,
                seed=options.seed,
                runtime_s=time.perf_counter() - t0,
                stopped_by="optimal" if st is SolveStatus.OPTIMAL else "infeasible",
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
            return make_result(
                p,
                np.zeros(0, np.int64),
                level1=Level(0, int(p.priority.sum()), False, Sense.MAX),
                level2=Level(0, 0, False, Sense.MIN),
                status=st1 if st1 is SolveStatus.INFEASIBLE else SolveStatus.UNKNOWN,
                solver=self.name,
                params=params,
                seed=options.seed,
                runtime_s=time.perf_counter() - t0,
                stopped_by="infeasible" if st1 is SolveStatus.INFEASIBLE else "time_limit",
            )
        x1 = r1.x > 0.5
        l1 = int(prio[x1].sum())
        bound1 = getattr(r1, "mip_dual_bound", None)
        l1_bound = (
            int(p.priority.sum())
            if bound1 is None or not np.isfinite(bound1)
            else int(np.floor(-bound1 + 1e-6))
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
        v1, v2 = evaluate(p, chosen)
        l2_opt = st2 is SolveStatus.OPTIMAL and r2 is not None and r2.x is not None
        bound2 = getattr(r2, "mip_dual_bound", None) if r2 is not None else None
        l2_bound = (
            int(np.minimum(p.pair_level2, 0).sum())
            if (bound2 is None or not np.isfinite(bound2))
            else int(np.ceil(bound2 - 1e-6))
        )
        both = l1_opt and l2_opt
        return make_result(
            p,
            chosen,
            level1=Level(v1, max(l1_bound, v1), l1_opt, Sense.MAX),
            level2=Level(v2, min(l2_bound, v2), l2_opt, Sense.MIN),
            status=SolveStatus.OPTIMAL if both else SolveStatus.FEASIBLE,
            solver=self.name,
            params=params,
            seed=options.seed,
            runtime_s=time.perf_counter() - t0,
            stopped_by="optimal" if both else "time_limit",
        )


register("highs")(HighsSolver)
