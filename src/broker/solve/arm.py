"""What a search arm reports back, typed (arms run in child processes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True, eq=False)
class ArmResult:
    """One arm's outcome (a CP-SAT search in a child process, or an LNS in this one).

    Attributes
    ----------
    pairs
        The arm's best solution as pair indices, or ``None`` if it found none.
    bound
        A proven bound on the arm's objective, or ``None`` (CP-SAT's bound is not a
        proof when it stops with status UNKNOWN).
    optimal
        Whether the arm proved ``pairs`` optimal.
    infeasible
        Whether the arm proved that no solution exists.
    work
        Deterministic work spent (CP-SAT units).
    wall_clock
        Whether the wall clock, rather than a work limit, ended the arm.
    """

    pairs: np.ndarray | None = None
    bound: float | None = None
    optimal: bool = False
    infeasible: bool = False
    work: float = 0.0
    wall_clock: bool = False


NOTHING = ArmResult(wall_clock=True)
"""The outcome of an arm that never answered (killed at the deadline or stopped)."""


class ArmTask(Protocol):
    """An arm running beside this process: :class:`broker.solve.child.ChildTask` or
    :class:`broker.solve.highsarm.HighsTask`."""

    def poll(self, timeout: float = 0.0) -> bool:
        """Whether the arm's answer is ready, waiting up to ``timeout`` seconds."""
        ...

    def kill(self) -> None:
        """End the arm now."""
        ...

    def result(self) -> ArmResult | None:
        """The arm's answer (waits for it); ``None`` if it has none."""
        ...
