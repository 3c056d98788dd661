"""What the insertion local search adds to each start on a capacity-only round.

Prints level 1 of the plain greedy start and of the knapsack relaxation's fill
(a fixed number of steps, so the figures do not depend on the machine), each
before and after :func:`broker.solve.insertion.improve_level1`, with the search's
wall time::

    python benchmarks/insertion_gain.py [--seed 0] [--scale 1.0] [--steps 9]
"""

from __future__ import annotations

import argparse
import time

from broker.argtypes import nonneg_int, positive_float, positive_int
from broker.bench.instances import synthetic_national
from broker.solve.deadline import Deadline
from broker.solve.greedy import greedy_pairs
from broker.solve.insertion import improve_level1
from broker.solve.knapsack import knapsack_level1, prices_from_lp
from broker.solve.lp import solve_lp
from broker.solve.model import scaled


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=nonneg_int, default=0)
    ap.add_argument("--scale", type=positive_float, default=1.0)
    ap.add_argument("--steps", type=positive_int, default=9, help="knapsack subgradient steps")
    args = ap.parse_args()
    p = scaled(synthetic_national(args.seed, args.scale))
    print(f"synthetic-national seed {args.seed} scale {args.scale}: {p.n_pairs:,} pairs")
    greedy = greedy_pairs(p, Deadline.after(600))
    lp = solve_lp(p, p.pair_priority.astype(float), time_limit_s=600)
    kp = knapsack_level1(
        p,
        Deadline.after(600),
        float(p.pair_priority[greedy].sum()),
        start=prices_from_lp(p, lp.duals) if lp.duals is not None else None,
        max_iterations=args.steps,
    )
    starts = {"greedy": greedy}
    if kp is not None and kp.pairs is not None:
        starts[f"knapsack fill ({kp.iterations} steps)"] = kp.pairs
    for name, start in starts.items():
        t = time.perf_counter()
        out = improve_level1(p, start, Deadline.after(600))
        assert p.violations(out) == []
        print(
            f"{name}: level 1 {int(p.pair_priority[start].sum()):,} -> "
            f"{int(p.pair_priority[out].sum()):,} in {time.perf_counter() - t:.2f} s"
        )


if __name__ == "__main__":
    main()
