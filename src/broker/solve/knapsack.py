"""Level 1 by Lagrangian relaxation of the clients' rows: one knapsack per supporter.

:mod:`broker.solve.lagrange` relaxes the limits and keeps each client's choice;
its bound can be no better than the LP's. Here it is the other way round, as in
Fisher, Jaikumar and Van Wassenhove's relaxation of the generalised assignment
problem: the rows "each client at most once" (exactly once if required) and the
budget rows are moved into the objective, and each supporter's capacity stays a
0-1 knapsack, solved exactly by dynamic programming. For multipliers ``u`` on the
clients and ``mu >= 0`` on the budget rows ``B x <= d``::

    L(u, mu) = sum_i u[i] + mu . d + sum_s KP_s(prio - u[client] - B' mu)

    KP_s(r) = max { sum_{k in K(s)} r[k] y[k] : sum_{k in K(s)} w[k] y[k] <= cap[s], y in {0,1} }

with ``u[i] >= 0`` unless client ``i`` is required. Every ``L`` is an upper bound
on level 1 (it only relaxes rows), and since a knapsack lacks the integrality
property its minimum can be below the LP bound: on capacity-only rounds, where
loads are a large share of a capacity, this is where the LP is weak.

The knapsack solutions are also the start of a Lagrangian heuristic: pairs a
supporter's knapsack chose go first (by reduced value), then the rest, into
:func:`broker.solve.model.fill`, which keeps every hard rule; the best fill is
returned.

It applies to problems without team clients or pins where every pair uses
exactly one supporter capacity of at most :data:`MAX_CAPACITY` units, up to
:data:`MAX_CELLS` cells of the programme (:func:`applies`). The knapsacks of all
supporters are solved together, one vectorised pass per item position, about
``pairs x capacity`` operations per step.
Multipliers move by projected, deflected subgradient steps with Polyak's step
size, as in :mod:`broker.solve.lagrange`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from broker.problem import LimitKind, ProblemData
from broker.solve.deadline import Deadline
from broker.solve.lp import limit_duals
from broker.solve.model import binding_rows, fill, is_complete
from broker.solve.stepsize import StepFactor
from broker.solve.stop import StopToken

MAX_CAPACITY = 2_000
"""Largest supporter capacity (in load units, centidays) the dynamic programme takes."""

MAX_CELLS = 60_000_000
"""Largest ``pairs x (capacity + 1)`` the dynamic programme takes (its choice table
holds one byte per cell: 60 MB)."""

PATIENCE = 10
"""Steps without a better bound before the step-size factor halves."""

DEFLECTION = 0.3
"""Share of the previous direction added to the subgradient."""

MIN_THETA = 1e-3
"""The search stops when the step-size factor falls below this."""

FILL_EVERY = 3
"""A heuristic fill every this many steps (and after the first)."""


@dataclass(frozen=True, eq=False)
class KnapsackResult:
    """The best bound and solution found.

    Attributes
    ----------
    bound
        ``min L(u, mu)`` over the multipliers tried: an upper bound on level 1.
    pairs
        The best feasible pair set the heuristic filled (``None`` if none).
    value
        Its level 1.
    iterations
        Subgradient steps taken.
    seconds
        Wall time.
    """

    bound: float
    pairs: np.ndarray | None
    value: int
    iterations: int
    seconds: float


def _capacity_rows(p: ProblemData) -> tuple[np.ndarray, np.ndarray] | None:
    """Each pair's capacity row and load in it, or ``None`` if some pair has none or
    several."""
    cols = np.repeat(np.arange(p.n_pairs), np.diff(p.limit_ptr))
    is_cap = p.limit_kind[p.limit_row] == int(LimitKind.CAPACITY)
    counts = np.bincount(cols[is_cap], minlength=p.n_pairs)
    if p.n_pairs == 0 or np.any(counts != 1):
        return None
    row = np.empty(p.n_pairs, dtype=np.int64)
    row[cols[is_cap]] = p.limit_row[is_cap]
    weight = np.empty(p.n_pairs, dtype=np.int64)
    weight[cols[is_cap]] = p.limit_amount[is_cap]
    return row, weight


def applies(p: ProblemData) -> bool:
    """Whether the relaxation fits ``p`` (module docstring)."""
    if p.n_pairs == 0 or np.any(p.team_size != 1) or len(p.pinned):
        return False
    found = _capacity_rows(p)
    if found is None:
        return False
    cap = int(p.limit_rhs[np.unique(found[0])].max())
    return cap <= MAX_CAPACITY and p.n_pairs * (cap + 1) <= MAX_CELLS


def binding_budgets(p: ProblemData) -> np.ndarray:
    """The limit rows other than capacities that can bind (all pairs exceed them)."""
    _, binding = binding_rows(p)
    return binding[p.limit_kind[binding] != int(LimitKind.CAPACITY)]


class _Knapsacks:
    """All supporters' knapsacks over the same pairs; :meth:`solve` for given values."""

    def __init__(self, p: ProblemData, cap_row: np.ndarray, weight: np.ndarray) -> None:
        self.weight = weight
        self.row = cap_row
        self.rhs = p.limit_rhs.astype(np.int64)

    def solve(
        self, value: np.ndarray, rhs: np.ndarray | None = None, allowed: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """Total of the knapsack optima for pair values ``value``, and the chosen pairs
        (capacities ``rhs`` by limit row, default the limits; only ``allowed`` pairs)."""
        rhs = self.rhs if rhs is None else rhs
        ok = (value > 0) & (self.weight <= rhs[self.row])
        items = np.flatnonzero(ok if allowed is None else ok & allowed)
        if len(items) == 0:
            return 0.0, items
        # group the items by row; rows with the most items first, so that item
        # position j is held by a prefix of the rows
        rows, inverse, counts = np.unique(self.row[items], return_inverse=True, return_counts=True)
        by_count = np.argsort(-counts, kind="stable")
        rank = np.empty_like(by_count)
        rank[by_count] = np.arange(len(rows))
        r_of = rank[inverse]
        order = np.lexsort((items, r_of))
        items, r_of = items[order], r_of[order]
        first = np.searchsorted(r_of, np.arange(len(rows)))
        counts = counts[by_count]
        cap = rhs[rows[by_count]]
        size = int(cap.max()) + 1
        best = np.zeros((len(rows), size))
        grid = np.arange(size)
        takes: list[np.ndarray] = []
        slots: list[np.ndarray] = []
        for j in range(int(counts[0])):
            n = int(np.count_nonzero(counts > j))
            k = items[first[:n] + j]
            w = self.weight[k]
            src = grid[np.newaxis, :] - w[:, np.newaxis]
            cand = np.take_along_axis(best[:n], np.maximum(src, 0), axis=1) + value[k][:, None]
            take = (src >= 0) & (cand > best[:n])
            best[:n] = np.where(take, cand, best[:n])
            takes.append(take)
            slots.append(k)
        total = float(best[np.arange(len(rows)), cap].sum())
        chosen: list[np.ndarray] = []
        c = cap.copy()
        for j in range(len(takes) - 1, -1, -1):
            take, k = takes[j], slots[j]
            n = len(k)
            hit = take[np.arange(n), c[:n]]
            chosen.append(k[hit])
            c[:n] -= np.where(hit, self.weight[k], 0)
        return total, np.sort(np.concatenate(chosen))


def knapsack_level1(
    p: ProblemData,
    until: Deadline,
    lower: float = 0.0,
    *,
    start: tuple[np.ndarray, np.ndarray] | None = None,
    max_iterations: int = 1_000,
    stop: StopToken | None = None,
) -> KnapsackResult | None:
    """Minimise ``L(u, mu)`` and fill from its knapsacks (module docstring).

    Parameters
    ----------
    p
        The problem; ``None`` is returned unless :func:`applies`.
    until
        Wall-clock deadline.
    lower
        Level 1 of a known solution (for the step size).
    start
        Client multipliers ``u`` and budget multipliers by limit row (raw units) to
        start from, for example the LP's (:func:`prices_from_lp`); default: every
        client at half its priority, budgets at zero.
    max_iterations
        Cap on subgradient steps.
    stop
        Stops the search early; the bound so far stays valid.
    """
    t0 = time.perf_counter()
    if not applies(p):
        return None
    found = _capacity_rows(p)
    assert found is not None
    kp = _Knapsacks(p, *found)
    a_all, _ = binding_rows(p)
    budgets = binding_budgets(p)
    d = p.limit_rhs[budgets].astype(float)
    scale = sparse.diags_array(1.0 / np.maximum(d, 1.0))
    bt = (scale @ a_all[budgets].astype(float)).T.tocsr()  # pairs x budgets, rows of 1
    d = d / np.maximum(d, 1.0)
    prio = p.pair_priority.astype(float)
    client = p.pair_client.astype(np.int64)
    must = p.required.astype(bool)
    u = 0.5 * p.priority.astype(float)
    mu = np.zeros(len(budgets))
    if start is not None:
        u = np.asarray(start[0], dtype=float).copy()
        mu = np.maximum(np.asarray(start[1], dtype=float)[budgets], 0.0) * np.maximum(
            p.limit_rhs[budgets].astype(float), 1.0
        )  # rows are divided by their limits here
    u = np.where(must, u, np.maximum(u, 0.0))
    factor = StepFactor(PATIENCE, best=float(p.priority.sum()))
    best_pairs: np.ndarray | None = None
    best_value = int(lower)
    steps = 0
    g_prev_u = np.zeros(p.n_clients)
    g_prev_mu = np.zeros(len(budgets))
    while steps < max_iterations and factor.theta > MIN_THETA:
        if until.passed() or (stop is not None and stop.is_set()):
            break
        value = prio - u[client] - (bt @ mu if len(budgets) else 0.0)
        total, chosen = kp.solve(value)
        bound = float(u.sum() + mu @ d + total)
        steps += 1
        factor.record(bound)
        if steps == 1 or steps % FILL_EVERY == 0:
            pairs = _repair(p, kp, value, chosen, until)
            if is_complete(p, pairs):
                v = int(prio[pairs].sum())
                if best_pairs is None or v > best_value:
                    best_pairs, best_value = pairs, v
        if factor.best - best_value < 1.0 - 1e-9:
            break  # the fill is optimal: nothing left to prove
        g_u = 1.0 - np.bincount(client[chosen], minlength=p.n_clients) + DEFLECTION * g_prev_u
        g_u = np.where(~must & (u <= 0) & (g_u > 0), 0.0, g_u)
        used = np.asarray(bt[chosen].sum(axis=0)).reshape(-1) if len(budgets) else mu
        g_mu = d - used + DEFLECTION * g_prev_mu if len(budgets) else mu
        g_mu = np.where((mu <= 0) & (g_mu > 0), 0.0, g_mu)
        g_prev_u, g_prev_mu = g_u, g_mu
        norm = float(g_u @ g_u + g_mu @ g_mu)
        if norm <= 0:
            break
        step = factor.theta * max(bound - max(best_value, lower), 1e-9) / norm
        u = u - step * g_u
        u = np.where(must, u, np.maximum(u, 0.0))
        if len(budgets):
            mu = np.maximum(mu - step * g_mu, 0.0)
    return KnapsackResult(factor.best, best_pairs, best_value, steps, time.perf_counter() - t0)


REPAIR_ROUNDS = 4
"""Rounds of knapsacks over the clients still unmatched in :func:`_repair`."""


def _repair(
    p: ProblemData, kp: _Knapsacks, value: np.ndarray, chosen: np.ndarray, until: Deadline
) -> np.ndarray:
    """A feasible solution from the knapsacks' choice ``chosen`` at values ``value``.

    A client several knapsacks chose keeps its best pair; the capacity the others
    freed is then offered, by knapsacks again, to the clients still unmatched (by
    priority), for :data:`REPAIR_ROUNDS` rounds; :func:`fill` takes the kept pairs
    first (it keeps the budgets and every other rule) and the rest by value.
    """
    client = p.pair_client
    keep = np.zeros(p.n_pairs, dtype=bool)
    matched = np.zeros(p.n_clients, dtype=bool)
    rhs = kp.rhs.copy()
    prio = p.pair_priority.astype(float)
    current = chosen
    for _ in range(REPAIR_ROUNDS + 1):
        if len(current) == 0 or until.passed():
            break
        # best pair per client among those chosen (highest value, then lowest load)
        order = np.lexsort((kp.weight[current], -value[current], client[current]))
        current = current[order]
        first = np.r_[True, client[current][1:] != client[current][:-1]]
        won = current[first]
        keep[won] = True
        matched[client[won]] = True
        np.subtract.at(rhs, kp.row[won], kp.weight[won])
        # the capacity that is left goes to clients still unmatched, by priority
        free = ~matched[client]
        _, current = kp.solve(prio, rhs, free)
    order = np.lexsort((np.arange(p.n_pairs), -value, ~keep))
    return fill(p, order, until=until)


def prices_from_lp(p: ProblemData, duals: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Starting multipliers from the LP's row duals (:attr:`broker.solve.lp.LpResult.duals`):
    client prices ``u`` (the first rows) and budget prices by limit row (raw units),
    or ``None`` when the duals are not this problem's."""
    mu = limit_duals(p, duals)
    if mu is None:
        return None
    u = np.asarray(duals[: p.n_clients], dtype=float)
    return np.where(p.required, u, np.maximum(u, 0.0)), mu
