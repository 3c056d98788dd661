"""Candidate pairs: which supporter may serve which client under the hard rules.

Pairs are generated sparsely: a k-d tree over projected coordinates (EPSG:27700,
metres) yields every (client, supporter) within the largest reach, then vectorised
filters apply the rules in a fixed order. For every client the number of
supporters surviving each stage is kept, so an isolated client gets the *first*
rule that removed its last supporter as its reason.

Stages, in order (see :data:`STAGES`):

1. ``reach``: straight-line distance <= the supporter's ``max_distance_km`` (else
   the scenario default);
2. ``phase``: the client's phase is among the supporter's phases, or cross-phase
   work is allowed (scenario default or the supporter's flag; penalised);
3. ``network``: a supporter with a ``network`` serves only clients of that network;
4. ``authority``: the client's authority rule (``own_only``: same LA;
   ``neighbours``: same or adjacent LA);
5. ``capacity``: the client's need fits in the supporter's capacity at all;
6. ``conflict``: the pair is not in ``conflicts.csv`` and is not a school paired
   with itself (same URN);
7. ``budget``: the package cost is within the client's, its authority's and the
   programme's budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from broker.errors import ProblemCollector
from broker.problem import FLAG_CROSS_PHASE, FLAG_OTHER_LA, NO_LIMIT, LimitKind, ProblemData
from broker.scenario.model import Scenario
from broker.units import OBJECTIVE_SCALE, days_to_int, gbp_to_int, package_cost_int

STAGES: tuple[str, ...] = (
    "reach",
    "phase",
    "network",
    "authority",
    "capacity",
    "conflict",
    "budget",
)


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate pairs of a scenario with the per-client diagnostics behind them.

    Attributes
    ----------
    problem
        The solver-facing :class:`~broker.problem.ProblemData`.
    stage_counts
        ``(n_clients, len(STAGES))`` int array: supporters left after each stage.
    nearest_km
        Distance from each client to its nearest supporter of any kind (km).
    best_capacity_days
        Largest capacity among supporters left after the ``authority`` stage.
    cheapest_gbp
        Cheapest package among pairs left after the ``conflict`` stage (NaN if none).
    """

    problem: ProblemData
    stage_counts: np.ndarray
    nearest_km: np.ndarray
    best_capacity_days: np.ndarray
    cheapest_gbp: np.ndarray
    reach_km: np.ndarray


def _authority_settings(scenario: Scenario) -> tuple[dict[str, str], dict[str, float]]:
    a = scenario.authorities
    modes = dict(zip(a["la_code"], a["cross_la"], strict=True)) if len(a) else {}
    budgets = {}
    if len(a):
        for code, b in zip(a["la_code"], a["budget_gbp"], strict=True):
            if not np.isnan(b):
                budgets[code] = float(b)
    return modes, budgets


def _neighbour_pairs(scenario: Scenario) -> set[tuple[str, str]]:
    """Adjacent LA pairs (both orders): from authorities.csv if given, else bundled data."""
    a = scenario.authorities
    given = [
        (code, n)
        for code, ns in zip(a.get("la_code", []), a.get("neighbours", []), strict=True)
        for n in ns
    ]
    if given:
        return {p for c, n in given for p in ((c, n), (n, c))}
    from broker.data import load_la_adjacency

    adj = load_la_adjacency()
    pairs = set(zip(adj["la_code_a"], adj["la_code_b"], strict=True))
    return pairs | {(b, a) for a, b in pairs}


