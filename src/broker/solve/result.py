"""Solver results as values."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np

from broker.problem import ProblemData


class SolveStatus(enum.Enum):
    """Outcome of a solve, the same for every solver.

    ``OPTIMAL``: level 1 and level 2 proven optimal. ``FEASIBLE``: a solution that
    satisfies every hard rule, not proven optimal. ``INFEASIBLE``: proven that no
    solution exists (only possible with pinned pairs or required clients).
    ``UNKNOWN``: stopped before finding any solution.
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"

    @property
    def has_solution(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)


class StopReason(enum.StrEnum):
    """Why a solver stopped (a ``str``, so it reads and serialises as its value).

    ``OPTIMAL``: both levels proven optimal. ``TIME_LIMIT``: the wall clock
    (``time_limit_s``) stopped it, also when a deterministic work limit was set
    and had not yet been reached (the wall clock wins, and the result may then
    depend on the machine's load). ``WORK_LIMIT``: the deterministic work limit
    stopped it (reproducible). ``INFEASIBLE``: proven that no solution exists.
    ``COMPLETE``: a heuristic that ran to its end. ``INTERRUPTED``: stopped from
    outside (Ctrl-C, SIGTERM, :meth:`broker.solve.stop.StopToken.set`); the result
    is the best solution found until then.
    """

    OPTIMAL = "optimal"
    TIME_LIMIT = "time_limit"
    WORK_LIMIT = "work_limit"
    INFEASIBLE = "infeasible"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"


class Sense(enum.StrEnum):
    """Direction of one objective level (a ``str``: ``"max"`` or ``"min"``)."""

    MAX = "max"
    MIN = "min"


@dataclass(frozen=True)
class Level:
    """One level of the lexicographic objective.

    Attributes
    ----------
    value
        Objective value of the returned solution (integer units of the problem).
    bound
        Best proven bound (upper bound when maximising, lower when minimising).
    optimal
        Whether ``value`` is proven optimal.
    sense
        :class:`Sense` (a plain ``"max"`` or ``"min"`` is converted).
    """

    value: int
    bound: int
    optimal: bool
    sense: Sense

    def __post_init__(self) -> None:
        object.__setattr__(self, "sense", Sense(self.sense))

    @property
    def gap(self) -> float:
        """Relative gap ``|bound - value| / max(|bound|, 1)``; 0 when optimal."""
        if self.optimal:
            return 0.0
        return abs(self.bound - self.value) / max(abs(self.bound), 1)


@dataclass(frozen=True, eq=False)
class Result:
    """What a solver returns.

    Attributes
    ----------
    pairs
        Indices of the chosen candidate pairs, sorted (int64, read-only): the
        solution itself.
    assignment
        Lead supporter index for each client, ``-1`` if unmatched (int64, read-only).
    second
        Second supporter index for each client of a team of two, else ``-1``.
    level1
        Sum of priorities of matched clients (maximised).
    level2
        Integer level-2 objective (minimised with level 1 held).
    status
        Overall status; ``OPTIMAL`` only when both levels are proven optimal.
    solver, params
        Solver name and the parameters it used.
    seed
        Random seed used.
    runtime_s
        Wall-clock time of the solve, seconds.
    stopped_by
        Why the solver stopped (:class:`StopReason`).
    log
        Short, human-readable notes from the solver (progress, phases).
    """

    pairs: np.ndarray
    assignment: np.ndarray
    second: np.ndarray
    level1: Level
    level2: Level
    status: SolveStatus
    solver: str
    params: dict[str, object]
    seed: int
    runtime_s: float
    stopped_by: StopReason
    log: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        # accept the plain string too (``dataclasses.replace(r, stopped_by="...")``)
        object.__setattr__(self, "stopped_by", StopReason(self.stopped_by))

    def chosen_pairs(self, problem: ProblemData | None = None) -> np.ndarray:
        """Indices of the chosen pairs (the same as :attr:`pairs`)."""
        return self.pairs

    @property
    def n_matched(self) -> int:
        return int(np.count_nonzero(self.assignment >= 0))


def freeze(a: np.ndarray) -> np.ndarray:
    out = np.asarray(a, dtype=np.int64).copy()
    out.flags.writeable = False
    return out


def make_result(
    problem: ProblemData,
    pairs: np.ndarray,
    *,
    level1: Level,
    level2: Level,
    status: SolveStatus,
    solver: str,
    params: dict[str, object],
    seed: int,
    runtime_s: float,
    stopped_by: StopReason | str,
    log: tuple[str, ...] | list[str] = (),
) -> Result:
    """Build a :class:`Result` from a pair set (0/1 vector or indices) of ``problem``."""
    ks = problem.as_pair_indices(pairs)
    lead, second = problem.pairs_to_roles(ks)
    return Result(
        pairs=freeze(ks),
        assignment=freeze(lead),
        second=freeze(second),
        level1=level1,
        level2=level2,
        status=status,
        solver=solver,
        params=params,
        seed=seed,
        runtime_s=runtime_s,
        stopped_by=StopReason(stopped_by),
        log=tuple(log),
    )


def evaluate(problem: ProblemData, pairs: np.ndarray) -> tuple[int, int]:
    """Level-1 and level-2 objective values of a pair set (no feasibility check)."""
    return problem.objective(pairs)
