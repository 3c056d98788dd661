"""The solver interface and the registry that maps names to solvers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from broker.problem import ProblemData
from broker.solve.result import Result
from broker.solve.stop import StopToken, default_token


@dataclass(frozen=True)
class SolveOptions:
    """Options every solver accepts.

    Attributes
    ----------
    time_limit_s
        Wall-clock limit for the whole solve (both levels), seconds.
    seed
        Random seed; the same problem, options and seed give the same result.
    workers
        Threads to use (this machine has 2 cores).
    deterministic
        Make the result independent of machine load: each CP-SAT search is
        single-worker and stops on a deterministic work limit (``work_limit``)
        rather than on wall time; ``workers`` then does not change the result.
    work_limit
        Deterministic work units (CP-SAT "deterministic time"); ``None`` uses
        ``time_limit_s``.
    progress
        Optional callback receiving one-line progress messages.
    on_incumbent
        Optional callback ``(seconds, level1, level2)`` called whenever the solver
        holds a better solution (seconds since the solve started). Searches inside
        child processes report when their answer arrives.
    stop
        A :class:`~broker.solve.stop.StopToken`; setting it (from another thread or
        a signal handler) stops every phase of the solve, which then returns its best
        solution so far with ``stopped_by = "interrupted"``. Defaults to the
        running command's token (:func:`broker.solve.stop.default_token`).
    """

    time_limit_s: float = 30.0
    seed: int = 0
    workers: int = 2
    deterministic: bool = True
    work_limit: float | None = None
    progress: Callable[[str], None] | None = None
    on_incumbent: Callable[[float, int, int], None] | None = None
    stop: StopToken = field(default_factory=default_token, compare=False)


class Solver(Protocol):
    """A solver: ``solve(problem, options) -> Result``.

    Whether a bound is meaningful is in the result itself (``Level.bound``; a
    heuristic reports the trivial bound), so solvers declare no capability flag.
    """

    name: str

    def solve(self, problem: ProblemData, options: SolveOptions) -> Result: ...


_REGISTRY: dict[str, Callable[[], Solver]] = {}


def register(name: str) -> Callable[[Callable[[], Solver]], Callable[[], Solver]]:
    def deco(factory: Callable[[], Solver]) -> Callable[[], Solver]:
        _REGISTRY[name] = factory
        return factory

    return deco


def get_solver(name: str) -> Solver:
    """Return the solver registered as ``name``; unknown names raise ``KeyError``."""
    _load_builtin()
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise KeyError(f"unknown solver {name!r}; available: {', '.join(solver_names())}") from None


def solver_names() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    # Imported lazily so that importing broker does no solver work.
    from broker.solve import cpsat, greedy, milp  # noqa: F401