def build_candidates(scenario: Scenario) -> Candidates:
    """Generate candidate pairs and encode the scenario as :class:`ProblemData`.

    Parameters
    ----------
    scenario
        A validated scenario.

    Returns
    -------
    Candidates

    Raises
    ------
    broker.errors.InputError
        If a pinned pair breaks a hard rule, or pinned pairs together exceed a
        supporter's capacity or a budget (the message names the pair and rule).
    """
    cfg = scenario.config
    sup, cli = scenario.supporters, scenario.clients
    n_c, n_s = len(cli), len(sup)
    client_ids = tuple(cli["client_id"].astype(str))
    supporter_ids = tuple(sup["supporter_id"].astype(str))

    cxy = np.column_stack([cli["easting"].to_numpy(float), cli["northing"].to_numpy(float)])
    sxy = np.column_stack([sup["easting"].to_numpy(float), sup["northing"].to_numpy(float)])
    reach_km = sup["max_distance_km"].to_numpy(float)
    reach_km = np.where(np.isnan(reach_km), cfg.max_distance_km, reach_km)
    reach_m = reach_km * 1000.0

    # ---- 1. reach (sparse, all pairs within the largest reach, then per supporter)
    ctree, stree = cKDTree(cxy), cKDTree(sxy)
    rmax = float(reach_m.max()) if n_s else 0.0
    if n_c and n_s:
        near = ctree.sparse_distance_matrix(stree, rmax, output_type="ndarray")
        pc = near["i"].astype(np.int64)
        ps = near["j"].astype(np.int64)
        dist_m = near["v"].astype(float)
    else:
        pc = ps = np.zeros(0, np.int64)
        dist_m = np.zeros(0)
    keep = dist_m <= reach_m[ps] + 1e-6
    order = np.lexsort((ps[keep], pc[keep]))  # canonical order: by client, then supporter
    pc, ps, dist_m = pc[keep][order], ps[keep][order], dist_m[keep][order]
    nearest_km = _nearest(cxy, stree) / 1000.0

    counts = np.zeros((n_c, len(STAGES)), dtype=np.int64)

    def stage(name: str, ok: np.ndarray) -> None:
        nonlocal pc, ps, dist_m
        pc, ps, dist_m = pc[ok], ps[ok], dist_m[ok]
        counts[:, STAGES.index(name)] = np.bincount(pc, minlength=n_c)

    counts[:, 0] = np.bincount(pc, minlength=n_c)
    # keep the pre-filter pair list so that pinned pairs can be diagnosed
    all_pc, all_ps = pc.copy(), ps.copy()
    stage_of_pair = np.full(len(pc), len(STAGES), dtype=np.int64)  # survives all
    alive = np.arange(len(pc))

    def record(name: str, ok: np.ndarray) -> None:
        nonlocal alive
        stage_of_pair[alive[~ok]] = STAGES.index(name)
        alive = alive[ok]
        stage(name, ok)

    # ---- 2. phase
    cmask = cli["phase_mask"].to_numpy(np.int64)
    smask = sup["phase_mask"].to_numpy(np.int64)
    same_phase = (cmask[pc] & smask[ps]) != 0
    may_cross = cfg.allow_cross_phase | sup["cross_phase"].to_numpy(bool)
    record("phase", same_phase | may_cross[ps])
    cross = (cmask[pc] & smask[ps]) == 0

    # ---- 3. network
    snet = sup["network"].astype(str).to_numpy()
    cnet = cli["network"].astype(str).to_numpy()
    ok = (snet[ps] == "") | (snet[ps] == cnet[pc])
    record("network", ok)
    cross = cross[ok]

    # ---- 4. authority
    modes, la_budgets = _authority_settings(scenario)
    cla = cli["la_code"].astype(str).to_numpy()
    sla = sup["la_code"].astype(str).to_numpy()
    cmode = np.array([modes.get(code, "allow") for code in cla], dtype=object)
    same_la = cla[pc] == sla[ps]
    ok = np.ones(len(pc), dtype=bool)
    own_only = cmode[pc] == "own_only"
    ok &= ~own_only | same_la
    nb_mode = cmode[pc] == "neighbours"
    if nb_mode.any():
        nb = _neighbour_pairs(scenario)
        adjacent = np.array(
            [(a, b) in nb for a, b in zip(cla[pc], sla[ps], strict=True)], dtype=bool
        )
        ok &= ~nb_mode | same_la | adjacent
    other_la = (cmode[pc] == "prefer_own") & ~same_la
    record("authority", ok)
    cross, other_la = cross[ok], other_la[ok]
    cap_c = days_to_int(sup["capacity_days"].to_numpy(float))
    best_cap = np.zeros(n_c)
    np.maximum.at(best_cap, pc, sup["capacity_days"].to_numpy(float)[ps])

    # ---- 5. capacity
    need_c = days_to_int(cli["need_days"].to_numpy(float))
    ok = need_c[pc] <= cap_c[ps]
    record("capacity", ok)
    cross, other_la = cross[ok], other_la[ok]

    # ---- 6. conflict (listed, or a school paired with itself)
    sid_index = {s: j for j, s in enumerate(supporter_ids)}
    cid_index = {c: i for i, c in enumerate(client_ids)}
    bad = np.zeros(0, dtype=np.int64)
    if len(scenario.conflicts):
        ci = scenario.conflicts["client_id"].map(cid_index).to_numpy(np.int64)
        sj = scenario.conflicts["supporter_id"].map(sid_index).to_numpy(np.int64)
        bad = ci * max(n_s, 1) + sj
    key = pc * max(n_s, 1) + ps
    surn = sup["urn"].astype(str).to_numpy()
    curn = cli["urn"].astype(str).to_numpy()
    self_pair = (curn[pc] != "") & (curn[pc] == surn[ps])
    ok = ~np.isin(key, bad) & ~self_pair
    record("conflict", ok)
    cross, other_la = cross[ok], other_la[ok]

    # ---- 7. budget
    weeks = cli["weeks"].to_numpy(np.int64)
    rate = sup["day_rate_gbp"].to_numpy(float)
    cost = package_cost_int(need_c[pc], weeks[pc], rate[ps])
    cheapest = np.full(n_c, np.inf)
    np.minimum.at(cheapest, pc, cost / 1e4)
    cb = cli["budget_gbp"].to_numpy(float)
    cb_int = np.where(np.isnan(cb), -1, gbp_to_int(np.nan_to_num(cb)))
    ok = (cb_int[pc] < 0) | (cost <= cb_int[pc])
    groups = sorted(la_budgets)
    group_of = {code: g for g, code in enumerate(groups)}
    group_budget = gbp_to_int(np.array([la_budgets[c] for c in groups], dtype=float))
    client_group = np.array([group_of.get(code, -1) for code in cla], dtype=np.int64)
    cg = client_group[pc]
    gb = np.where(cg >= 0, group_budget[np.maximum(cg, 0)] if len(groups) else 0, -1)
    ok &= (gb < 0) | (cost <= gb)
    programme = (
        NO_LIMIT if cfg.programme_budget_gbp is None else int(gbp_to_int(cfg.programme_budget_gbp))
    )
    if programme != NO_LIMIT:
        ok &= cost <= programme
    record("budget", ok)
    cross, other_la, cost = cross[ok], other_la[ok], cost[ok]

    # ---- encode
    w = cfg.weights
    dist_km = dist_m / 1000.0
    level2_points = (
        w.cost_per_1000_gbp * cost / 1e7
        + w.distance_per_km * dist_km
        + w.cross_phase * cross
        + w.other_la * other_la
    )
    level2 = np.rint(level2_points * OBJECTIVE_SCALE).astype(np.int64)
    flags = cross.astype(np.uint8) * FLAG_CROSS_PHASE | other_la.astype(np.uint8) * FLAG_OTHER_LA

    pin_idx = _pinned_pairs(scenario, pc, ps, all_pc, all_ps, stage_of_pair, cid_index, sid_index)
    problem = ProblemData.create(
        client_ids=client_ids,
        supporter_ids=supporter_ids,
        priority=cli["priority"].to_numpy(np.int64),
        capacity=cap_c,
        pair_client=pc,
        pair_supporter=ps,
        pair_load=need_c[pc],
        pair_cost=cost,
        pair_level2=level2,
        pair_distance_km=dist_km,
        pair_flags=flags,
        pinned=pin_idx,
        client_group=client_group,
        group_budget=group_budget,
        group_names=tuple(f"authority {g}" for g in groups),
        programme_budget=programme,
        name=cfg.name,
    )
    _check_pinned_totals(scenario, problem)
    return Candidates(
        problem=problem,
        stage_counts=counts,
        nearest_km=nearest_km,
        best_capacity_days=best_cap,
        cheapest_gbp=np.where(np.isinf(cheapest), np.nan, cheapest),
        reach_km=reach_km,
    )


