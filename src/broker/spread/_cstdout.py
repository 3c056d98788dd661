"""Silence output that C libraries write straight to file descriptor 1.

HiGHS (inside SciPy) occasionally prints internal debug lines to the process's
standard output even with ``disp=False``; they would land in the middle of the
headline figures that ``broker spread`` prints. :func:`silenced_c_stdout` points
descriptor 1 at the null device for the duration of a call and restores it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def silenced_c_stdout() -> Iterator[None]:
    """Redirect descriptor 1 to ``os.devnull`` inside the ``with`` block.

    Falls back to doing nothing when descriptor 1 cannot be duplicated (e.g. an
    embedded interpreter without one).
    """
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)
