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
  clients, so loads can move between them;
* with ``by_supporters`` (the race for problems where every client is required,
  :mod:`broker.solve.required`), every client matched to a few supporters drawn
  at random, as many as sub-solves can still finish (:class:`AdaptiveSize`).

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

from broker.problem import LimitKind, ProblemData
from broker.solve import search
from broker.solve.deadline import Deadline
from broker.solve.model import build_cpsat

DENSE_ADJACENCY = 2e5
"""Above this many (supporter, unit, unit) triples, neighbours are drawn on demand."""

LAZY_SUPPORTERS = 3
"""Supporters whose units are drawn from per expansion on dense instances."""

MIN_TIME_S = 0.2
SETUP_S_PER_PAIR = 2e-6
"""The LNS starts only with at least ``MIN_TIME_S + n_pairs * SETUP_S_PER_PAIR`` seconds
left (its set-up took about 2 s at 1.6 million pairs on a loaded machine)."""

STEP_OVERHEAD_WORK = 0.03
"""Work charged per step on top of CP-SAT's own count, for the model building it does
not see (about 25 ms of Python per step on the reference machine)."""


SUPPORTERS_MIN = 2
"""Fewest supporters a ``by_supporters`` neighbourhood frees the clients of."""

SUPPORTERS_START = 3.0
"""The adaptive ``by_supporters`` size at the first step (see :class:`AdaptiveSize`)."""

SIZE_STEP = 0.25
"""How far a sub-solve that finished moves the adaptive size up."""

SHRINK = 3.0
"""How many times :data:`SIZE_STEP` a sub-solve that did not finish moves it down: the
size settles where ``SHRINK / (1 + SHRINK)`` of the sub-solves finish (three in four:
a step that runs out of work is the costlier mistake)."""


@dataclass
class LnsStats:
    """Steps taken, improving steps, deterministic work spent, whether the wall clock
    (rather than the work limit or a stop) ended the search, and how many times the
    search took another arm's better solution (``adopt``)."""

    iterations: int = 0
    improvements: int = 0
    work: float = 0.0
    wall_clock: bool = False
    adopted: int = 0
    supporters: float = 0.0
    """With ``by_supporters``, the adaptive neighbourhood size at the end."""


class Neighbourhoods:
    """Precomputed structure for drawing neighbourhoods of a problem."""

    def __init__(self, p: ProblemData, target_clients: int) -> None:
        self.p = p
        self.target = target_clients
        self.starts = p.client_pair_ranges()
        order = np.argsort(p.pair_supporter, kind="stable")
        self.sup_order = order
        self.sup_starts = np.searchsorted(p.pair_supporter[order], np.arange(p.n_supporters + 1))
        grp = client_budget_group(p)
        self.by_group = bool(np.any(grp >= 0))
        if self.by_group:
            # units are budget groups; clients without a group form singleton units
            unit = np.where(grp >= 0, grp, p.n_limits + np.arange(p.n_clients))
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
        self.sup_units = by_sup
        sizes = np.array([len(u) for u in by_sup], dtype=np.float64)
        # Precomputing every unit's neighbours costs sum(sizes^2): fine for
        # authority budgets, far too slow for a dense GAP (40 agents x 1,600 jobs is
        # 10^8). Dense instances draw neighbours on demand instead (_adjacent).
        self.neighbours: list[np.ndarray] | None = None
        if float((sizes**2).sum()) <= DENSE_ADJACENCY:
            nbr: list[set[int]] = [set() for _ in range(n_units)]
            for units in by_sup:
                if len(units) > 1:
                    for u in units:
                        nbr[int(u)].update(int(v) for v in units)
            self.neighbours = [np.array(sorted(s - {u}), dtype=np.int64) for u, s in enumerate(nbr)]

    def _adjacent(self, rng: np.random.Generator, u: int) -> np.ndarray:
        """Units sharing a supporter with unit ``u``, in random order."""
        if self.neighbours is not None:
            return rng.permutation(self.neighbours[u])
        members = self.members[u]
        ranges = [np.arange(self.starts[i], self.starts[i + 1]) for i in members.tolist()]
        pairs = np.concatenate(ranges) if ranges else np.zeros(0, np.int64)
        sups = np.unique(self.p.pair_supporter[pairs])
        picked = rng.permutation(sups)[:LAZY_SUPPORTERS]
        if not len(picked):  # clients without candidate pairs have no neighbours
            return np.zeros(0, np.int64)
        units = np.concatenate([self.sup_units[int(j)] for j in picked])
        units = np.unique(units[units != u])
        return rng.permutation(units)[: 4 * self.target]

    def draw(self, rng: np.random.Generator, seed_unit: int) -> np.ndarray:
        """Clients of ``seed_unit`` and neighbouring units, up to the target size."""
        chosen = [seed_unit]
        size = len(self.members[seed_unit])
        frontier = [seed_unit]
        seen = {seed_unit}
        while frontier and size < self.target:
            nxt = []
            for u in frontier:
                for v in self._adjacent(rng, u):
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


