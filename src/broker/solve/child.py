"""One function run in a child process, so a second core can search beside this one.

The CP-SAT Python call holds the interpreter for its bookkeeping, so a parallel
search needs a process, not a thread. :class:`ChildTask` forks one (``fork``
where available: unlike ``spawn`` it does not re-run the caller's ``__main__``, so
scripts without a main guard work), runs ``fn(*args)`` there and returns its value
through a pipe. The parent owns the process: :meth:`ChildTask.kill` ends it at
once, and a child whose parent has gone ends itself within
:data:`ORPHAN_CHECK_S` seconds, so an interrupted or killed run never leaves a
search running. A child ignores SIGINT (Ctrl-C reaches the whole process group;
the parent decides) and dies on SIGTERM.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import warnings
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

T = TypeVar("T")

ORPHAN_CHECK_S = 0.2
"""How often a child checks that its parent is still alive, seconds."""


def context() -> multiprocessing.context.BaseContext:
    """``fork`` where available, else ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def child_signal_defaults() -> None:
    """In a freshly started child: no inherited signal machinery of the parent."""
    try:
        signal.set_wakeup_fd(-1)
    except (ValueError, OSError):  # pragma: no cover - not the main thread
        pass
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(ORPHAN_CHECK_S)
        if os.getppid() != parent:
            os._exit(1)


def _child_main(conn: Connection, parent: int, fn: Callable[..., object], args: tuple) -> None:
    child_signal_defaults()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    try:
        value: object = ("ok", fn(*args))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent
        value = ("error", f"{type(exc).__name__}: {exc}")
    try:
        conn.send(value)
    finally:
        conn.close()


class ChildTask(Generic[T]):
    """``fn(*args)`` running in a child process; see the module docstring.

    Parameters
    ----------
    fn
        A module-level function (it must be picklable under ``spawn``).
    *args
        Its arguments.
    """

    def __init__(self, fn: Callable[..., T], *args: object) -> None:
        ctx = context()
        self._recv, send = ctx.Pipe(duplex=False)
        self.process = ctx.Process(  # type: ignore[attr-defined]
            target=_child_main, args=(send, os.getpid(), fn, args), daemon=True
        )
        with warnings.catch_warnings():
            # Python 3.12+ warns when forking a process that has threads (the
            # signal watcher). The child only runs the solver and never touches
            # the locks those threads hold.
            warnings.simplefilter("ignore", DeprecationWarning)
            self.process.start()
        send.close()
        self._done = False
        self._value: T | None = None
        self.error: str | None = None

    def kill(self) -> None:
        """End the child now (its result is then ``None``)."""
        if self.process.is_alive():
            try:
                self.process.kill()
            except (OSError, AttributeError):  # pragma: no cover - already gone
                pass

    def result(self) -> T | None:
        """Wait for the child's value; ``None`` if it failed or was killed (see ``error``)."""
        if not self._done:
            self._done = True
            try:
                kind, value = self._recv.recv()
                if kind == "ok":
                    self._value = value
                else:
                    self.error = str(value)
            except (EOFError, OSError):
                self.error = "the child process ended without an answer"
            finally:
                self._recv.close()
                self.process.join()
        return self._value

    def poll(self, timeout: float = 0.0) -> bool:
        """Whether the child's answer is ready (or the child has gone), waiting up to
        ``timeout`` seconds."""
        return self._done or self._recv.poll(max(timeout, 0.0))
