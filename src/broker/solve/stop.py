"""Stopping a solve from outside: a stop token every phase of a solve watches.

A :class:`StopToken` is shared by every phase of one solve (LP bound, start
heuristics, each CP-SAT call, each LNS step, child processes). Setting it
(:meth:`StopToken.set`, from any thread, e.g. a signal watcher) asks them all to
stop as soon as they can; each phase then returns the best it has, and the solver
reports ``stopped_by = "interrupted"``.

Phases that run inside a C++ library cannot look at a flag, so they register a
*hook* that stops them (``CpSolver.stop_search``, ``MPSolver.InterruptSolve``,
killing a child process) with :meth:`StopToken.watch`. Hooks are called when the
token is set and again every :data:`POKE_S` seconds for :data:`POKE_FOR_S` seconds,
which closes the window where a library call has been entered but cannot yet be
stopped (CP-SAT ignores ``stop_search`` until its search has started).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

POKE_S = 0.05
"""Interval at which registered hooks are called again after a stop, seconds."""

POKE_FOR_S = 10.0
"""How long hooks keep being called after a stop, seconds."""


class StopToken:
    """A thread-safe request to stop, with the hooks that carry it into libraries.

    Attributes
    ----------
    signum
        The signal that set the token (``signal.SIGINT``, ``signal.SIGTERM``), or
        ``None`` when it was set by a call to :meth:`set` without one or not at all.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._hooks: dict[int, Callable[[], None]] = {}
        self._next = 0
        self._defer = 0
        self._poker: threading.Thread | None = None
        self.signum: int | None = None

    def __getstate__(self) -> dict[str, object]:
        # A token never crosses a process boundary: a child gets a fresh one and
        # is stopped by its parent (see broker.solve.child).
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]

    def is_set(self) -> bool:
        """Whether a stop was requested."""
        return self._event.is_set()

    def set(self, signum: int | None = None) -> None:
        """Request a stop: call every registered hook now and keep calling them briefly."""
        with self._lock:
            first = not self._event.is_set()
            if first:
                self.signum = signum
                self._event.set()
        self._call_hooks()
        if first:
            self._poker = threading.Thread(target=self._poke, name="broker-stop", daemon=True)
            self._poker.start()

    def _call_hooks(self) -> None:
        with self._lock:
            hooks = list(self._hooks.values())
        for hook in hooks:
            try:
                hook()
            except Exception:  # noqa: BLE001 - a failing hook must not stop the others
                pass

    def _poke(self) -> None:
        end = time.monotonic() + POKE_FOR_S
        while time.monotonic() < end:
            time.sleep(POKE_S)
            self._call_hooks()

    def wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a stop; return whether one was requested."""
        return self._event.wait(timeout)

    @contextmanager
    def watch(self, hook: Callable[[], None]) -> Iterator[None]:
        """Register ``hook`` (called on a stop) for the duration of the block."""
        with self._lock:
            key = self._next
            self._next += 1
            self._hooks[key] = hook
        try:
            if self._event.is_set():
                hook()
            yield
        finally:
            with self._lock:
                self._hooks.pop(key, None)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Mark a block in which a signal only sets the token (see :mod:`broker.interrupt`).

        Inside, the solver is expected to notice the stop and return its best
        solution so far; outside, a signal aborts the run at once.
        """
        with self._lock:
            self._defer += 1
        try:
            yield
        finally:
            with self._lock:
                self._defer -= 1

    @property
    def deferring(self) -> bool:
        """Whether a :meth:`deferred` block is active."""
        return self._defer > 0


_PROCESS: list[StopToken] = []


def default_token() -> StopToken:
    """The token of the running command if one is installed, else a fresh token.

    :func:`broker.interrupt.handle_signals` installs its token here for the
    duration of a command, so every solve started in it (also deep inside
    ``broker bench``) is stopped by Ctrl-C without passing the token along.
    This is the default of :attr:`broker.solve.base.SolveOptions.stop`.
    """
    return _PROCESS[-1] if _PROCESS else StopToken()


@contextmanager
def installed(token: StopToken) -> Iterator[StopToken]:
    """Make ``token`` the :func:`default_token` for the block."""
    _PROCESS.append(token)
    try:
        yield token
    finally:
        _PROCESS.remove(token)
