"""What the deterministic default costs: level 1 with and without ``deterministic``.

Usage: python benchmarks/deterministic_cost.py [--seeds 1,2] [--time-limit 20]

Solves ``broker scenario england --seed S`` (with and without LA budgets) with
broker's ``cpsat`` twice, deterministic (the default) and not, one after the
other, and prints level 1, the bound, ``stopped_by`` and the wall time of each,
and the difference in level 1 as a share of the non-deterministic value
(positive = the deterministic default is behind). Also runs an explicit work
limit (``--work-limit``, the reproducible mode) for comparison.
"""

from __future__ import annotations

import argparse
import os
import time

from broker.bench.instances import generated_england
from broker.solve import solve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="1,2")
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--work-limit", type=float, default=10.0)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; time limit {args.time_limit:g} s\n")
    print(
        "| instance | default | --no-deterministic | default vs not | "
        f"--work-limit {args.work_limit:g} | stopped_by (default / not / work limit) |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for seed in [int(s) for s in args.seeds.split(",")]:
        for budgets in (True, False):
            p = generated_england(seed, 1.0, budgets)
            runs = []
            for kw in (
                {"deterministic": True},
                {"deterministic": False},
                {"deterministic": True, "work_limit": args.work_limit},
            ):
                t0 = time.perf_counter()
                r = solve(p, "cpsat", time_limit_s=args.time_limit, seed=0, **kw)
                runs.append((r, time.perf_counter() - t0))
            (d, td), (n, tn), (w, tw) = runs
            diff = (n.level1.value - d.level1.value) / max(n.level1.value, 1)
            name = f"england-s{seed}" + ("" if budgets else "-no-budgets")
            print(
                f"| {name} | {d.level1.value:,} ({td:.1f} s) | {n.level1.value:,} ({tn:.1f} s) "
                f"| {100 * diff:+.2f}% | {w.level1.value:,} ({tw:.1f} s) | "
                f"{d.stopped_by} / {n.stopped_by} / {w.stopped_by} |"
            )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
