"""The step-size factor shared by broker's subgradient searches.

Each step moves the multipliers by Polyak's step ``theta * (L - lower) / |g|^2``
along the (deflected, projected) subgradient ``g``; ``theta`` starts at 1 and
halves after ``patience`` steps in a row without a bound below the best so far,
as in Held, Wolfe and Crowder's subgradient optimisation. Used by
:mod:`broker.solve.lagrange`, :mod:`broker.solve.knapsack` and the benchmark
``benchmarks/budget_knapsack_bound.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

IMPROVEMENT = 1e-9
"""A bound counts as better only when it is this much below the best."""


@dataclass
class StepFactor:
    """``theta`` and the best bound so far of one subgradient search.

    Attributes
    ----------
    patience
        Steps without a better bound before ``theta`` halves.
    best
        The lowest bound recorded (start: ``inf``, or a known bound).
    theta
        The current factor.
    since
        Steps since ``best`` last improved (or ``theta`` last halved).
    """

    patience: int
    best: float = math.inf
    theta: float = 1.0
    since: int = 0

    def record(self, bound: float) -> bool:
        """Note one step's bound; ``True`` if it is the best so far."""
        if bound < self.best - IMPROVEMENT:
            self.best, self.since = bound, 0
            return True
        self.since += 1
        if self.since >= self.patience:
            self.theta, self.since = self.theta / 2, 0
        return False
