"""Solvers behind one interface: ``solve(problem, solver=..., ...) -> Result``.

Registered solvers: ``cpsat`` (exact, default), ``highs`` (exact MILP via SciPy)
and ``greedy`` (baseline heuristic).
"""

from __future__ import annotations

import sys
import types

from broker.problem import ProblemData
from broker.solve.base import SolveOptions, Solver, get_solver, register, solver_names
from broker.solve.result import Level, Result, Sense, SolveStatus, StopReason, evaluate


def solve(problem: ProblemData, solver: str = "cpsat", **options: object) -> Result:
    """Solve ``problem`` with the named solver.

    Parameters
    ----------
    problem
        The problem to solve.
    solver
        A registered solver name (see :func:`solver_names`); unknown names raise
        ``KeyError``.
    **options
        Fields of :class:`SolveOptions` (``time_limit_s``, ``seed``, ``workers``,
        ``deterministic``, ``work_limit``, ``progress``).
    """
    return get_solver(solver).solve(problem, SolveOptions(**options))  # type: ignore[arg-type]


__all__ = [
    "Level",
    "Result",
    "SolveOptions",
    "Sense",
    "SolveStatus",
    "StopReason",
    "Solver",
    "evaluate",
    "get_solver",
    "register",
    "solve",
    "solver_names",
]


class _CallablePackage(types.ModuleType):
    """Makes ``broker.solve(...)`` a call as well as this package's name.

    ``broker.solve(scenario, ...)`` is the Python API's front door
    (:func:`broker.api.solve`: a whole round with explanations and the checker);
    ``broker.solve(problem, ...)`` with a :class:`ProblemData` is :func:`solve` here.
    """

    def __call__(self, what: object, *args: object, **kwargs: object) -> object:
        if isinstance(what, ProblemData):
            return solve(what, *args, **kwargs)  # type: ignore[arg-type]
        from broker.api import solve as solve_round

        return solve_round(what, *args, **kwargs)  # type: ignore[arg-type]


sys.modules[__name__].__class__ = _CallablePackage
