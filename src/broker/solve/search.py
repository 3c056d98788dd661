"""Every CP-SAT call in broker goes through here: stoppable, and deaf to SIGINT.

CP-SAT installs its own SIGINT handler during a solve unless
``catch_sigint_signal`` is off, and leaves the default handler behind when it
returns, so a later Ctrl-C would kill the process without a word. broker handles
signals itself (:mod:`broker.interrupt`) and stops searches through
:meth:`broker.solve.stop.StopToken.watch`.
"""

from __future__ import annotations

from ortools.sat.python import cp_model

from broker.solve.stop import StopToken


def new_solver(**parameters: object) -> cp_model.CpSolver:
    """A ``CpSolver`` with ``parameters`` set and SIGINT left to broker."""
    solver = cp_model.CpSolver()
    solver.parameters.catch_sigint_signal = False
    for key, value in parameters.items():
        setattr(solver.parameters, key, value)
    return solver


def run(
    solver: cp_model.CpSolver,
    model: cp_model.CpModel,
    stop: StopToken | None = None,
    callback: cp_model.CpSolverSolutionCallback | None = None,
) -> cp_model.CpSolverStatus:
    """``solver.solve(model, callback)``, stopped early when ``stop`` is set.

    Returns the CP-SAT status code. A search asked to stop before it starts gets
    no time (it still returns a response, so its fields can be read).
    """
    if stop is None:
        return solver.solve(model, callback)
    if stop.is_set():
        solver.parameters.max_time_in_seconds = 0.0
    with stop.watch(solver.stop_search):
        return solver.solve(model, callback)
