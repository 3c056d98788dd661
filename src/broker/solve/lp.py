"""The LP relaxation, within a time limit, stoppable, with a bound that is always valid.

The relaxation of the model in :mod:`broker.solve.model` (``0 <= x <= 1``, pins
at 1) is solved with OR-Tools' GLOP in this process, built in one call from the
sparse rows of :func:`~broker.solve.model.constraint_matrix`. GLOP takes a time
limit and can be interrupted (:meth:`~broker.solve.stop.StopToken.watch`), unlike
SciPy's HiGHS, which ignored its time limit and held a national-scale solve for
minutes.

The bound does not need the LP to finish. For any row multipliers ``y`` (of
either sign), weak duality gives, for every ``x`` with ``lo <= A x <= hi`` and
``l <= x <= u``::

    c x = (c - A'y) x + y (A x)
        <= sum_k max((c - A'y)_k l_k, (c - A'y)_k u_k) + sum_r max(y_r lo_r, y_r hi_r)

so the duals GLOP holds when it stops, whatever its status, give a valid bound
(:func:`lagrangian_bound`); at the optimum it equals the LP value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from broker.problem import ProblemData
from broker.solve.model import binding_rows, constraint_matrix
from broker.solve.stop import StopToken


@dataclass(frozen=True, eq=False)
class LpResult:
    """What the relaxation gave.

    Attributes
    ----------
    bound
        A valid bound on the objective over the integer (and fractional)
        solutions: an upper bound when maximising, a lower bound when minimising;
        ``None`` when none could be computed.
    x
        GLOP's primal values (fractional; complete only when ``optimal``), or ``None``.
    optimal
        Whether GLOP proved its solution optimal (``bound`` is then the LP value).
    seconds
        Wall time, building included.
    status
        GLOP's status name.
    duals
        Row multipliers for the maximisation ``max (+/-) objective . x`` over the
        rows of :func:`broker.solve.model.constraint_matrix` (the ones that gave
        ``bound``; a positive value prices a row's upper limit), or ``None``.
    """

    bound: float | None
    x: np.ndarray | None
    optimal: bool
    seconds: float
    status: str
    duals: np.ndarray | None = None


def lagrangian_bound(
    c: np.ndarray,
    a,  # type: ignore[no-untyped-def]
    lo: np.ndarray,
    hi: np.ndarray,
    xl: np.ndarray,
    xu: np.ndarray,
    y: np.ndarray,
) -> float:
    """Upper bound on ``max c x`` over ``lo <= A x <= hi``, ``xl <= x <= xu`` from ``y``."""
    reduced = c - a.T @ y
    var_part = np.maximum(reduced * xl, reduced * xu).sum()
    with np.errstate(invalid="ignore"):
        row = np.where(y > 0, y * hi, np.where(y < 0, y * lo, 0.0))
    if not np.all(np.isfinite(row)):
        return float("inf")
    return float(var_part + row.sum())


def solve_lp(
    p: ProblemData,
    objective: np.ndarray,
    *,
    maximize: bool = True,
    time_limit_s: float,
    stop: StopToken | None = None,
    method: str = "glop",
) -> LpResult:
    """Solve the relaxation of ``p`` with the given objective (one value per pair).

    Parameters
    ----------
    p
        The problem.
    objective
        Coefficient per candidate pair.
    maximize
        Maximise (else minimise) ``objective . x``.
    time_limit_s
        Wall-clock limit for GLOP, seconds.
    stop
        Stops GLOP early (the bound is still valid).
    method
        ``"glop"`` (simplex, default) or ``"pdlp"`` (OR-Tools' first-order method:
        matrix-vector products only, so it makes progress within seconds on
        millions of pairs, where GLOP's factorisations do not finish; its duals
        are approximate, and the bound from them is valid all the same).
    """
    from ortools.linear_solver.python import model_builder_helper as mbh

    t0 = time.perf_counter()
    c = np.asarray(objective, dtype=float)
    if p.n_pairs == 0:
        return LpResult(0.0, np.zeros(0), True, time.perf_counter() - t0, "OPTIMAL")
    a, lo, hi = constraint_matrix(p)
    xl = np.zeros(p.n_pairs)
    xl[p.pinned] = 1.0
    xu = np.ones(p.n_pairs)
    model = mbh.ModelBuilderHelper()
    fill_model: Any = model.fill_model_from_sparse_data  # its stubs mistype the arrays
    fill_model(xl, xu, c, lo, hi, a.tocsr().astype(float))
    model.set_maximize(maximize)
    solver = mbh.ModelSolverHelper(method)
    solver.set_time_limit_in_seconds(max(time_limit_s - (time.perf_counter() - t0), 0.01))
    if stop is not None and stop.is_set():
        return LpResult(None, None, False, time.perf_counter() - t0, "CANCELLED_BY_USER")
    if stop is not None:
        with stop.watch(lambda: None if solver.interrupt_solve() else None):
            solver.solve(model)
    else:
        solver.solve(model)
    status = solver.status()
    optimal = status == mbh.SolveStatus.OPTIMAL
    x = None
    if solver.has_solution() or (method == "pdlp" and solver.has_response()):
        # PDLP stopped by its limit still holds an iterate: approximate, but it ranks
        # the pairs for a greedy start as well as a finished one
        values = np.asarray(solver.variable_values(), dtype=float)
        if len(values) == p.n_pairs and np.all(np.isfinite(values)):
            x = values
    bound: float | None = None
    duals: np.ndarray | None = None
    sign = 1.0 if maximize else -1.0
    if status == mbh.SolveStatus.INFEASIBLE:
        bound = -sign * float("inf")
    elif solver.has_response():
        try:
            y = np.asarray(solver.dual_values(), dtype=float)
        except Exception:  # noqa: BLE001 - no duals: no bound
            y = None
        if y is not None and len(y) == a.shape[0] and np.all(np.isfinite(y)):
            # the sign convention of the duals is the solver's: both signs are valid
            # multipliers, so take the better of the two bounds
            cs = sign * c
            found, s = min((lagrangian_bound(cs, a, lo, hi, xl, xu, s * y), s) for s in (1.0, -1.0))
            if np.isfinite(found):
                bound, duals = sign * found, s * y
    return LpResult(bound, x, optimal, time.perf_counter() - t0, status.name, duals)


def limit_duals(p: ProblemData, duals: np.ndarray) -> np.ndarray | None:
    """The LP's prices of the limits, by limit row (0 for rows that cannot bind), from
    :attr:`LpResult.duals`; ``None`` if ``duals`` are not this problem's.

    The binding limit rows are the last rows of
    :func:`broker.solve.model.constraint_matrix` (after the clients' and the teams').
    """
    _, binding = binding_rows(p)
    if len(duals) < p.n_clients + len(binding):
        return None
    out = np.zeros(p.n_limits)
    out[binding] = np.maximum(np.asarray(duals[len(duals) - len(binding) :], dtype=float), 0.0)
    return out
