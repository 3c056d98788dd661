"""A level-1 bound that keeps each funder's budget whole: capacities priced, budgets exact.

``level1_relaxations.py`` showed that dropping either the capacity rows or the
budget rows of the budgeted national round leaves a bound far above the LP's. This
script tries the relaxation between the two: the capacity rows move into the
objective with multipliers ``lam >= 0``, and each funder's budget stays a
multiple-choice knapsack (each client at most one pair, the pairs' costs within
the budget), solved exactly by dynamic programming::

    L(lam) = sum_s lam[s] cap[s]
             + sum_g max { sum_{k in x} (prio[k] - lam[s(k)] load[k]) :
                           x picks at most one pair per client of g,
                           sum_{k in x} w[k] <= G }

with ``w[k] = floor(cost[k] G / budget[g])``: rounding the costs down relaxes each
budget, so every ``L(lam)`` is still an upper bound on level 1. Its minimum is at
most the LP bound, and below it where the budgets' integrality is what the LP
misses. The multipliers start at the LP's capacity duals and move by projected,
deflected subgradient steps with Polyak's step size towards ``--lower`` (default:
the greedy solution's level 1)::

    python benchmarks/budget_knapsack_bound.py [--set england] [--instance england]
        [--grid 1000] [--steps 100] [--lower L]

It applies to problems whose only limits are capacities and funder budgets, with
every client's pairs charged to one funder (or none).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from broker.argtypes import nonneg_int, positive_float
from broker.bench.instances import instance_named
from broker.problem import LimitKind, ProblemData
from broker.solve.greedy import greedy_pairs
from broker.solve.knapsack import _capacity_rows
from broker.solve.lp import limit_duals, solve_lp
from broker.solve.stepsize import StepFactor

PATIENCE = 10
"""Steps without a better bound before the step-size factor halves."""

DEFLECTION = 0.3
"""Share of the previous direction added to the subgradient."""


class BudgetKnapsacks:
    """Each funder's multiple-choice knapsack, for given pair values (module docstring)."""

    def __init__(self, p: ProblemData, grid: int) -> None:
        found = _capacity_rows(p)
        if found is None:
            raise SystemExit(f"{p.name}: some pair has no capacity row, or several")
        self.cap_row, self.load = found
        kinds = set(np.unique(p.limit_kind).tolist())
        allowed = {int(LimitKind.CAPACITY), int(LimitKind.GROUP_BUDGET)}
        if not kinds <= allowed or np.any(p.team_size != 1) or len(p.pinned):
            raise SystemExit(
                f"{p.name}: expected only capacities and funder budgets, single supporters "
                "and no pinned pairs"
            )
        cols = np.repeat(np.arange(p.n_pairs), np.diff(p.limit_ptr))
        is_budget = p.limit_kind[p.limit_row] == int(LimitKind.GROUP_BUDGET)
        group = np.full(p.n_pairs, -1, np.int64)
        group[cols[is_budget]] = p.limit_row[is_budget]
        starts = p.client_pair_ranges()
        self.clients: dict[int, list[tuple[int, int]]] = {}
        for i in range(p.n_clients):
            lo, hi = int(starts[i]), int(starts[i + 1])
            if hi == lo:
                continue
            g = np.unique(group[lo:hi])
            if len(g) != 1:
                raise SystemExit(
                    f"{p.name}: client {p.client_ids[i]}'s pairs go to several funders"
                )
            self.clients.setdefault(int(g[0]), []).append((lo, hi))
        budget = p.limit_rhs.astype(float)
        self.weight = np.where(
            group >= 0,
            np.floor(p.pair_cost * grid / np.maximum(budget[np.maximum(group, 0)], 1.0)),
            0,
        ).astype(np.int64)
        self.grid = grid
        self.caps = np.unique(self.cap_row)
        self.rhs = p.limit_rhs.astype(float)

    def solve(self, value: np.ndarray) -> tuple[float, np.ndarray]:
        """Sum of the knapsack optima at pair values ``value``, and the chosen pairs."""
        total, chosen = 0.0, []
        w, size = self.weight, self.grid + 1
        for g, ranges in self.clients.items():
            if g < 0:  # no funder: each client takes its best positive pair
                for lo, hi in ranges:
                    k = lo + int(np.argmax(value[lo:hi]))
                    if value[k] > 0:
                        total += float(value[k])
                        chosen.append(k)
                continue
            best = np.zeros(size)
            trace = []
            for lo, hi in ranges:
                ks = np.arange(lo, hi)
                ks = ks[(value[ks] > 0) & (w[ks] <= self.grid)]
                if len(ks) == 0:
                    continue
                ks = ks[np.lexsort((-value[ks], w[ks]))]
                # only pairs better than every cheaper one can be chosen
                ks = ks[value[ks] > np.r_[-np.inf, np.maximum.accumulate(value[ks])[:-1]]]
                new, arg = best.copy(), np.full(size, -1)
                for k in ks:
                    cand = best[: size - w[k]] + value[k]
                    better = cand > new[w[k] :]
                    new[w[k] :][better] = cand[better]
                    arg[w[k] :][better] = k
                trace.append(arg)
                best = new
            total += float(best[-1])
            b = self.grid
            for arg in reversed(trace):
                k = int(arg[b])
                if k >= 0:
                    chosen.append(k)
                    b -= int(w[k])
        return total, np.array(sorted(chosen), dtype=np.int64)

    def bound(self, prio: np.ndarray, lam: np.ndarray) -> tuple[float, np.ndarray]:
        """``L(lam)`` and the knapsacks' chosen pairs."""
        value = prio - lam[self.cap_row] * self.load
        total, chosen = self.solve(value)
        return total + float(lam[self.caps] @ self.rhs[self.caps]), chosen


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", default="england")
    ap.add_argument("--instance", default="england")
    ap.add_argument("--grid", type=nonneg_int, default=1000, help="budget units per funder")
    ap.add_argument("--steps", type=nonneg_int, default=100)
    ap.add_argument("--lower", type=positive_float, default=None)
    args = ap.parse_args()
    if args.grid < 1:
        ap.error("--grid: expected at least 1")
    try:
        p = instance_named(f"{args.set}:{args.instance}").load()
    except KeyError as exc:
        ap.error(str(exc.args[0]))
    kp = BudgetKnapsacks(p, args.grid)
    prio = p.pair_priority.astype(float)
    lower = args.lower if args.lower is not None else float(prio[greedy_pairs(p)].sum())
    t = time.perf_counter()
    lp = solve_lp(p, prio, time_limit_s=60)
    duals = limit_duals(p, lp.duals) if lp.duals is not None else None
    if lp.bound is None or duals is None:
        raise SystemExit(f"the LP relaxation gave no bound and duals ({lp.status})")
    print(
        f"{args.set}:{args.instance}: {p.n_clients:,} clients, {p.n_pairs:,} pairs; "
        f"grid {args.grid}, lower {lower:,.0f}\n"
    )
    print("| bound | level 1 | seconds |")
    print("|---|---:|---:|")
    print(f"| LP relaxation (GLOP) | {lp.bound:,.2f} | {time.perf_counter() - t:.1f} |")
    lam = np.maximum(np.asarray(duals, dtype=float), 0.0)
    lam[np.setdiff1d(np.arange(p.n_limits), kp.caps)] = 0.0
    factor, g_prev = StepFactor(PATIENCE), np.zeros(p.n_limits)
    t = time.perf_counter()
    for step in range(args.steps + 1):
        value, chosen = kp.bound(prio, lam)
        if step == 0:
            print(
                f"| budgets exact, capacities at the LP's duals | {value:,.2f} "
                f"| {time.perf_counter() - t:.1f} |",
                flush=True,
            )
        factor.record(value)
        used = np.bincount(kp.cap_row[chosen], weights=kp.load[chosen], minlength=p.n_limits)
        g = np.zeros(p.n_limits)
        g[kp.caps] = kp.rhs[kp.caps] - used[kp.caps]
        g = g + DEFLECTION * g_prev
        g = np.where((lam <= 0) & (g > 0), 0.0, g)
        g_prev = g
        norm = float(g @ g)
        if norm <= 0 or step == args.steps:
            break
        lam = np.maximum(lam - factor.theta * max(value - lower, 1e-9) / norm * g, 0.0)
    print(
        f"| budgets exact, best of {step + 1} multipliers | {factor.best:,.2f} "
        f"| {time.perf_counter() - t:.1f} |"
    )


if __name__ == "__main__":
    main()