def _nearest(cxy: np.ndarray, stree: cKDTree) -> np.ndarray:
    if len(cxy) == 0 or stree.n == 0:
        return np.full(len(cxy), np.inf)
    return stree.query(cxy, k=1)[0]


_RULE_TEXT = {
    "reach": "rule 4 (distance): the schools are {dist:.1f} km apart, beyond the supporter's "
    "reach of {reach:g} km",
    "phase": "rule 3 (phase): the client's phase is not among the supporter's phases and "
    "cross-phase work is not allowed",
    "network": "network rule: the supporter serves only its own network",
    "authority": "rule 5 (authority): the client's authority does not accept supporters "
    "from this authority",
    "capacity": "rule 2 (capacity): the client's need exceeds the supporter's capacity",
    "conflict": "rule 6 (conflicts): the pair is listed in conflicts.csv or is a school "
    "paired with itself",
    "budget": "rule 7 (cost): the package costs more than the client's, its authority's or "
    "the programme's budget",
}


def _pinned_pairs(
    scenario: Scenario,
    pc: np.ndarray,
    ps: np.ndarray,
    all_pc: np.ndarray,
    all_ps: np.ndarray,
    stage_of_pair: np.ndarray,
    cid_index: dict[str, int],
    sid_index: dict[str, int],
) -> np.ndarray:
    pinned = scenario.pinned
    if not len(pinned):
        return np.zeros(0, dtype=np.int64)
    n_s = max(len(sid_index), 1)
    file = str(scenario.source / "pinned.csv") if scenario.source else "pinned.csv"
    key = pc * n_s + ps
    all_key = all_pc * n_s + all_ps
    errors = ProblemCollector()
    out = []
    cfg = scenario.config
    sup = scenario.supporters
    cli = scenario.clients
    for r, (c, s) in enumerate(zip(pinned["client_id"], pinned["supporter_id"], strict=True)):
        i, j = cid_index[c], sid_index[s]
        k = np.searchsorted(key, i * n_s + j)
        if k < len(key) and key[k] == i * n_s + j:
            out.append(int(k))
            continue
        pos = np.flatnonzero(all_key == i * n_s + j)
        if len(pos) == 0:
            dist = (
                float(
                    np.hypot(
                        cli["easting"].iat[i] - sup["easting"].iat[j],
                        cli["northing"].iat[i] - sup["northing"].iat[j],
                    )
                )
                / 1000
            )
            reach = sup["max_distance_km"].iat[j]
            reach = cfg.max_distance_km if np.isnan(reach) else reach
            why = _RULE_TEXT["reach"].format(dist=dist, reach=reach)
        else:
            why = _RULE_TEXT[STAGES[stage_of_pair[pos[0]]]]
        errors.add(file, f"pinned pair (client {c}, supporter {s}) breaks {why}", row=r + 2)
    errors.raise_if_any()
    return np.asarray(out, dtype=np.int64)


