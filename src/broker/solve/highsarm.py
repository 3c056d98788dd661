"""HiGHS's branch and cut as one arm of broker's portfolios.

HiGHS (shipped inside SciPy, :func:`scipy.optimize.milp`) is the strongest single
solver measured on two families where CP-SAT's own search lags: generalised
assignment problems of a few hundred jobs (its LP bound is within 0.2% and its
heuristics close most of the rest), and national rounds where capacity is the
main coupling (England without budgets: 3,076 against 3,064 for broker's
portfolio at 20 s). It solves the formulation of
:func:`broker.solve.model.constraint_matrix`::

    min or max  sum_k c[k] x[k]
    s.t.        A x in [lo, hi]        (clients, teams, every limit that can bind)
                x[k] = 1 for pinned k,  x in {0, 1}
                sum_k priority[k] x[k] >= hold      (level 2 only)

SciPy's HiGHS reports nothing until it returns and does not always keep its time
limit (it overran 20 s by 12-16 s on a loaded machine), so the arm runs in a child
process (:class:`broker.solve.child.ChildTask`) that the caller kills at its
deadline; an arm that does not answer in time simply contributes nothing.

Reproducibility: the search is stopped by a node limit (deterministic work)
with the wall clock as a safety net; :attr:`ArmResult.wall_clock` says which one
stopped it. An answer is used only after :meth:`ProblemData.violations` has
checked it in exact integers.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from broker.problem import ProblemData
from broker.solve.arm import ArmResult
from broker.solve.model import constraint_matrix

MAX_PAIRS = 150_000
"""Above this many pairs the arm is not used (HiGHS's presolve and LP need
minutes and gigabytes at 8x England, 1.55 million pairs)."""

NODES_PER_WORK = 40.0
"""Branch-and-bound nodes per unit of the deterministic work limit."""


def highs_arm(
    p: ProblemData,
    level: int,
    wall: float,
    nodes: int,
    hold: int = 0,
) -> ArmResult:
    """HiGHS on one level of ``p`` (in a child process: see the module docstring).

    Parameters
    ----------
    p
        The (scaled) problem.
    level
        1: maximise priority matched; 2: minimise level 2 (cost, distance,
        penalties) subject to priority matched ``>= hold``.
    wall
        Wall-clock seconds from the call (the safety net).
    nodes
        Branch-and-bound node limit (the deterministic budget).
    hold
        Level 1 to keep at level 2.

    Returns
    -------
    ArmResult
        ``pairs`` is checked against the formulation; ``bound`` is HiGHS's dual
        bound on the level's objective (``None`` if it has none).
    """
    t0 = time.monotonic()
    if p.n_pairs == 0 or wall < 0.05:
        return ArmResult(wall_clock=True)
    a, lo, hi = constraint_matrix(p)
    prio = p.pair_priority.astype(float)
    constraints = [LinearConstraint(a, lo, hi)]
    if level == 1:
        c = -prio
    else:
        c = p.pair_level2.astype(float)
        constraints.append(LinearConstraint(prio[np.newaxis, :], hold - 0.5, np.inf))
    lb = np.zeros(p.n_pairs)
    lb[p.pinned] = 1.0
    r = milp(
        c,
        constraints=constraints,
        integrality=np.ones(p.n_pairs),
        bounds=Bounds(lb, np.ones(p.n_pairs)),
        options={
            "time_limit": max(float(wall - (time.monotonic() - t0)), 0.05),
            "node_limit": max(int(nodes), 1),
            "disp": False,
            "mip_rel_gap": 0.0,
        },
    )
    stopped_by_clock = r.status == 1 and int(getattr(r, "mip_node_count", 0) or 0) < nodes
    pairs = None
    if r.x is not None:
        pairs = np.flatnonzero(r.x > 0.5).astype(np.int64)
        if p.violations(pairs):
            pairs = None  # never trust a tolerance-rounded answer without checking it
    raw = getattr(r, "mip_dual_bound", None)
    bound = None
    if raw is not None and np.isfinite(raw) and r.status in (0, 1):
        bound = -float(raw) if level == 1 else float(raw)
    return ArmResult(
        pairs=pairs,
        bound=bound,
        optimal=r.status == 0 and pairs is not None,
        infeasible=r.status == 2,
        work=float(getattr(r, "mip_node_count", 0) or 0) / NODES_PER_WORK,
        wall_clock=stopped_by_clock or time.monotonic() - t0 >= wall,
    )
