"""A lexicographic CP-SAT solve over the hard rules plus a policy's own constraints.

The fairness policies state extra variables, constraints and a list of
objectives on top of the formulation of :mod:`broker.problem`
(:func:`broker.solve.model.build_cpsat`, with limit rows divided by their GCD).
Each objective is optimised in turn, then held at the value found
(``>=`` when maximising, ``<=`` when minimising) for the next. Each level gets a
share of the time limit as a deterministic work limit on one worker, so the
result depends only on the instance, the options and the seed; the wall-clock
limit (ten times as long, plus 5 s) is only a safety net. Every level starts from the
previous level's solution (or the given hint) as a hint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from broker.problem import ProblemData
from broker.solve import search
from broker.solve.model import build_cpsat, scaled

Objective = tuple[str, cp_model.LinearExprT]
"""``("max" | "min", linear expression)``."""


@dataclass(frozen=True)
class LexResult:
    """What :func:`solve_lexicographic` found.

    Attributes
    ----------
    pairs
        Chosen pair indices (sorted), or ``None`` if level 1 found no solution.
    values
        Objective value of each level solved (in order).
    optimal
        Whether each level was proven optimal.
    bounds
        Best bound of each level.
    """

    pairs: np.ndarray | None
    values: tuple[int, ...]
    optimal: tuple[bool, ...]
    bounds: tuple[float, ...]


def solve_lexicographic(
    problem: ProblemData,
    add: Callable[[cp_model.CpModel, list[cp_model.IntVar]], Sequence[Objective]],
    *,
    time_limit_s: float,
    seed: int,
    shares: Sequence[float] | None = None,
    hint: np.ndarray | None = None,
) -> LexResult:
    """Build the hard-rule model, let ``add`` extend it, and optimise its objectives in turn.

    Parameters
    ----------
    problem
        The problem (its pair order is kept).
    add
        Called with the model and the pair Booleans; adds what it needs and
        returns the objectives, most important first.
    time_limit_s
        Total budget, split between levels by ``shares`` (default equal).
    seed
        CP-SAT random seed.
    hint
        A pair set to start from (need not satisfy the extra constraints).
    """
    model, x = build_cpsat(scaled(problem))
    objectives = list(add(model, x))
    shares = list(shares) if shares is not None else [1.0 / len(objectives)] * len(objectives)
    chosen: np.ndarray | None = None
    if hint is not None:
        on = np.zeros(problem.n_pairs, bool)
        on[np.asarray(hint, np.int64)] = True
        for k, v in enumerate(x):
            model.add_hint(v, bool(on[k]))
    values: list[int] = []
    optimal: list[bool] = []
    bounds: list[float] = []
    for (sense, expr), share in zip(objectives, shares, strict=True):
        if sense == "max":
            model.maximize(expr)
        else:
            model.minimize(expr)
        solver = search.new_solver()  # SIGINT is left to broker (broker.interrupt)
        work = max(0.05, time_limit_s * share)
        solver.parameters.num_workers = 1
        solver.parameters.linearization_level = 2
        solver.parameters.random_seed = int(seed)
        solver.parameters.max_deterministic_time = work
        solver.parameters.max_time_in_seconds = 10 * work + 5
        status = solver.solve(model)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if chosen is None:
                return LexResult(None, (), (), ())
            break  # keep the previous level's solution
        value = int(round(solver.objective_value))
        values.append(value)
        optimal.append(status == cp_model.OPTIMAL)
        bounds.append(float(solver.best_objective_bound))
        chosen = np.flatnonzero([solver.boolean_value(v) for v in x]).astype(np.int64)
        model.clear_hints()
        for v in x:
            model.add_hint(v, bool(solver.boolean_value(v)))
        model.add(expr >= value if sense == "max" else expr <= value)
    return LexResult(chosen, tuple(values), tuple(optimal), tuple(bounds))
