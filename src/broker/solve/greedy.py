"""Greedy baseline: clients in priority order, each to its best feasible supporter.

Pinned pairs are placed first. Then clients are taken by priority (highest first),
smaller need first among equals, then input order; each takes the candidate pair
with the smallest level-2 coefficient whose supporter still has capacity and whose
cost fits every remaining budget. Deterministic, fast, and feasible by
construction for optional clients; a required client that finds no room is left
unmatched and the status is ``UNKNOWN``. It proves nothing: its level-1 bound is
the sum of all priorities.
"""

from __future__ import annotations

import time

import numpy as np

from broker.problem import NO_LIMIT, ProblemData
from broker.solve.base import SolveOptions, register
from broker.solve.result import Level, Result, SolveStatus, evaluate, freeze


def greedy_assignment(problem: ProblemData) -> np.ndarray:
    """The greedy assignment (supporter index per client, -1 if unmatched)."""
    p = problem
    assignment = np.full(p.n_clients, -1, dtype=np.int64)
    cap = p.capacity.astype(np.int64).copy()
    group_left = p.group_budget.astype(np.int64).copy()
    prog_left = p.programme_budget

    def take(k: int) -> None:
        nonlocal prog_left
        i, j = int(p.pair_client[k]), int(p.pair_supporter[k])
        assignment[i] = j
        cap[j] -= p.pair_load[k]
        g = p.client_group[i]
        if g >= 0:
            group_left[g] -= p.pair_cost[k]
        if prog_left != NO_LIMIT:
            prog_left -= int(p.pair_cost[k])

    for k in p.pinned:
        take(int(k))
    starts = p.client_pair_ranges()
    need = np.zeros(p.n_clients, dtype=np.int64)
    np.maximum.at(need, p.pair_client, p.pair_load)
    order = np.lexsort((np.arange(p.n_clients), need, -p.priority, ~p.required))
    for i in order:
        if assignment[i] >= 0:
            continue
        lo, hi = starts[i], starts[i + 1]
        if lo == hi:
            continue
        ks = np.arange(lo, hi)
        ok = p.pair_load[ks] <= cap[p.pair_supporter[ks]]
        g = p.client_group[i]
        if g >= 0:
            ok &= p.pair_cost[ks] <= group_left[g]
        if prog_left != NO_LIMIT:
            ok &= p.pair_cost[ks] <= prog_left
        ks = ks[ok]
        if len(ks):
            take(int(ks[np.lexsort((p.pair_supporter[ks], p.pair_level2[ks]))[0]]))
    return assignment


class GreedySolver:
    name = "greedy"
    exact = False

    def solve(self, problem: ProblemData, options: SolveOptions) -> Result:
        t0 = time.perf_counter()
        a = greedy_assignment(problem)
        l1, l2 = evaluate(problem, a)
        complete = bool(np.all(a[problem.required] >= 0))
        trivial = int(problem.priority.sum())
        return Result(
            assignment=freeze(a),
            level1=Level(l1, trivial, l1 == trivial, "max"),
            level2=Level(l2, int(np.minimum(problem.pair_level2, 0).sum()), False, "min"),
            status=SolveStatus.FEASIBLE if complete else SolveStatus.UNKNOWN,
            solver=self.name,
            params={},
            seed=options.seed,
            runtime_s=time.perf_counter() - t0,
            stopped_by="complete",
        )


register("greedy")(GreedySolver)
