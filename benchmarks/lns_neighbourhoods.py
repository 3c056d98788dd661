"""The LNS's two neighbourhoods on GAPs, at equal deterministic work.

From the LP-rounding start of each instance (the race's start), runs
:func:`broker.solve.lns.improve` on level 2 for the same deterministic work with
the structural neighbourhoods and with ``by_supporters`` (adaptive size: the
number of supporters at the end is shown as ``k``), for each seed, one process,
no wall clock involved, so the figures do not depend on the machine::

    python benchmarks/lns_neighbourhoods.py [--work 8] [--seeds 0,1] [SET:INSTANCE ...]
"""

from __future__ import annotations

import argparse

from broker.argtypes import positive_float, seed_list
from broker.bench.instances import instance_named
from broker.solve.deadline import Deadline
from broker.solve.lns import improve
from broker.solve.lp import solve_lp
from broker.solve.model import scaled
from broker.solve.rounding import lp_rounding

DEFAULT = [
    "gap-large:gapd-3",
    "gap-large:gapd-5",
    "gap-large:gapd-6",
    "gap-cde-400:genC-20x400-0",
    "gap-cde-400:genD-20x400-0",
    "gap-cde-400:genE-40x400-0",
    "gap-cde-900:genD-30x900-0",
    "gap-cde-1600:genD-20x1600-0",
    "gap-cde-1600:genE-40x1600-0",
    "gap-cde-1600:genC-80x1600-0",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instances", nargs="*", default=DEFAULT, help="SET:INSTANCE")
    ap.add_argument("--work", type=positive_float, default=8.0, help="deterministic work")
    ap.add_argument("--seeds", type=seed_list, default="0", help="comma-separated seeds, e.g. 0,1")
    args = ap.parse_args()
    seeds = args.seeds
    try:  # every name checked before any work
        chosen = [instance_named(item) for item in args.instances]
    except KeyError as exc:
        ap.error(str(exc.args[0]))
    print(f"Seeds {', '.join(map(str, seeds))}; each cell is one seed's level 2 (steps).\n")
    print("| instance | start | structural | by supporters |")
    print("|---|---:|---:|---:|")
    for instance in chosen:
        inst = instance.name
        p = scaled(instance.load())
        lp = solve_lp(p, p.pair_level2.astype(float), maximize=False, time_limit_s=600)
        if lp.x is None:
            print(f"| {inst} | no LP solution | | |")
            continue
        start = lp_rounding(p, lp.x, Deadline.after(600))
        if start is None:
            print(f"| {inst} | no rounding | | |")
            continue
        cells = [f"{int(p.pair_level2[start].sum()):,}"]
        for by in (False, True):
            runs = []
            for seed in seeds:
                a, stats = improve(
                    p,
                    start,
                    level=2,
                    work_limit=args.work,
                    time_limit_s=3600,
                    seed=seed,
                    by_supporters=by,
                )
                size = f", k {stats.supporters:.2f}" if by else ""
                runs.append(f"{int(p.pair_level2[a].sum()):,} ({stats.iterations}{size})")
            cells.append("; ".join(runs))
        print(f"| {inst} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
