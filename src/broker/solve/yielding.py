"""Run one arm of a race in a thread that yields the CPU to the arms beside it.

On two cores the GAP race (:mod:`broker.solve.required`) runs HiGHS in a child
process with two threads (about 1.3 cores) beside broker's own LNS in this
process (one core). They compete for the second core, and HiGHS's branch and cut,
which is deterministic for a given ``threads`` setting, then follows the same
path more slowly. In 19 s (``python benchmarks/highs_contention.py gap-large:gapd-5``),
HiGHS ends at 6,213 alone and at 6,259 beside the LNS; beside the LNS run as
here, at 6,213 again (and the LNS, which takes HiGHS's solutions as they come
(``adopt``), at 6,209). On gapd-6 (20 x 200) the same three runs give 12,303,
12,329 and 12,303. So it runs in a
thread whose scheduling priority is lowered by :data:`YIELD_NICE`: it still takes
every cycle HiGHS leaves idle, but where both want the core, HiGHS gets it, and
the race is never behind HiGHS on its own because of the race.

Only the thread is lowered: on Linux the nice value is per thread
(``setpriority(PRIO_PROCESS, tid)``), threads it starts inherit it, and the
process keeps its own, so a long-lived process (``broker serve``) is not
lowered for good. Elsewhere, or where the system refuses, the thread runs at the
process's priority; the result is the same, only slower to find.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

YIELD_NICE = 10
"""How much the yielding thread's nice value is raised (CFS weight 110 against
1,024 at nice 0: about a tenth of a core it shares with a busy thread)."""


def lower_this_thread(nice: int = YIELD_NICE) -> bool:
    """Raise the calling thread's nice value by ``nice``; whether that happened.

    Only on Linux, where the nice value belongs to the thread; elsewhere it would
    lower the whole process, so nothing is done.
    """
    if nice <= 0 or not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        now = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(now + int(nice), 19))
    except OSError:
        return False
    return True


def run_yielding(fn: Callable[[Callable[[], bool]], T], nice: int = YIELD_NICE) -> T:
    """``fn(abandoned)`` in a thread at lowered priority; its value (or its exception).

    ``abandoned`` is a callable that becomes true when this (the calling) thread
    is interrupted, e.g. by ``KeyboardInterrupt`` while it waits: ``fn`` should
    stop soon after, and the exception is re-raised once it has. ``fn`` runs
    while the caller waits, so it may use the caller's objects without locks.
    """
    done: dict[str, object] = {}
    abandon = threading.Event()
    finished = threading.Event()  # not Thread.join: an interrupted join can return early

    def body() -> None:
        try:
            lower_this_thread(nice)
            done["value"] = fn(abandon.is_set)
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            done["error"] = error
        finally:
            finished.set()

    thread = threading.Thread(target=body, name="broker-yielding", daemon=True)
    thread.start()
    try:
        while not finished.wait(0.05):
            pass
    except BaseException:
        abandon.set()
        finished.wait()
        raise
    if "error" in done:
        raise done["error"]  # type: ignore[misc]
    return done["value"]  # type: ignore[return-value]
