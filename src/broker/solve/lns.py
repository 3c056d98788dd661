"""Deterministic large-neighbourhood search (LNS) with exact CP-SAT sub-solves.

Used by :mod:`broker.solve.cpsat` on instances too large to solve exactly within
the time limit. Starting from a feasible assignment, each step frees the clients
of one *neighbourhood*, fixes everything else, and re-optimises the freed part
exactly (single-worker CP-SAT, deterministic work limit) against the residual
capacities and budgets. An improving sub-solution replaces the current one.

Neighbourhoods follow the structure that makes the problem hard:

* when clients have budget groups (authorities with budgets), a neighbourhood is
  one group plus groups that share supporters with it, so a budget is re-packed
  as a whole together with the capacities it competes for;
* otherwise (e.g. GAP instances), the clients of a few supporters that share
  clients, so loads can move between them.

Level 1 maximises priority. Level 2 minimises the level-2 cost subject to the
freed part keeping at least its current priority, so level 1 never drops.

Everything is seeded and every sub-solve is limited by deterministic work, so the
same problem, start and seed give the same result.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from broker.problem import NO_LIMIT, ProblemData

STEP_OVERHEAD_WORK = 0.03
"""Work charged per step on top of CP-SAT's own count, for the model building it does
not see (about 25 ms of Python per step on the reference machine)."""


@dataclass
class LnsStats:
    iterations: int = 0
    improvements: int = 0
    work: float = 0.0


class Neighbourhoods:
    """Precomputed structure for drawing neighbourhoods of a problem."""

    def __init__(self, p: ProblemData, target_clients: int) -> None:
        self.p = p
        self.target = target_clients
        self.starts = p.client_pair_ranges()
        order = np.argsort(p.pair_supporter, kind="stable")
        self.sup_order = order
        self.sup_starts = np.searchsorted(p.pair_supporter[order], np.arange(p.n_supporters + 1))
        grp = p.client_group.astype(np.int64)
        self.by_group = p.n_groups > 0 and bool(np.any(grp >= 0))
        if self.by_group:
            # units are budget groups; clients without a group form singleton units
            unit = np.where(grp >= 0, grp, p.n_groups + np.arange(p.n_clients))
        else:
            unit = np.arange(p.n_clients)
        _, unit = np.unique(unit, return_inverse=True)
        self.unit = unit
        n_units = int(unit.max()) + 1 if len(unit) else 0
        order_u = np.argsort(unit, kind="stable")
        bounds = np.searchsorted(unit[order_u], np.arange(n_units + 1))
        self.members = [order_u[bounds[u] : bounds[u + 1]] for u in range(n_units)]
        # unit adjacency: units whose clients share a supporter
        pu = unit[p.pair_client]
        su = np.stack([p.pair_supporter.astype(np.int64), pu])
        su = np.unique(su, axis=1)
        by_sup = np.split(su[1], np.searchsorted(su[0], np.arange(1, p.n_supporters)))
        nbr: list[set[int]] = [set() for _ in range(n_units)]
        for units in by_sup:
            if len(units) > 1:
                for u in units:
                    nbr[int(u)].update(int(v) for v in units)
        self.neighbours = [np.array(sorted(s - {u}), dtype=np.int64) for u, s in enumerate(nbr)]

    def draw(self, rng: np.random.Generator, seed_unit: int) -> np.ndarray:
        """Clients of ``seed_unit`` and neighbouring units, up to the target size."""
        chosen = [seed_unit]
        size = len(self.members[seed_unit])
        frontier = [seed_unit]
        seen = {seed_unit}
        while frontier and size < self.target:
            nxt = []
            for u in frontier:
                for v in rng.permutation(self.neighbours[u]):
                    v = int(v)
                    if v in seen:
                        continue
                    seen.add(v)
                    if size + len(self.members[v]) > self.target and size > 0:
                        continue
                    chosen.append(v)
                    nxt.append(v)
                    size += len(self.members[v])
                    if size >= self.target:
                        break
            frontier = nxt
        return np.sort(np.concatenate([self.members[u] for u in chosen]))


def _sub_solve(
    p: ProblemData, assignment: np.ndarray, free: np.ndarray, level: int, work: float, seed: int
) -> tuple[np.ndarray | None, float]:
    """Re-optimise the clients in ``free``; return the new assignment if it improves."""
    starts = np.asarray(p.client_pair_ranges())
    free_mask = np.zeros(p.n_clients, dtype=bool)
    free_mask[free] = True
    current = p.assignment_to_pairs(assignment)
    fixed = current[~free_mask[p.pair_client[current]]]
    inside = current[free_mask[p.pair_client[current]]]
    cap = p.capacity - np.bincount(
        p.pair_supporter[fixed], weights=p.pair_load[fixed], minlength=p.n_supporters
    ).astype(np.int64)
    group_left = p.group_budget.astype(np.int64).copy()
    if p.n_groups:
        g = p.client_group[p.pair_client[fixed]]
        np.subtract.at(group_left, g[g >= 0], p.pair_cost[fixed][g >= 0])
    prog_left = (
        p.programme_budget - int(p.pair_cost[fixed].sum())
        if p.programme_budget != NO_LIMIT
        else None
    )
    ks = (
        np.concatenate([np.arange(starts[i], starts[i + 1]) for i in free])
        if len(free)
        else np.zeros(0, np.int64)
    )
    if len(ks) == 0:
        return None, 0.0
    model = cp_model.CpModel()
    x = [model.new_bool_var(f"x{k}") for k in ks]
    pc = p.pair_client[ks]
    # clients: pairs of one client are contiguous in ks
    cuts = np.flatnonzero(np.diff(pc)) + 1
    for seg, i in zip(np.split(np.arange(len(ks)), cuts), pc[np.r_[0, cuts]], strict=True):
        lits = [x[n] for n in seg]
        if p.required[i]:
            model.add_exactly_one(lits)
        elif len(lits) > 1:
            model.add_at_most_one(lits)
    js = p.pair_supporter[ks]
    order = np.argsort(js, kind="stable")
    jcuts = np.flatnonzero(np.diff(js[order])) + 1
    for seg in np.split(order, jcuts):
        j = js[seg[0]]
        loads = p.pair_load[ks[seg]]
        if int(loads.sum()) > cap[j]:
            model.add(
                cp_model.LinearExpr.weighted_sum([x[n] for n in seg], loads.tolist()) <= int(cap[j])
            )
    if p.n_groups:
        gs = p.client_group[pc]
        for h in np.unique(gs[gs >= 0]):
            seg = np.flatnonzero(gs == h)
            costs = p.pair_cost[ks[seg]]
            if int(costs.sum()) > group_left[h]:
                model.add(
                    cp_model.LinearExpr.weighted_sum([x[n] for n in seg], costs.tolist())
                    <= int(group_left[h])
                )
    if prog_left is not None and int(p.pair_cost[ks].sum()) > prog_left:
        model.add(cp_model.LinearExpr.weighted_sum(x, p.pair_cost[ks].tolist()) <= prog_left)
    in_now = np.isin(ks, inside)
    for var, v in zip(x, in_now, strict=True):
        model.add_hint(var, bool(v))
    prio = p.pair_priority[ks]
    before1 = int(p.pair_priority[inside].sum())
    before2 = int(p.pair_level2[inside].sum())
    if level == 1:
        model.maximize(cp_model.LinearExpr.weighted_sum(x, prio.tolist()))
    else:
        model.add(cp_model.LinearExpr.weighted_sum(x, prio.tolist()) >= before1)
        model.minimize(cp_model.LinearExpr.weighted_sum(x, p.pair_level2[ks].tolist()))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_deterministic_time = work
    status = solver.solve(model)
    used = solver.deterministic_time
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, used
    chosen = np.array(solver.boolean_values(x), dtype=bool)
    new1 = int(prio[chosen].sum())
    new2 = int(p.pair_level2[ks][chosen].sum())
    better = new1 > before1 if level == 1 else (new1 >= before1 and new2 < before2)
    if not better:
        return None, used
    out = assignment.copy()
    out[free] = -1
    out[p.pair_client[ks[chosen]]] = p.pair_supporter[ks[chosen]]
    return out, used


def improve(
    p: ProblemData,
    start: np.ndarray,
    *,
    level: int,
    work_limit: float,
    time_limit_s: float,
    seed: int,
    target_clients: int = 40,
    sub_work: float = 0.15,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, LnsStats]:
    """Improve a feasible assignment by LNS (see the module docstring).

    Stops when ``work_limit`` deterministic units are spent (reproducible), the wall
    clock passes ``time_limit_s`` (safety net), or ``should_stop()`` is true.
    """
    rng = np.random.default_rng(seed)
    hood = Neighbourhoods(p, target_clients)
    a = np.asarray(start, dtype=np.int64).copy()
    stats = LnsStats()
    t0 = time.perf_counter()
    n_units = len(hood.members)
    has_pairs = np.diff(hood.starts) > 0
    last_report = t0
    while stats.work < work_limit and time.perf_counter() - t0 < time_limit_s:
        if should_stop is not None and should_stop():
            break
        stats.iterations += 1
        # favour units with unmatched clients that could be matched (level 1)
        if level == 1 and rng.random() < 0.7:
            open_clients = np.flatnonzero((a < 0) & has_pairs)
            seed_unit = (
                int(hood.unit[rng.choice(open_clients)])
                if len(open_clients)
                else int(rng.integers(n_units))
            )
        else:
            seed_unit = int(rng.integers(n_units))
        free = hood.draw(rng, seed_unit)
        new, used = _sub_solve(
            p, a, free, level, min(sub_work, work_limit - stats.work), int(rng.integers(1 << 30))
        )
        stats.work += used + STEP_OVERHEAD_WORK
        if new is not None:
            a = new
            stats.improvements += 1
        if progress is not None and time.perf_counter() - last_report > 2.0:
            last_report = time.perf_counter()
            k = p.assignment_to_pairs(a)
            value = int(p.pair_priority[k].sum()) if level == 1 else int(p.pair_level2[k].sum())
            progress(f"LNS level {level}: {value:,} after {stats.iterations} steps")
    return a, stats
