r"""Fairness between authorities: ``maxmin_la``, ``proportional`` and ``fair_flow``.

Notation of :mod:`broker.policies.instance`: ``N_a`` the reachable need of
authority ``a`` and ``M_a(x) = sum_{lead k of a client of a} need[client k] x[k]``
its matched need; only authorities with ``N_a > 0`` are constrained. Shares are
held as integers in basis points (``D = 10,000``). Every model adds to the hard
rules of :mod:`broker.problem` and is solved lexicographically
(:mod:`broker.policies.lexico`); the last two levels are always the optimiser's
(priority matched, then the level-2 cost).

``maxmin_la``: maximise the worst authority's share, then priority::

    level 1: max t   s.t.  D * M_a(x) >= t * N_a   for every a,   0 <= t <= D
    level 2: max priority matched,   level 3: min level-2 cost

``proportional``: every authority's share within ``tolerance`` (default 0.1) of
the overall share, ``M / N`` with ``M = sum_a M_a`` and ``N = sum_a N_a``, so that
its share of matched need is close to its share of need; then priority::

    |N * M_a(x) - N_a * M(x)| <= tolerance * N_a * N     for every a
    level 1: max priority matched,   level 2: min level-2 cost

(levelling down is allowed: an authority with plenty of supply is held near the
others' share.)

``fair_flow``: a floor of ``min_share`` (default 0.5) of every authority's need as
a constraint, then the optimum. Where the floor cannot be met everywhere the
shortfall is minimised first, so the floor is a hard constraint whenever it is
feasible::

    s_a >= min_share * N_a - M_a(x),  s_a >= 0
    level 1: min sum_a s_a,   level 2: max priority matched,   level 3: min level-2 cost

Large problems
--------------
From :data:`~broker.policies.fair_lns.LNS_MIN_PAIRS` candidate pairs, ``maxmin_la``
and ``fair_flow`` start from the water-filling heuristic below and improve it by
large-neighbourhood search (:mod:`broker.policies.fair_lns`); ``method`` is then
``water-filling + LNS (not proven)``. Below it, and for ``proportional`` at any
size, each model starts from a *water-filling* heuristic: repeatedly take the
authority with the lowest share (below ``floor``) that still has an unplaced client,
and place the first of its clients, largest need first (the largest step up in
share), then highest priority, that fits: with its cheapest candidate supporter with
room, then nearest (cheapest so that the authority's budget stretches to as much
need as it can; a team takes a lead and a second); then place everyone left by
priority, each with its nearest supporter with room. ``floor`` is 1 for
``maxmin_la`` and ``proportional`` and ``min_share`` for ``fair_flow``. If CP-SAT
finds no solution within the limit, or one that is lexicographically worse than the
heuristic's on the policy's own objectives, the heuristic's is returned;
``params["method"]`` says which (``exact``, ``CP-SAT, not proven optimal within the
limit`` or ``heuristic (water-filling)``), and ``broker compare`` writes it in the
``method`` column.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from math import gcd

import numpy as np
from ortools.sat.python import cp_model

from broker.policies.fair_lns import LNS_MIN_PAIRS, improve
from broker.policies.instance import PolicyInstance
from broker.policies.lexico import Objective, solve_lexicographic
from broker.policies.registry import PolicyOptions, heuristic_result, register_policy
from broker.problem import LEAD
from broker.solve import Result
from broker.solve.model import fill
from broker.solve.result import Level, Sense, SolveStatus, make_result

D = 10_000
"""Shares are integers in basis points."""


def water_fill(instance: PolicyInstance, floor: float = 1.0) -> np.ndarray:
    """The water-filling heuristic (see the module docstring); sorted pair indices."""
    p = instance.problem
    n_a = instance.la_reachable_need().astype(float)
    met = np.zeros(instance.n_las)
    starts = p.client_pair_ranges()
    by_la: list[list[int]] = [[] for _ in range(instance.n_las)]
    # largest need first (the largest step up in share), then priority
    order = np.lexsort((np.arange(p.n_clients), -p.priority, -instance.need_cdays))
    for i in order.tolist():
        if instance.reachable[i]:
            by_la[int(instance.client_la[i])].append(i)
    # pins first, through fill with an empty order
    chosen = fill(p, np.zeros(0, np.int64))
    residual = p.residual(chosen)
    chosen_list = chosen.tolist()
    placed = np.zeros(p.n_clients, bool)
    placed[p.pair_client[chosen]] = True
    for a in range(instance.n_las):
        met[a] = sum(instance.need_cdays[i] for i in by_la[a] if placed[i])
    pos = [0] * instance.n_las
    heap = [(met[a] / n_a[a], a) for a in range(instance.n_las) if n_a[a] > 0]
    heapq.heapify(heap)
    while heap:
        share, a = heapq.heappop(heap)
        if share >= floor:
            break
        while pos[a] < len(by_la[a]):
            i = by_la[a][pos[a]]
            pos[a] += 1
            if placed[i]:
                continue
            ks = _place(instance, i, residual, starts)
            if ks:
                chosen_list += ks
                placed[i] = True
                met[a] += instance.need_cdays[i]
                heapq.heappush(heap, (met[a] / n_a[a], a))
                break
    start = np.asarray(sorted(chosen_list), np.int64)
    rest = np.lexsort((p.pair_supporter, p.pair_distance_km, -p.priority[p.pair_client]))
    return fill(p, rest, start=start)


def _place(instance: PolicyInstance, i: int, residual: np.ndarray, starts: np.ndarray) -> list[int]:
    """Cheapest, then nearest, pair(s) with room for client ``i`` (a team: lead and second).

    Cheapest first so that budgets stretch to as much need as they can; [] if none fits.
    """
    p = instance.problem
    ks = np.arange(int(starts[i]), int(starts[i + 1]))
    ks = ks[np.lexsort((p.pair_supporter[ks], p.pair_distance_km[ks], p.pair_cost[ks]))]
    for k in ks[p.pair_role[ks] == LEAD].tolist():
        if not p.fits(k, residual):
            continue
        if p.team_size[i] == 1:
            p.take(k, residual)
            return [k]
        p.take(k, residual)
        for s in ks[p.pair_role[ks] != LEAD].tolist():
            if p.pair_supporter[s] != p.pair_supporter[k] and p.fits(s, residual):
                p.take(s, residual)
                return [k, s]
        p.release(k, residual)
    return []


def _met_terms(
    instance: PolicyInstance, x: list[cp_model.IntVar], unit: int
) -> list[list[tuple[cp_model.IntVar, int]]]:
    """Per authority, (variable, need / unit) over its clients' lead pairs."""
    p = instance.problem
    out: list[list[tuple[cp_model.IntVar, int]]] = [[] for _ in range(instance.n_las)]
    for k in np.flatnonzero(p.pair_role == LEAD).tolist():
        i = int(p.pair_client[k])
        out[int(instance.client_la[i])].append((x[k], int(instance.need_cdays[i]) // unit))
    return out


def _unit(instance: PolicyInstance) -> int:
    g = 0
    for v in np.unique(instance.need_cdays).tolist():
        g = gcd(g, int(v))
    return max(g, 1)


def _expr(terms: list[tuple[cp_model.IntVar, int]]) -> cp_model.LinearExpr:
    return cp_model.LinearExpr.weighted_sum([v for v, _ in terms], [c for _, c in terms])


def _optimiser_levels(instance: PolicyInstance, x: list[cp_model.IntVar]) -> list[Objective]:
    p = instance.problem
    prio = cp_model.LinearExpr.weighted_sum(x, [int(v) for v in p.pair_priority])
    cost = cp_model.LinearExpr.weighted_sum(x, [int(v) for v in p.pair_level2])
    return [("max", prio), ("min", cost)]


def _own_values(instance: PolicyInstance, ks: np.ndarray, kind: str, param: float) -> tuple:
    """The policy's objective values of a pair set, for comparing with the heuristic."""
    p = instance.problem
    n_a = instance.la_reachable_need()
    m_a = instance.la_met_need(ks)
    on = n_a > 0
    prio = int(p.pair_priority[ks].sum())
    cost = -int(p.pair_level2[ks].sum())
    if kind == "maxmin":
        t = int(np.min((D * m_a[on]) // n_a[on])) if on.any() else D
        return (t, prio, cost)
    if kind == "fair_flow":
        short = np.maximum(0.0, param * n_a[on] - m_a[on]).sum() / _unit(instance)
        return (-round(float(short), 6), prio, cost)
    return (-band_excess(instance, ks, param), prio, cost)


def band_gap(instance: PolicyInstance, ks: np.ndarray, tolerance: float) -> float:
    """Largest ``max(0, |s_a - M / N| - tolerance)``: how far a share is outside the band."""
    n_a = instance.la_reachable_need().astype(float)
    m_a = instance.la_met_need(ks).astype(float)
    on = n_a > 0
    if not on.any():
        return 0.0
    overall = m_a[on].sum() / n_a[on].sum()
    return float(np.maximum(0.0, np.abs(m_a[on] / n_a[on] - overall) - tolerance).max())


def _lns_method(instance: PolicyInstance, ks: np.ndarray, kind: str, param: float) -> str:
    gap = band_gap(instance, ks, param) if kind == "proportional" else 0.0
    if gap > 1e-9:
        return f"water-filling + LNS (not proven; a share up to {gap:.3f} outside the band)"
    return "water-filling + LNS (not proven)"


def band_excess(instance: PolicyInstance, ks: np.ndarray, tolerance: float) -> int:
    """How far a pair set is outside ``proportional``'s band, summed over authorities.

    ``sum_a max(0, |N M_a - N_a M| - floor(tolerance N_a N))`` in the units of the
    model (needs divided by their greatest common divisor); 0 inside the band.
    """
    unit = _unit(instance)
    n_a = instance.la_reachable_need() // unit
    m_a = instance.la_met_need(ks) // unit
    on = n_a > 0
    total_n, total_m = int(n_a[on].sum()), int(m_a[on].sum())
    dev = np.abs(total_n * m_a[on] - n_a[on] * total_m)
    slack = np.floor(tolerance * n_a[on] * total_n).astype(np.int64)
    return int(np.maximum(0, dev - slack).sum())


def _solve(
    instance: PolicyInstance,
    options: PolicyOptions,
    *,
    name: str,
    kind: str,
    param: float,
    shares: Sequence[float],
) -> Result:
    p = instance.problem
    heuristic = water_fill(instance, floor=param if kind == "fair_flow" else 1.0)
    unit = _unit(instance)
    n_a = instance.la_reachable_need() // unit
    las = np.flatnonzero(n_a > 0).tolist()

    def add(model: cp_model.CpModel, x: list[cp_model.IntVar]) -> list[Objective]:
        met = _met_terms(instance, x, unit)
        if kind == "maxmin":
            t = model.new_int_var(0, D, "t")
            for a in las:
                model.add(D * _expr(met[a]) >= int(n_a[a]) * t)
            return [("max", t), *_optimiser_levels(instance, x)]
        if kind == "proportional":
            total_n = int(n_a[las].sum())
            total_m = model.new_int_var(0, total_n, "matched_need")
            model.add(total_m == sum((_expr(met[a]) for a in las), cp_model.LinearExpr.constant(0)))
            for a in las:
                dev = total_n * _expr(met[a]) - int(n_a[a]) * total_m
                slack = int(np.floor(param * int(n_a[a]) * total_n))
                model.add(dev <= slack)
                model.add(dev >= -slack)
            return _optimiser_levels(instance, x)
        shortfall = []
        for a in las:
            floor_a = int(np.ceil(param * int(n_a[a])))
            s = model.new_int_var(0, floor_a, f"s{a}")
            model.add(s + _expr(met[a]) >= floor_a)
            shortfall.append(s)
        return [
            ("min", sum(shortfall, cp_model.LinearExpr.constant(0))),
            *_optimiser_levels(instance, x),
        ]

    params: dict[str, object] = {"kind": kind, "param": param}
    if p.n_pairs >= LNS_MIN_PAIRS:
        ks, steps, kept = improve(
            instance,
            heuristic,
            kind=kind,
            param=param,
            time_limit_s=options.time_limit_s,
            seed=options.seed,
            unit=unit,
            own_values=_own_values,
        )
        return heuristic_result(
            instance,
            ks,
            name=name,
            options=options,
            params={**params, "method": _lns_method(instance, ks, kind, param), "lns_steps": steps},
            log=(f"LNS: {steps} steps, {kept} improvements over water-filling",),
        )
    lex = solve_lexicographic(
        p, add, time_limit_s=options.time_limit_s, seed=options.seed, shares=shares, hint=heuristic
    )
    use_heuristic = lex.pairs is None or _own_values(
        instance, heuristic, kind, param
    ) > _own_values(instance, lex.pairs, kind, param)
    if use_heuristic:
        return heuristic_result(
            instance,
            heuristic,
            name=name,
            options=options,
            params={
                **params,
                "method": _lns_method(instance, heuristic, kind, param).replace(
                    "water-filling + LNS (not proven", "heuristic (water-filling"
                ),
            },
            log=("CP-SAT found nothing better than the water-filling heuristic in the limit",),
        )
    assert lex.pairs is not None
    proven = len(lex.optimal) == len(shares) and all(lex.optimal)
    ks = lex.pairs
    l1 = int(p.pair_priority[ks].sum())
    l2 = int(p.pair_level2[ks].sum())
    return make_result(
        p,
        ks,
        level1=Level(l1, l1 if proven else int(p.priority.sum()), proven, Sense.MAX),
        level2=Level(
            l2, l2 if proven else int(np.minimum(p.pair_level2, 0).sum()), proven, Sense.MIN
        ),
        status=SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE,
        solver=name,
        params={
            **params,
            "method": "exact" if proven else "CP-SAT, not proven optimal within the limit",
            "level_values": list(lex.values),
        },
        seed=options.seed,
        runtime_s=0.0,
        stopped_by="optimal" if proven else "work_limit",
    )


@register_policy(
    "maxmin_la",
    family="fair",
    summary="maximise the worst authority's share of need met, then priority, then cost",
)
def maxmin_la(instance: PolicyInstance, options: PolicyOptions) -> Result:
    return _solve(
        instance, options, name="maxmin_la", kind="maxmin", param=1.0, shares=(0.5, 0.3, 0.2)
    )


@register_policy(
    "proportional",
    family="fair",
    summary="every authority's share within a tolerance of the overall share, then priority",
)
def proportional(instance: PolicyInstance, options: PolicyOptions) -> Result:
    tol = float(options.params.get("tolerance", 0.1))
    return _solve(
        instance, options, name="proportional", kind="proportional", param=tol, shares=(0.7, 0.3)
    )


@register_policy(
    "fair_flow",
    family="fair",
    summary="a floor of min_share of every authority's need, then the optimum",
)
def fair_flow(instance: PolicyInstance, options: PolicyOptions) -> Result:
    floor = float(options.params.get("min_share", 0.5))
    return _solve(
        instance, options, name="fair_flow", kind="fair_flow", param=floor, shares=(0.4, 0.4, 0.2)
    )