def _check_pinned_totals(scenario: Scenario, p: ProblemData) -> None:
    """Pins that together exceed a capacity or a budget are an input error."""
    if not len(p.pinned):
        return
    file = str(scenario.source / "pinned.csv") if scenario.source else "pinned.csv"
    errors = ProblemCollector()
    used = p.usage(p.pinned)
    for r in np.flatnonzero(used > p.limit_rhs):
        if p.limit_kind[r] == LimitKind.CAPACITY:
            errors.add(
                file,
                f"pinned deployments of {p.limit_names[r]} need {used[r] / 100:g} days per "
                f"week, more than its capacity of {p.limit_rhs[r] / 100:g} (rule 2)",
            )
        else:
            whose = (
                "the programme budget"
                if p.limit_kind[r] == LimitKind.PROGRAMME_BUDGET
                else f"the budget of {p.limit_names[r]}"
            )
            errors.add(
                file,
                f"pinned deployments cost £{used[r] / 1e4:,.2f}, more than {whose} of "
                f"£{p.limit_rhs[r] / 1e4:,.2f} (rule 7)",
            )
    errors.raise_if_any()


def build_problem(scenario: Scenario) -> ProblemData:
    """Shortcut for ``build_candidates(scenario).problem``."""
    return build_candidates(scenario).problem


__all__ = ["STAGES", "Candidates", "build_candidates", "build_problem"]
