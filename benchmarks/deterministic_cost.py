"""What the deterministic default costs: level 1 with and without ``deterministic``.

Usage: python benchmarks/deterministic_cost.py [--seeds 1,2] [--time-limit 20]

Solves ``broker scenario england --seed S`` (with and without LA budgets) with
broker's ``cpsat`` twice, deterministic (the default) and not, one after the
other, and prints level 1, the bound, ``stopped_by`` and the wall time of each,
and the difference in level 1 as a share of the non-deterministic value
(positive = the deterministic default is behind). Also runs an explicit work
limit (``--work-limit``, the reproducible mode) for comparison.

With ``--repeat N`` the default and ``--no-deterministic`` runs are repeated N
times, interleaved; the table then shows each one's mean and range, since both
stop on the wall clock where HiGHS runs and one run of each is one draw.
"""

from __future__ import annotations

import argparse
import os
import time

from broker.argtypes import seed_list
from broker.bench.instances import generated_england
from broker.solve import solve


def _cell(runs: list[tuple[int, float, str]]) -> str:
    """One run as ``value (seconds)``; several as ``mean (min-max), slowest s``."""
    if len(runs) == 1:
        return f"{runs[0][0]:,} ({runs[0][1]:.1f} s)"
    values = [v for v, _, _ in runs]
    slowest = max(t for _, t, _ in runs)
    mean = sum(values) / len(values)
    return f"{mean:,.1f} ({min(values):,}-{max(values):,}), at most {slowest:.1f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=seed_list, default=[1, 2], help="scenario seeds, e.g. 1,2")
    ap.add_argument("--time-limit", type=float, default=20.0)
    ap.add_argument("--work-limit", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=1, help="runs of each wall-clock setting")
    ap.add_argument("--budgets", choices=("both", "with", "without"), default="both")
    args = ap.parse_args()
    if args.repeat < 1:
        ap.error(f"--repeat {args.repeat}: expected 1 or more")
    kinds = {"both": (True, False), "with": (True,), "without": (False,)}[args.budgets]
    print(f"load average before: {os.getloadavg()[0]:.2f}; time limit {args.time_limit:g} s\n")
    print(
        "| instance | default | --no-deterministic | default vs not | "
        f"--work-limit {args.work_limit:g} | stopped_by (default / not / work limit) |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for seed in args.seeds:
        for budgets in kinds:
            p = generated_england(seed, 1.0, budgets)
            det: list[tuple[int, float, str]] = []
            non: list[tuple[int, float, str]] = []
            for _ in range(args.repeat):
                for out, kw in ((det, True), (non, False)):
                    t0 = time.perf_counter()
                    r = solve(p, "cpsat", time_limit_s=args.time_limit, seed=0, deterministic=kw)
                    out.append((r.level1.value, time.perf_counter() - t0, str(r.stopped_by)))
            t0 = time.perf_counter()
            w = solve(p, "cpsat", time_limit_s=args.time_limit, seed=0, work_limit=args.work_limit)
            tw = time.perf_counter() - t0
            d_mean = sum(v for v, _, _ in det) / len(det)
            n_mean = sum(v for v, _, _ in non) / len(non)
            diff = (n_mean - d_mean) / max(n_mean, 1)
            name = f"england-s{seed}" + ("" if budgets else "-no-budgets")
            print(
                f"| {name} | {_cell(det)} | {_cell(non)} | {100 * diff:+.2f}% "
                f"| {w.level1.value:,} ({tw:.1f} s) | "
                f"{det[-1][2]} / {non[-1][2]} / {w.stopped_by} |",
                flush=True,
            )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