def client_budget_group(p: ProblemData) -> np.ndarray:
    """Per client, the first funder budget (a group limit) its pairs are charged to, or -1."""
    kinds = p.limit_kind[p.limit_row]
    on = kinds == LimitKind.GROUP_BUDGET
    pair_of_entry = np.repeat(np.arange(p.n_pairs), np.diff(p.limit_ptr))
    out = np.full(p.n_clients, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, p.pair_client[pair_of_entry[on]], p.limit_row[on].astype(np.int64))
    return np.where(out == np.iinfo(np.int64).max, -1, out)


def _sub_solve(
    p: ProblemData,
    current: np.ndarray,
    free: np.ndarray,
    level: int,
    work: float,
    seed: int,
    wall: float = 1e9,
) -> tuple[np.ndarray | None, float, bool]:
    """Re-optimise the clients in ``free``; return the new pair set if it improves,
    the deterministic work used, and whether CP-SAT finished (proved its answer
    optimal, or that there is none) within its limits.

    Everything else stays fixed: the sub-problem's limits are what the fixed pairs
    leave, so any sub-solution combines with them into a feasible whole.
    """
    free_mask = np.zeros(p.n_clients, dtype=bool)
    free_mask[free] = True
    inside_mask = free_mask[p.pair_client[current]]
    fixed, inside = current[~inside_mask], current[inside_mask]
    sub, ks = p.subproblem(free, p.residual(fixed))
    if sub.n_pairs == 0:
        return None, 0.0, True
    model, x = build_cpsat(sub)
    in_now = np.isin(ks, inside)
    for var, v in zip(x, in_now, strict=True):
        model.add_hint(var, bool(v))
    prio = sub.pair_priority
    before1 = int(p.pair_priority[inside].sum())
    before2 = int(p.pair_level2[inside].sum())
    if level == 1:
        model.maximize(cp_model.LinearExpr.weighted_sum(x, prio.tolist()))
    else:
        model.add(cp_model.LinearExpr.weighted_sum(x, prio.tolist()) >= before1)
        model.minimize(cp_model.LinearExpr.weighted_sum(x, sub.pair_level2.tolist()))
    solver = search.new_solver(
        num_workers=1,
        random_seed=seed,
        max_deterministic_time=work,
        max_time_in_seconds=max(wall, 0.001),
    )
    status = solver.solve(model)
    used = solver.deterministic_time
    finished = status in (cp_model.OPTIMAL, cp_model.INFEASIBLE)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, used, finished
    chosen = np.array(solver.boolean_values(x), dtype=bool)
    new1 = int(prio[chosen].sum())
    new2 = int(sub.pair_level2[chosen].sum())
    better = new1 > before1 if level == 1 else (new1 >= before1 and new2 < before2)
    if not better:
        return None, used, finished
    return np.sort(np.concatenate([fixed, ks[chosen]])), used, finished


class AdaptiveSize:
    """How many supporters the next ``by_supporters`` neighbourhood frees.

    The right size depends on the instance: on Beasley's type-D GAPs of 20 agents
    and 100-200 jobs, sub-problems of three to six agents are solved to
    optimality in milliseconds and the search needs them that large to leave its
    local optima, while on 1,600-job problems four agents' clients already exhaust
    a sub-solve's work limit. So the size moves by :data:`SIZE_STEP` after each
    sub-solve: up when CP-SAT finished it (proved its answer optimal), down
    :data:`SHRINK` times as far when it ran out of work first. It settles where
    about three sub-solves in four finish, as CP-SAT's own LNS adapts the
    difficulty of its neighbourhoods to their success. It stays
    between :data:`SUPPORTERS_MIN` and the number of supporters; a step's size is
    the integer part plus one with probability the fractional part, so the mean
    is the size itself. Everything depends on the seed and on deterministic
    work only, so the search stays reproducible.
    """

    def __init__(self, n_supporters: int, start: float = SUPPORTERS_START) -> None:
        self.top = float(max(n_supporters, 1))
        self.bottom = min(float(SUPPORTERS_MIN), self.top)
        self.size = min(max(start, self.bottom), self.top)

    def draw(self, rng: np.random.Generator) -> int:
        """The next neighbourhood's number of supporters."""
        whole = int(self.size)
        return min(whole + int(rng.random() < self.size - whole), int(self.top))

    def update(self, finished: bool) -> None:
        """Grow after a sub-solve that finished, shrink after one that did not."""
        step = SIZE_STEP if finished else -SHRINK * SIZE_STEP
        self.size = min(max(self.size + step, self.bottom), self.top)


