"""Progress messages: the ``broker.progress`` logger, the one channel for them.

Commands report progress with :func:`progress` (a callable taking a message);
messages are ``INFO`` records of the ``broker.progress`` logger, details
(per-school fix searches, for example) are ``DEBUG``. The command line shows
them on standard error with the seconds since the command started; ``--quiet``
shows only warnings, ``--verbose`` adds the details. A library user sees nothing
unless they configure logging themselves (``logging.getLogger("broker.progress")``).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

PROGRESS = logging.getLogger("broker.progress")

T = TypeVar("T")


class _StderrElapsed(logging.Handler):
    """Writes records to the *current* standard error, prefixed with elapsed seconds."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.t0 = time.perf_counter()

    def emit(self, record: logging.LogRecord) -> None:
        elapsed = time.perf_counter() - self.t0
        print(f"[{elapsed:6.1f}s] {record.getMessage()}", file=sys.stderr, flush=True)


def progress(*, quiet: bool = False, verbose: bool = False) -> Callable[[str], None]:
    """Show progress on standard error (from now on) and return the function that reports it.

    Parameters
    ----------
    quiet
        Show nothing below warnings.
    verbose
        Show details (``DEBUG``) too.
    """
    for h in [h for h in PROGRESS.handlers if isinstance(h, _StderrElapsed)]:
        PROGRESS.removeHandler(h)
    PROGRESS.addHandler(_StderrElapsed())
    PROGRESS.propagate = False
    PROGRESS.setLevel(logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO)
    return PROGRESS.info


def detail(message: str) -> None:
    """Report a detail (shown with ``--verbose``)."""
    PROGRESS.debug(message)


def bar(items: Sequence[T], label: str) -> Iterable[T]:
    """``items``, with a tqdm progress bar on standard error for a long stage.

    Shown only where progress is shown (the ``broker.progress`` logger at ``INFO``
    with broker's own handler, i.e. the command line without ``--quiet``) and
    standard error is a terminal, so logs, files and pipes stay free of bar
    redraws; otherwise ``items`` as they are.
    """
    shown = PROGRESS.isEnabledFor(logging.INFO) and any(
        isinstance(h, _StderrElapsed) for h in PROGRESS.handlers
    )
    if not shown or not sys.stderr.isatty() or len(items) < 2:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=label, unit="school", file=sys.stderr, leave=False)
