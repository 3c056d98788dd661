"""One matching round end to end: scenario -> candidates -> solve -> explain -> check."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from broker.candidates import Candidates, build_candidates
from broker.candidates.encode import level1_coefficients
from broker.check import CheckReport, check_assignment
from broker.errors import InputError
from broker.explain import outcomes
from broker.limits import SOLVER_SEED_RANGE, solver_seed
from broker.scenario.model import Scenario
from broker.solve import Result, SolveOptions, SolveStatus, get_solver
from broker.solve.result import StopReason
from broker.solve.stop import StopToken, default_token

__all__ = ["SOLVER_SEED_RANGE", "MatchingRound", "run_round", "solver_seed"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, eq=False)
class MatchingRound:
    """Everything a round produced.

    Attributes
    ----------
    scenario, candidates, result
        Inputs and the solver's result.
    outcomes
        One row per client (see :data:`broker.explain.OUTCOME_COLUMNS`).
    check
        The independent checker's verdict on ``outcomes``.
    timings
        Seconds spent per stage.
    seed, solver_seed
        The seed asked for and the one the solvers used (see :func:`solver_seed`).
    run_id
        A random identifier of this run (it never influences the solution).
    started_at
        When the run started (UTC).
    """

    scenario: Scenario
    candidates: Candidates
    result: Result
    outcomes: pd.DataFrame
    check: CheckReport
    timings: dict[str, float]
    seed: int = 0
    solver_seed: int = 0
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=_now)


def run_round(
    scenario: Scenario,
    *,
    solver: str = "cpsat",
    time_limit_s: float = 30.0,
    seed: int = 0,
    workers: int = 2,
    deterministic: bool = True,
    work_limit: float | None = None,
    progress: Callable[[str], None] | None = None,
    started_at: datetime | None = None,
    stop: StopToken | None = None,
) -> MatchingRound:
    """Run one matching round on a validated scenario.

    ``seed`` may be any integer 0 or more; the solvers receive
    :func:`solver_seed` of it. ``started_at`` (UTC) defaults to now.

    The solution is always passed through the independent checker; a violation
    means a bug in broker and raises ``AssertionError`` rather than being written.

    ``stop`` (see :mod:`broker.interrupt`) stops the solve early: the round then
    holds the best solution found so far with ``stopped_by = "interrupted"``, or
    :class:`broker.interrupt.Interrupted` is raised if there is none.
    """
    started = started_at or _now()
    run_seed = solver_seed(seed)
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    cand = build_candidates(scenario)
    timings["candidates_s"] = time.perf_counter() - t
    p = cand.problem
    say(
        f"candidates: {p.n_pairs:,} allowed pairs for {p.n_clients:,} clients and "
        f"{p.n_supporters:,} supporters ({timings['candidates_s']:.2f}s)"
    )
    t = time.perf_counter()
    stop = stop if stop is not None else default_token()
    options = SolveOptions(
        time_limit_s=time_limit_s,
        seed=run_seed,
        workers=workers,
        deterministic=deterministic,
        work_limit=work_limit,
        progress=progress,
        stop=stop,
    )
    with stop.deferred():
        result = get_solver(solver).solve(p, options)
    timings["solve_s"] = time.perf_counter() - t
    if stop.is_set():
        if not result.status.has_solution:
            from broker.interrupt import Interrupted

            raise Interrupted(stop.signum)
        if result.stopped_by is not StopReason.OPTIMAL:
            result = dataclasses.replace(result, stopped_by=StopReason.INTERRUPTED)
    if not result.status.has_solution:
        file = str(scenario.source / "pinned.csv") if scenario.source else "pinned.csv"
        if result.status is SolveStatus.INFEASIBLE:
            raise InputError.one(
                file,
                "no assignment keeps every pinned pair together with the hard rules (for "
                "example a team of two whose pinned member leaves no room for the other); "
                "change or remove pins",
            )
        raise InputError.one(
            file,
            f"the {result.solver} solver found no assignment that keeps every pinned pair "
            f"within its limit ({result.stopped_by.replace('_', ' ')}); try --solver cpsat or "
            "a longer --time-limit",
        )
    t = time.perf_counter()
    table = outcomes(scenario, cand, result)
    report = check_assignment(scenario, table)
    timings["explain_check_s"] = time.perf_counter() - t
    if not report.ok:
        raise AssertionError(
            "the independent checker rejected the solution (a bug in broker):\n"
            + "\n".join(report.violations)
        )
    coef, _scale = level1_coefficients(scenario)
    lead = table[(table["status"] != "unmatched") & (table["role"] == "lead")]
    index = {c: i for i, c in enumerate(scenario.clients["client_id"])}
    recomputed = int(coef[[index[c] for c in lead["client_id"]]].sum())
    if recomputed != result.level1.value:
        raise AssertionError(
            f"level 1 reported {result.level1.value}, recomputed {recomputed} (a bug in broker)"
        )
    return MatchingRound(
        scenario,
        cand,
        result,
        table,
        report,
        timings,
        seed=int(seed),
        solver_seed=run_seed,
        started_at=started,
    )
