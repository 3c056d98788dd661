"""Reporting incumbents to :attr:`broker.solve.base.SolveOptions.on_incumbent`."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from broker.problem import ProblemData
from broker.solve.model import is_complete
from broker.solve.result import evaluate


class Incumbents:
    """Passes each lexicographically better complete solution to a callback.

    Parameters
    ----------
    p
        The problem the pair sets refer to.
    callback
        ``(seconds since this object was made, level1, level2)``; ``None`` makes
        :meth:`offer` a no-op.
    """

    def __init__(self, p: ProblemData, callback: Callable[[float, int, int], None] | None) -> None:
        self.p, self.callback = p, callback
        self.t0 = time.perf_counter()
        self.best: tuple[int, int] | None = None

    def offer(self, pairs: np.ndarray | None) -> None:
        """Report ``pairs`` if it is complete and better than anything reported so far."""
        if self.callback is None or pairs is None or not is_complete(self.p, pairs):
            return
        v1, v2 = evaluate(self.p, pairs)
        if self.best is None or (v1, -v2) > self.best:
            self.best = (v1, -v2)
            self.callback(time.perf_counter() - self.t0, v1, v2)
