"""The ``broker`` command's entry point: signals are handled from the first moment.

Until :func:`broker.cli.main` installs broker's handlers (:mod:`broker.interrupt`),
importing the command line takes a noticeable moment; a Ctrl-C or SIGTERM in it
ends the command at once with status 130 or 143 and one line, never a traceback.
This module imports nothing heavy before installing that first handler.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType


def _early(signum: int, _frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    os.write(2, f"broker: stopped by {name}\n".encode())
    raise SystemExit(128 + signum)


def main() -> int:
    """Install the start-up handlers, then run :func:`broker.cli.main`."""
    for s in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(s) is not signal.SIG_IGN:
            signal.signal(s, _early)
    from broker.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
