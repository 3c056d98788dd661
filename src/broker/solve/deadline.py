"""Wall-clock deadlines shared by every phase of a solve (and its child processes).

``--time-limit`` is a promise about the whole solve: every phase (LP bound, start
heuristics, LNS set-up, each level) takes a share of what is *left*, computed from
one absolute deadline on :func:`time.monotonic`, which is the same clock in a
forked child process on the platforms broker runs on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Deadline:
    """An absolute point on :func:`time.monotonic`.

    Attributes
    ----------
    at
        The deadline, seconds on the monotonic clock.
    """

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """The deadline ``seconds`` from now."""
        return cls(time.monotonic() + float(seconds))

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(self.at - time.monotonic(), 0.0)

    def passed(self) -> bool:
        """Whether the deadline has passed."""
        return time.monotonic() >= self.at

    def share(self, fraction: float, *, cap: float | None = None) -> Deadline:
        """A deadline ``fraction`` of the remaining time from now (at most ``cap`` seconds)."""
        seconds = fraction * self.remaining()
        if cap is not None:
            seconds = min(seconds, cap)
        return Deadline(min(time.monotonic() + seconds, self.at))