def _supporters_clients(
    p: ProblemData, a: np.ndarray, rng: np.random.Generator, k: int
) -> np.ndarray:
    """Clients matched in ``a`` to ``k`` supporters drawn at random (the
    ``by_supporters`` neighbourhood)."""
    k = min(max(int(k), 1), p.n_supporters)
    chosen = rng.choice(p.n_supporters, size=k, replace=False)
    return np.unique(p.pair_client[a[np.isin(p.pair_supporter[a], chosen)]])


def _level1_key(p: ProblemData, pairs: np.ndarray) -> tuple[int, int]:
    return int(p.pair_priority[pairs].sum()), -int(p.pair_level2[pairs].sum())


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
    on_improve: Callable[[np.ndarray], None] | None = None,
    adopt: Callable[[], np.ndarray | None] | None = None,
    by_supporters: bool = False,
) -> tuple[np.ndarray, LnsStats]:
    """Improve a feasible pair set ``start`` by LNS (see the module docstring).

    Stops when ``work_limit`` deterministic units are spent (reproducible), the wall
    clock passes ``time_limit_s`` (which then wins: ``LnsStats.wall_clock``), or
    ``should_stop()`` is true. ``on_improve`` receives every improved pair set.
    ``adopt()``, asked before every step, may offer a feasible pair set found
    elsewhere (another arm's incumbent); the search continues from it when it is
    better on level 1 (then level 2). Offers depend on timing, so a run that must
    be reproducible passes none.

    ``by_supporters`` draws each neighbourhood as every client matched to a few
    supporters chosen at random (the loads of a few agents re-packed together,
    the classical neighbourhood for generalised assignment), as many as the
    sub-solves can finish (:class:`AdaptiveSize`), instead of the structural
    neighbourhoods above. On problems where every client is required it does
    more with the same work (``benchmarks/lns_neighbourhoods.py --seeds 0,1``):
    8 units of work from the LP-rounding start ended lower in all 20 runs on ten
    generated and OR-Library GAPs (C, D, E; 1,000 to 128,000 pairs; gapd-5:
    6,265 and 6,258 against 6,314 and 6,289; E 40 x 1,600: 180,784 and 180,757
    against 181,059 and 180,992).
    """
    t0 = time.perf_counter()
    until = Deadline.after(time_limit_s)
    stats = LnsStats()
    a = p.as_pair_indices(start)
    if until.remaining() < MIN_TIME_S + p.n_pairs * SETUP_S_PER_PAIR:
        # not even time to set up (seconds at a million pairs): keep the start
        stats.wall_clock = True
        return a, stats
    rng = np.random.default_rng(seed)
    hood = Neighbourhoods(p, target_clients)
    size = AdaptiveSize(p.n_supporters)
    n_units = len(hood.members)
    has_pairs = np.diff(hood.starts) > 0
    last_report = t0
    while stats.work < work_limit:
        if until.passed():
            stats.wall_clock = True
            break
        if should_stop is not None and should_stop():
            break
        if adopt is not None:
            other = adopt()
            if other is not None and _level1_key(p, other) > _level1_key(p, a):
                a = p.as_pair_indices(other)
                stats.adopted += 1
                if on_improve is not None:
                    on_improve(a)
        stats.iterations += 1
        # favour units with unmatched clients that could be matched (level 1)
        if level == 1 and rng.random() < 0.7:
            matched = np.zeros(p.n_clients, bool)
            matched[p.pair_client[a]] = True
            open_clients = np.flatnonzero(~matched & has_pairs)
            seed_unit = (
                int(hood.unit[rng.choice(open_clients)])
                if len(open_clients)
                else int(rng.integers(n_units))
            )
        else:
            seed_unit = int(rng.integers(n_units))
        if by_supporters:
            free = _supporters_clients(p, a, rng, size.draw(rng))
        else:
            free = hood.draw(rng, seed_unit)
        new, used, finished = _sub_solve(
            p,
            a,
            free,
            level,
            min(sub_work, work_limit - stats.work),
            int(rng.integers(1 << 30)),
            until.remaining(),
        )
        stats.work += used + STEP_OVERHEAD_WORK
        if by_supporters:
            size.update(finished)
            stats.supporters = size.size
        if new is not None:
            a = new
            stats.improvements += 1
            if on_improve is not None:
                on_improve(a)
        if progress is not None and time.perf_counter() - last_report > 2.0:
            last_report = time.perf_counter()
            value = int(p.pair_priority[a].sum()) if level == 1 else int(p.pair_level2[a].sum())
            progress(f"LNS level {level}: {value:,} after {stats.iterations} steps")
    return a, stats
