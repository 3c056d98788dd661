"""Greedy baseline: clients in priority order, each to its best feasible supporter.

Pinned pairs are placed first. Then clients are taken by priority (highest first),
smaller need first among equals, then input order; each takes the candidate pair
with the smallest level-2 coefficient that fits every remaining limit (capacity
in each of its terms, budgets); a team client takes a lead and a second that fit
together, or neither. Deterministic, fast, and feasible by
construction for optional clients; a required client that finds no room is left
unmatched and the status is ``UNKNOWN``. It proves nothing: its level-1 bound is
the sum of all priorities.
"""

from __future__ import annotations

import time

import numpy as np

from broker.problem import LEAD, ProblemData
from broker.solve.base import SolveOptions, register
from broker.solve.deadline import Deadline
from broker.solve.incumbent import Incumbents
from broker.solve.model import client_order_pairs, fill, is_complete
from broker.solve.result import Level, Result, Sense, SolveStatus, evaluate, make_result


def greedy_order(problem: ProblemData) -> np.ndarray:
    """Clients as the greedy baseline takes them: required first, then by priority
    (highest first), smaller need first among equals, then input order."""
    p = problem
    need = np.zeros(p.n_clients, dtype=np.int64)
    lead = p.pair_role == LEAD
    np.maximum.at(need, p.pair_client[lead], p.pair_load[lead])
    return np.lexsort((np.arange(p.n_clients), need, -p.priority, ~p.required))


def greedy_pairs(problem: ProblemData, until: Deadline | None = None) -> np.ndarray:
    """The greedy solution as sorted pair indices (see the module docstring).

    With ``until``, it stops adding pairs when that deadline passes.
    """
    return fill(problem, client_order_pairs(problem, greedy_order(problem)), until=until)


class GreedySolver:
    name = "greedy"

    def solve(self, problem: ProblemData, options: SolveOptions) -> Result:
        t0 = time.perf_counter()
        ks = greedy_pairs(problem)
        Incumbents(problem, options.on_incumbent).offer(ks)
        l1, l2 = evaluate(problem, ks)
        complete = is_complete(problem, ks)
        trivial = int(problem.priority.sum())
        return make_result(
            problem,
            ks,
            level1=Level(l1, trivial, l1 == trivial, Sense.MAX),
            level2=Level(l2, int(np.minimum(problem.pair_level2, 0).sum()), False, Sense.MIN),
            status=SolveStatus.FEASIBLE if complete else SolveStatus.UNKNOWN,
            solver=self.name,
            params={},
            seed=options.seed,
            runtime_s=time.perf_counter() - t0,
            stopped_by="complete",
        )


register("greedy")(GreedySolver)
