"""A level-1 bound from Lagrangian relaxation of the limits, for instances too big for the LP.

At four and eight times England's school population (0.4 and 1.55 million
pairs) GLOP does not finish within its share of the time, and the weak-duality
bound of its unfinished duals is weaker than the sum of priorities. This bound
keeps each client's choice explicit and moves only the limit rows (supporter
capacity, authority and programme budgets) into the objective. For multipliers
``lam >= 0`` on the rows ``A x <= b`` that can bind::

    L(lam) = lam . b + sum_g  best_g(c - A' lam)

    best_g(r) = max_{k in g} r[k]             if the client is required
              = max(0, max_{k in g} r[k])     otherwise

where ``g`` runs over the groups of pairs one client may choose one of (its lead
pairs; a team's second pairs form a second group). Every ``L(lam)`` is an upper
bound on ``max c x`` over the solutions: it relaxes the limits, pins, the
team-equality and shared-supporter rows, and nothing else. Its minimum over
``lam`` is at least the LP bound's value with those rows relaxed, and each
evaluation is three sparse passes over the pairs (about 40 ms at 1.55 million
pairs), so projected subgradient steps with Polyak's step size::

    lam <- max(0, lam - theta (L(lam) - lower) / |s|^2 s),   s = b - A x(lam)

reach a useful bound within seconds at any size. ``theta`` starts at 1 and halves
after :data:`PATIENCE` steps without a better bound; ``lower`` is the value of a
known solution.

The reduced values ``c - A' lam`` of the best multipliers also rank the pairs for
a greedy start, like the LP's fractional solution does on smaller instances.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from broker.problem import LEAD, ProblemData
from broker.solve.arm import ArmResult
from broker.solve.deadline import Deadline
from broker.solve.model import binding_rows, fill, is_complete
from broker.solve.stepsize import StepFactor
from broker.solve.stop import StopToken

PATIENCE = 40
"""Steps without a better bound before the step-size factor halves."""

DEFLECTION = 0.5
"""Share of the previous direction added to the subgradient (Camerini, Fratta and
Maffioli's deflection, which damps the zig-zag between neighbouring supporters)."""

START = 1e-3
"""Every multiplier's first value: breaks the ties between a client's pairs (all of the
same priority) in favour of the pairs that use the smallest share of their limits."""

MIN_THETA = 1e-4
"""The search stops when the step-size factor falls below this."""


@dataclass(frozen=True, eq=False)
class LagrangeBound:
    """The best bound found and what it came from.

    Attributes
    ----------
    bound
        ``min L(lam)`` over the multipliers tried: an upper bound on ``max c x``.
    reduced
        ``c - A' lam`` at the best multipliers (one value per pair).
    iterations
        Subgradient steps taken.
    seconds
        Wall time.
    clock
        Whether the deadline (or a stop), rather than convergence or the step
        cap, ended the search.
    multipliers
        The best multipliers (one per binding limit row, in the units of rows
        divided by their limits), to continue from.
    """

    bound: float
    reduced: np.ndarray
    iterations: int
    seconds: float
    clock: bool = False
    multipliers: np.ndarray | None = None


def limit_bound(
    p: ProblemData,
    c: np.ndarray,
    until: Deadline,
    lower: float = 0.0,
    *,
    max_iterations: int = 2_000,
    stop: StopToken | None = None,
    start: np.ndarray | None = None,
) -> LagrangeBound:
    """Minimise ``L(lam)`` (module docstring) until ``until``, the iteration cap or a stop.

    Parameters
    ----------
    p
        The problem (limit amounts and right-hand sides as integers).
    c
        Objective per pair, maximised (level 1: ``p.pair_priority``).
    until
        Wall-clock deadline.
    lower
        Objective value of a known solution (for the step size).
    max_iterations
        Cap on subgradient steps.
    stop
        Stops the search early; the bound so far stays valid.
    start
        Multipliers to start from (:attr:`LagrangeBound.multipliers` of an
        earlier call on the same problem); default :data:`START` everywhere.
    """
    t0 = time.perf_counter()
    c = np.asarray(c, dtype=float)
    if p.n_pairs == 0:
        return LagrangeBound(0.0, c.copy(), 0, 0.0)
    group = 2 * p.pair_client.astype(np.int64) + (p.pair_role != LEAD)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    gidx = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, p.n_pairs]))
    must = p.required[group[starts] // 2]
    a_all, rows = binding_rows(p)
    # each row divided by its limit (rows then read "share of the limit <= 1"), so
    # that capacities in centidays and budgets in pounds get comparable steps
    b = p.limit_rhs[rows].astype(float)
    scale = sparse.diags_array(1.0 / np.maximum(b, 1.0))
    a = (scale @ a_all[rows].astype(float)).tocsr()
    b = b / np.maximum(b, 1.0)
    at = a.T.tocsr()
    lam = np.full(len(rows), START)
    if start is not None and len(start) == len(rows):
        lam = np.maximum(np.asarray(start, dtype=float), 0.0)

    def value(reduced: np.ndarray) -> tuple[float, np.ndarray]:
        best = np.maximum.reduceat(reduced, starts)
        take = must | (best > 0)
        return float(lam @ b + best[take].sum()), best

    reduced = c - at @ lam if len(rows) else c.copy()
    bound, gbest = value(reduced)
    current, best_reduced, best_lam = bound, reduced, lam
    factor = StepFactor(PATIENCE, best=bound)
    steps = 0
    s_prev = np.zeros(len(rows))
    while (
        len(rows)
        and steps < max_iterations
        and factor.theta > MIN_THETA
        and not until.passed()
        and not (stop is not None and stop.is_set())
    ):
        # one chosen pair per group that is taken: the first best one
        take = must | (gbest > 0)
        k = np.flatnonzero((reduced == gbest[gidx]) & take[gidx])
        k = k[np.r_[True, gidx[k][1:] != gidx[k][:-1]]] if len(k) else k
        used = np.asarray(at[k].sum(axis=0)).reshape(-1)  # A x for the chosen pairs
        s = b - used + DEFLECTION * s_prev
        s = np.where((lam <= 0) & (s > 0), 0.0, s)  # projected: lam cannot go below 0
        s_prev = s
        norm = float(s @ s)
        if norm <= 0:
            break  # x(lam) is feasible for the limits and complementary: lam is optimal
        step = factor.theta * max(current - lower, 1e-9) / norm
        lam = np.maximum(lam - step * s, 0.0)
        reduced = c - at @ lam
        current, gbest = value(reduced)
        steps += 1
        if factor.record(current):
            bound, best_reduced, best_lam = current, reduced, lam
    clock = (
        bool(len(rows))
        and steps < max_iterations
        and factor.theta > MIN_THETA
        and (until.passed() or (stop is not None and stop.is_set()))
    )
    return LagrangeBound(
        bound, best_reduced, steps, time.perf_counter() - t0, clock, best_lam.copy()
    )


ITERATIONS_PER_WORK = 100
"""Subgradient steps per unit of the deterministic work limit."""


def lagrange_arm(
    p: ProblemData, wall: float, lower: float, work: float, start: np.ndarray | None = None
) -> ArmResult:
    """Level-1 arm for instances above the HiGHS arm's size (runs in a child process).

    The bound of :func:`limit_bound` over 85% of ``wall`` seconds (at most
    :data:`ITERATIONS_PER_WORK` steps per unit of ``work``), then a greedy fill in
    the order of the best multipliers' reduced values (a Lagrangian heuristic),
    continuing from the multipliers ``start`` when given.
    """
    until = Deadline.after(wall)
    lb = limit_bound(
        p,
        p.pair_priority.astype(float),
        until.share(0.85),
        lower,
        max_iterations=max(int(ITERATIONS_PER_WORK * work), 1),
        start=start,
    )
    order = np.lexsort((np.arange(p.n_pairs), -lb.reduced))
    pairs = fill(p, order, until=until)
    return ArmResult(
        pairs=pairs if is_complete(p, pairs) else None,
        bound=lb.bound,
        work=lb.iterations / ITERATIONS_PER_WORK,
        wall_clock=lb.clock or until.passed(),
    )
