"""Ctrl-C and SIGTERM: the whole command stops within a second or two.

:func:`handle_signals` (used by :func:`broker.cli.main`) installs broker's own
handlers for SIGINT and SIGTERM and yields a :class:`~broker.solve.stop.StopToken`
that the command passes to its solve. When a signal arrives:

1. a watcher thread (woken through :func:`signal.set_wakeup_fd`, so it runs even
   while the main thread is inside CP-SAT, GLOP or HiGHS) sets the token, which
   stops every CP-SAT search, LP and LNS loop and kills child processes;
2. in the main thread, outside a solve (reading, building candidates, writing),
   the handler raises :class:`Interrupted`: nothing is written (output folders
   are written whole or not at all, see :mod:`broker.outdir`). Inside a solve
   (:meth:`StopToken.deferred`) it only sets the token: the solver returns its
   best solution so far, ``broker run`` writes it marked
   ``stopped_by: interrupted`` and says so;
3. if the command has not finished :data:`HARD_EXIT_S` seconds after the signal
   (a library that cannot be interrupted), or a second signal arrives, the
   process exits at once without writing anything more.

The exit status is 128 + the signal number: 130 for SIGINT, 143 for SIGTERM.
CP-SAT installs its own SIGINT handler unless told not to (and leaves the default
one behind), so every CP-SAT call in broker sets ``catch_sigint_signal = False``.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from broker.solve.stop import StopToken, installed

HARD_EXIT_S = 2.0
"""Seconds after a signal after which the process exits whatever it is doing."""

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def signal_name(signum: int | None) -> str:
    """``"SIGINT"``, ``"SIGTERM"``, ... (``"interrupt"`` for ``None``)."""
    if signum is None:
        return "interrupt"
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def exit_status(signum: int | None) -> int:
    """128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + (signum if signum is not None else int(signal.SIGINT))


class Interrupted(BaseException):
    """Raised in the main thread when a signal stops the command outside a solve.

    A ``BaseException`` (like ``KeyboardInterrupt``) so that ``except Exception``
    blocks do not swallow it.
    """

    def __init__(self, signum: int | None) -> None:
        super().__init__(signal_name(signum))
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """128 + the signal number."""
        return exit_status(self.signum)


def _say(message: str) -> None:
    try:
        os.write(2, (message + "\n").encode())
    except OSError:  # pragma: no cover - stderr closed
        pass


@contextmanager
def handle_signals() -> Iterator[StopToken]:
    """Install broker's SIGINT and SIGTERM handling for the block; see the module docstring.

    Outside the main thread (where Python allows no signal handlers) the token is
    yielded without any handling.
    """
    token = StopToken()
    if threading.current_thread() is not threading.main_thread():
        yield token
        return
    read_end, write_end = socket.socketpair()
    read_end.setblocking(True)
    write_end.setblocking(False)
    done = threading.Event()
    first: list[int] = []

    def hard_exit(signum: int) -> None:
        token.set(signum)  # kills children, stops searches
        _say(f"broker: stopped by {signal_name(signum)}; nothing more written")
        os._exit(exit_status(signum))

    def watch() -> None:
        while True:
            try:
                data = read_end.recv(64)
            except OSError:
                return
            if not data or done.is_set():
                return
            for signum in data:
                if signum not in SIGNALS:
                    continue
                if first:  # a second signal: stop now
                    hard_exit(first[0])
                first.append(signum)
                token.set(signum)
                timer = threading.Timer(HARD_EXIT_S, _late, args=(signum,))
                timer.daemon = True
                timer.start()

    def _late(signum: int) -> None:
        if not done.is_set():
            hard_exit(signum)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        token.set(signum)
        if not token.deferring:
            raise Interrupted(signum)

    # a signal ignored by whoever started broker (nohup, a background job) stays ignored
    old_handlers = {s: signal.getsignal(s) for s in SIGNALS}
    mine = [s for s, h in old_handlers.items() if h is not signal.SIG_IGN]
    old_fd = signal.set_wakeup_fd(write_end.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="broker-signals", daemon=True)
    watcher.start()
    for s in mine:
        signal.signal(s, on_signal)
    try:
        with installed(token):
            yield token
    finally:
        done.set()
        for s in mine:
            h = old_handlers[s]
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(old_fd)
        try:
            write_end.send(b"\0")
        except OSError:  # pragma: no cover
            pass
        watcher.join(timeout=1.0)
        read_end.close()
        write_end.close()
        sys.stderr.flush()
