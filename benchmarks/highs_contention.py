"""How much a busy neighbour slows the race's HiGHS arm, and whether yielding helps.

HiGHS's branch and cut is deterministic for a given ``threads`` setting, so on a
fixed wall time its answer only depends on how much CPU it gets. This script runs
the race's HiGHS arm (:class:`broker.solve.highsarm.HighsTask`, level 2, two
threads, no node limit) on one GAP instance three ways, for the same wall time:

* ``alone``: nothing else runs in this process;
* ``beside nice 0``: the race's LNS (:func:`broker.solve.lns.improve` by
  supporters, from the regret start, taking HiGHS's solutions) runs in a thread of
  this process for the same time at the process's priority, as it did before it
  yielded;
* ``beside nice N``: the same LNS through :func:`broker.solve.yielding.run_yielding`
  (N = :data:`broker.solve.yielding.YIELD_NICE`), as the race runs it now.

Usage::

    python benchmarks/highs_contention.py gap-large:gapd-5 [--wall 19] [--seed 0]

Prints one line per way: HiGHS's level 2, the LNS's, and how long the task took. Run it on
an otherwise idle machine; a second core taken by something else is the effect
it measures.
"""

from __future__ import annotations

import argparse
import sys
import time

from broker.argtypes import nonneg_int, positive_float
from broker.bench.instances import instance_named
from broker.problem import ProblemData
from broker.solve import lns
from broker.solve.deadline import Deadline
from broker.solve.highsarm import HighsTask
from broker.solve.model import is_complete
from broker.solve.regret import regret_start
from broker.solve.result import evaluate
from broker.solve.yielding import YIELD_NICE, run_yielding


def _lns(p: ProblemData, seconds: float, task: HighsTask, abandoned) -> int:  # type: ignore[no-untyped-def]
    start = regret_start(p, Deadline.after(1.0))
    if start is None or not is_complete(p, start):
        return -1
    pairs, _ = lns.improve(
        p,
        start,
        level=2,
        work_limit=float("inf"),
        time_limit_s=seconds,
        seed=0,
        should_stop=abandoned,
        adopt=task.peek,
        by_supporters=True,
    )
    return int(p.pair_level2[pairs].sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("instance", help="SET:INSTANCE, e.g. gap-large:gapd-5")
    ap.add_argument("--wall", type=positive_float, default=19.0, help="HiGHS's wall time, s")
    ap.add_argument("--seed", type=nonneg_int, default=0, help="HiGHS random_seed")
    args = ap.parse_args(argv)
    try:
        inst = instance_named(args.instance)
    except KeyError as error:
        ap.error(str(error.args[0]))
    p = inst.load()
    hold = int(p.priority.sum())
    ways = (("alone", None), ("beside nice 0", 0), (f"beside nice {YIELD_NICE}", YIELD_NICE))
    for label, nice in ways:
        t0 = time.monotonic()
        task = HighsTask(p, 2, args.wall, 10**9, hold, 2, args.seed)
        mine = "-"
        if nice is not None:
            left = args.wall - (time.monotonic() - t0) - 0.5
            found = run_yielding(
                lambda abandoned, left=left, task=task: _lns(p, left, task, abandoned), nice=nice
            )
            mine = f"{found:,}"
        if not task.poll(args.wall + 5.0):
            task.kill()
        out = task.result()
        highs = "none" if out is None or out.pairs is None else f"{evaluate(p, out.pairs)[1]:,}"
        took = time.monotonic() - t0
        print(f"{inst.name} {label:>14}: HiGHS {highs}, LNS {mine}, {took:.2f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
