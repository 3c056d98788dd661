"""The GAP race with the LNS's adaptive neighbourhood size against the fixed two to four.

For each instance and seed, runs ``solve(p, "cpsat", time_limit_s=LIMIT, seed,
workers=2)`` twice in this process: once as shipped (:class:`broker.solve.lns.AdaptiveSize`)
and once with every neighbourhood freeing the clients of two to four supporters
drawn uniformly (the size before the adaptive one), alternating which goes first
by seed so that a drift in the machine's load falls on both. It compares at
equal wall time, where ``lns_neighbourhoods.py`` compares at equal work; the two
can disagree, since a larger neighbourhood costs more wall time per unit of
work. Prints one line per instance and seed::

    python benchmarks/lns_size_race.py [--time-limit 20] [--seeds 0,1,2,3] SET:INSTANCE ...
"""

from __future__ import annotations

import argparse

import numpy as np

from broker.argtypes import positive_float, seed_list
from broker.bench.instances import instance_named
from broker.solve import lns, solve


class FixedSize(lns.AdaptiveSize):
    """Two to four supporters, uniformly, whatever the sub-solves do."""

    def draw(self, rng: np.random.Generator) -> int:
        return min(int(rng.integers(2, 5)), int(self.top))

    def update(self, finished: bool) -> None:
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instances", nargs="+", help="SET:INSTANCE, e.g. gap-large:gapd-5")
    ap.add_argument("--time-limit", type=positive_float, default=20.0)
    ap.add_argument("--seeds", type=seed_list, default="0,1,2,3", help="comma-separated seeds")
    args = ap.parse_args()
    seeds = args.seeds
    try:  # every name checked before any solve
        chosen = [instance_named(item) for item in args.instances]
    except KeyError as exc:
        ap.error(str(exc.args[0]))
    shipped = lns.AdaptiveSize
    print("| instance | seed | adaptive | fixed 2-4 |")
    print("|---|---:|---:|---:|")
    try:
        for instance in chosen:
            inst = instance.name
            p = instance.load()
            for seed in seeds:
                got = {}
                order = [("adaptive", shipped), ("fixed", FixedSize)]
                for label, cls in order if seed % 2 else order[::-1]:
                    lns.AdaptiveSize = cls
                    r = solve(p, "cpsat", time_limit_s=args.time_limit, seed=seed, workers=2)
                    got[label] = r.level2.value
                print(f"| {inst} | {seed} | {got['adaptive']:,} | {got['fixed']:,} |", flush=True)
    finally:
        lns.AdaptiveSize = shipped


if __name__ == "__main__":
    main()
