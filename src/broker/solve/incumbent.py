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
        ``(seconds since t0, level1, level2)``; ``None`` makes :meth:`offer` a no-op.
    t0
        ``time.perf_counter()`` when the solve started (default: now).
    """

    def __init__(
        self,
        p: ProblemData,
        callback: Callable[[float, int, int], None] | None,
        t0: float | None = None,
    ) -> None:
        self.p, self.callback = p, callback
        self.t0 = time.perf_counter() if t0 is None else t0
        self.best: tuple[int, int] | None = None

    def known(self, pairs: np.ndarray) -> None:
        """Take ``pairs`` as already reported (an earlier phase's best): only better
        solutions are reported from now on."""
        if is_complete(self.p, pairs):
            v1, v2 = evaluate(self.p, pairs)
            if self.best is None or (v1, -v2) > self.best:
                self.best = (v1, -v2)

    def offer(self, pairs: np.ndarray | None) -> None:
        """Report ``pairs`` if it is complete and better than anything reported so far."""
        if self.callback is None or pairs is None or not is_complete(self.p, pairs):
            return
        v1, v2 = evaluate(self.p, pairs)
        if self.best is None or (v1, -v2) > self.best:
            self.best = (v1, -v2)
            self.callback(time.perf_counter() - self.t0, v1, v2)
