"""From the filtered pair table to the solver's :class:`~broker.problem.ProblemData`.

Level 1 (maximised) counts each matched client's ``priority``, multiplied by
``1 + high_need_weight`` for a high-need client when ``[objective]
high_need_weight`` is set (coefficients are then in hundredths, see
:func:`level1_coefficients`).

Level 2 (minimised with level 1 held) is, per pair, in points (x1000 as integers)::

    cost_per_1000_gbp * cost / 1000 + distance_per_km * km
    + cross_phase * mode penalty * [cross-phase] + other_la * [other LA, client prefers own]
    - continuity * [previous supporter] - expertise * (needs tags the supporter has)

and, when ``proposals.csv`` lists earlier proposals, minus ``W`` for each kept
proposal, with ``W`` larger than any difference the other terms can make: the
number of changed proposals is then minimised exactly, after level 1 and before
cost, as one lexicographic level (``W`` is the span of the other terms over all
clients, plus one).

Limits: every supporter's capacity in every term; one budget per funder that has
one (an authority's ``budget_gbp`` for modes it pays for, a programme funder's
``[budget.funders]`` budget), the ``[budget] programme_gbp`` over everything, and a
team school's own ``budget_gbp`` over both members.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from broker.candidates.context import Context, build_context
from broker.candidates.stages import (
    RULE_TEXT,
    STAGE_FUNCTIONS,
    STAGES,
    PairTable,
    funder_budgets,
    generate,
)
from broker.errors import InputError, ProblemCollector
from broker.problem import (
    FLAG_CROSS_PHASE,
    FLAG_OTHER_LA,
    LEAD,
    NO_LIMIT,
    ROLE_NAMES,
    SECOND,
    LimitKind,
    ProblemData,
)
from broker.scenario.model import Scenario
from broker.units import OBJECTIVE_SCALE, gbp_to_int

HIGH_NEED_SCALE = 100
"""Level-1 coefficients are in hundredths of a priority point when high need is weighted."""


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate pairs of a scenario with the per-client diagnostics behind them.

    Attributes
    ----------
    problem
        The solver-facing :class:`~broker.problem.ProblemData`.
    stage_counts
        ``(n_clients, len(STAGES))`` int array: lead supporters left after each stage.
    second_counts
        The same for the second member of a team (zeros for other clients).
    nearest_km
        Distance from each client to its nearest supporter of any kind (km).
    best_capacity_days
        Largest capacity among supporters left after the ``authority`` stage.
    cheapest_gbp
        Cheapest package among pairs that reach the ``budget`` stage (NaN if none).
    reach_km
        Each supporter's reach (km).
    pair_mode
        Mode of each pair of ``problem`` (index into ``mode_ids``).
    mode_ids
        Names of the modes.
    pair_funder
        Funder key of each pair (``la:<code>``, ``programme:<name>``, ``school``).
    level1_scale
        Level-1 coefficients are ``level1_scale`` times priority points (1, or
        :data:`HIGH_NEED_SCALE` when high need is weighted).
    proposal_weight
        The lexicographic weight ``W`` of a kept proposal in level 2 (0 if none).
    proposal_pairs
        Pairs of ``problem`` that are earlier proposals.
    """

    problem: ProblemData
    stage_counts: np.ndarray
    second_counts: np.ndarray
    nearest_km: np.ndarray
    best_capacity_days: np.ndarray
    cheapest_gbp: np.ndarray
    reach_km: np.ndarray
    pair_mode: np.ndarray
    mode_ids: tuple[str, ...]
    pair_funder: np.ndarray
    level1_scale: int
    proposal_weight: int
    proposal_pairs: np.ndarray


def level1_coefficients(scenario: Scenario) -> tuple[np.ndarray, int]:
    """Level-1 value of matching each client, and its scale (1 or 100).

    ``priority`` when ``[objective] high_need_weight`` is 0; otherwise
    ``round(100 * priority * (1 + w * high_need))``.
    """
    cli = scenario.clients
    prio = cli["priority"].to_numpy(np.int64)
    w = scenario.config.high_need_weight
    if not w:
        coef, scale = prio, 1
    else:
        high = cli["high_need"].to_numpy(bool) if "high_need" in cli else np.zeros(len(cli), bool)
        coef = np.rint(HIGH_NEED_SCALE * prio * (1.0 + w * high)).astype(np.int64)
        scale = HIGH_NEED_SCALE
    if scenario.config.no_school_isolated:
        # every matched client is worth more than all priorities together: the number
        # matched comes first, lexicographically, then the (weighted) priority
        bonus = int(coef.sum()) + 1
        if bonus * (len(coef) + 1) >= 2**53:
            raise InputError.one(
                str(scenario.source / "scenario.toml") if scenario.source else "scenario.toml",
                "no_school_isolated with these priorities exceeds the range the solvers "
                "hold exactly (2^53); lower the priorities or the number of clients",
                column="objective.no_school_isolated",
            )
        coef = coef + bonus
    return coef, scale


def _run_stages(
    ctx: Context, t: PairTable
) -> tuple[PairTable, np.ndarray, np.ndarray, dict[str, Any]]:
    """Apply every stage; per-client counts after each, and what each pair fell to."""
    n_c = ctx.n_clients
    counts = np.zeros((2, n_c, len(STAGES)), dtype=np.int64)
    fell = np.full(len(t), len(STAGES), dtype=np.int64)  # stage that removed each pair
    alive = np.arange(len(t))
    seen: dict[str, Any] = {}
    for s, (name, fn) in enumerate(STAGE_FUNCTIONS):
        if name == "capacity":  # the pairs left after the authority stage
            seen["best_capacity_pairs"] = t.supporter[t.role == LEAD], t.client[t.role == LEAD]
        if name == "budget":
            seen["budget_input"] = t
        ok = fn(ctx, t)
        fell[alive[~ok]] = s
        alive = alive[ok]
        t = t.keep(ok)
        for r in (LEAD, SECOND):
            on = t.role == r
            counts[r, :, s] = np.bincount(t.client[on], minlength=n_c)
    return t, counts, fell, seen


def build_candidates(scenario: Scenario) -> Candidates:
    """Generate candidate pairs and encode the scenario as :class:`ProblemData`.

    Raises
    ------
    broker.errors.InputError
        If a pinned pair breaks a hard rule, or pinned pairs together exceed a
        supporter's capacity or a budget (the message names the pair and rule).
    """
    cfg = scenario.config
    ctx = build_context(scenario)
    n_c = ctx.n_clients
    full = generate(ctx)
    t, counts, fell, seen = _run_stages(ctx, full)

    nearest_km = _nearest(ctx) / 1000.0
    best_cap = np.zeros(n_c)
    sj, ci = seen.get("best_capacity_pairs", (np.zeros(0, np.int64), np.zeros(0, np.int64)))
    np.maximum.at(best_cap, ci, ctx.s_cap.max(axis=1)[sj] / 100.0 if len(sj) else 0.0)
    cheapest = np.full(n_c, np.inf)
    if "budget_input" in seen:
        tb = seen["budget_input"]
        lead = tb.role == LEAD
        np.minimum.at(cheapest, tb.client[lead], tb["cost"][lead] / 1e4)

    # ---- level 2
    w = cfg.weights
    cost = t["cost"] if len(t) else np.zeros(0, np.int64)
    dist_km = t.dist_m / 1000.0
    cross = t["cross"] if len(t) else np.zeros(0, bool)
    other = t["other_la"] if len(t) else np.zeros(0, bool)
    outside = t["outside_network"] if len(t) else np.zeros(0, bool)
    pmode = t["mode"] if len(t) else np.zeros(0, np.int64)
    previous = ctx.c_previous[t.client] == t.supporter
    matched_tags = _popcount(ctx.c_needs[t.client] & ctx.s_tags[t.supporter])
    points = (
        w.cost_per_1000_gbp * cost / 1e7
        + w.distance_per_km * dist_km
        + w.cross_phase * ctx.mode_penalty[pmode] * cross
        + w.other_la * other
        + w.outside_network * outside
        - w.continuity * previous
        - w.expertise * matched_tags
    )
    level2 = np.rint(points * OBJECTIVE_SCALE).astype(np.int64)
    proposal = _proposal_mask(scenario, ctx, t)
    weight = 0
    if proposal.any():
        span = np.zeros(n_c, dtype=np.int64)
        hi = np.full(n_c, np.iinfo(np.int64).min)
        lo = np.zeros(n_c, dtype=np.int64)
        np.maximum.at(hi, t.client, level2)
        np.minimum.at(lo, t.client, np.minimum(level2, 0))
        has = hi > np.iinfo(np.int64).min
        span[has] = (np.maximum(hi[has], 0) - lo[has]) * np.where(ctx.c_team[has] == 2, 2, 1)
        weight = int(span.sum()) + 1
        level2 = level2 - weight * proposal
    flags = cross.astype(np.uint8) * FLAG_CROSS_PHASE | other.astype(np.uint8) * FLAG_OTHER_LA

    # ---- limits: funder budgets and the programme budget
    limits = funder_budgets(ctx)
    used_funders = sorted({f for f in set(t["funder"]) if f in limits}) if len(t) else []
    group_of = {f: g for g, f in enumerate(used_funders)}
    pair_group = (
        np.array([group_of.get(f, -1) for f in t["funder"]], dtype=np.int64)
        if len(t)
        else np.zeros(0, np.int64)
    )
    programme = (
        NO_LIMIT if cfg.programme_budget_gbp is None else int(gbp_to_int(cfg.programme_budget_gbp))
    )
    client_budget = np.where(
        np.isnan(ctx.c_budget), -1, gbp_to_int(np.nan_to_num(ctx.c_budget))
    ).astype(np.int64)
    prio, scale = level1_coefficients(scenario)
    pins = _pinned_pairs(scenario, ctx, t, full, fell)
    problem = ProblemData.create(
        client_ids=ctx.client_ids,
        supporter_ids=ctx.supporter_ids,
        priority=prio,
        capacity=ctx.s_cap,
        pair_client=t.client,
        pair_supporter=t.supporter,
        pair_role=t.role,
        pair_load=t.need,
        pair_cost=cost,
        pair_level2=level2,
        pair_distance_km=dist_km,
        pair_flags=flags,
        team_size=ctx.c_team,
        pinned=pins,
        pair_group=pair_group,
        group_budget=np.array([limits[f] for f in used_funders], dtype=np.int64),
        group_names=tuple(_funder_name(f) for f in used_funders),
        programme_budget=programme,
        client_budget=client_budget,
        client_terms=ctx.c_terms,
        n_terms=cfg.terms,
        name=cfg.name,
    )
    _check_pinned_totals(scenario, problem)
    return Candidates(
        problem=problem,
        stage_counts=counts[LEAD],
        second_counts=counts[SECOND],
        nearest_km=nearest_km,
        best_capacity_days=best_cap,
        cheapest_gbp=np.where(np.isinf(cheapest), np.nan, cheapest),
        reach_km=ctx.reach_km,
        pair_mode=pmode,
        mode_ids=ctx.mode_ids,
        pair_funder=np.asarray(t["funder"] if len(t) else np.zeros(0, object), dtype=object),
        level1_scale=scale,
        proposal_weight=weight,
        proposal_pairs=np.flatnonzero(proposal),
    )


def _funder_name(key: str) -> str:
    kind, _, name = key.partition(":")
    return f"authority {name}" if kind == "la" else f"programme {name}"


def _popcount(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    out = np.zeros(a.shape, dtype=np.int64)
    for _ in range(63):
        if not np.any(a):
            break
        out += a & 1
        a = a >> 1
    return out


def _nearest(ctx: Context) -> np.ndarray:
    from scipy.spatial import cKDTree

    if ctx.n_clients == 0 or ctx.n_supporters == 0:
        return np.full(ctx.n_clients, np.inf)
    return cKDTree(ctx.sxy).query(ctx.cxy, k=1)[0]


def _keys(ctx: Context, client: np.ndarray, role: np.ndarray, supporter: np.ndarray) -> np.ndarray:
    n_s = max(ctx.n_supporters, 1)
    return (np.asarray(client, np.int64) * 2 + np.asarray(role, np.int64)) * n_s + np.asarray(
        supporter, np.int64
    )


def _index_pairs(scenario: Scenario, ctx: Context, table) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    cid = {c: i for i, c in enumerate(ctx.client_ids)}
    sid = {s: j for j, s in enumerate(ctx.supporter_ids)}
    ci = table["client_id"].map(cid).to_numpy(np.int64)
    sj = table["supporter_id"].map(sid).to_numpy(np.int64)
    roles = table["role"] if "role" in table else ["lead"] * len(table)
    rr = np.array([ROLE_NAMES.index(r) for r in roles], dtype=np.int64)
    return _keys(ctx, ci, rr, sj), ci


def _proposal_mask(scenario: Scenario, ctx: Context, t: PairTable) -> np.ndarray:
    props = scenario.proposals
    if not len(props):
        return np.zeros(len(t), dtype=bool)
    want, _ = _index_pairs(scenario, ctx, props)
    return np.isin(_keys(ctx, t.client, t.role, t.supporter), want)


def _pinned_pairs(
    scenario: Scenario, ctx: Context, t: PairTable, full: PairTable, fell: np.ndarray
) -> np.ndarray:
    pinned = scenario.pinned
    if not len(pinned):
        return np.zeros(0, dtype=np.int64)
    file = str(scenario.source / "pinned.csv") if scenario.source else "pinned.csv"
    key = _keys(ctx, t.client, t.role, t.supporter)
    all_key = _keys(ctx, full.client, full.role, full.supporter)
    want, ci = _index_pairs(scenario, ctx, pinned)
    errors = ProblemCollector()
    out = []
    cfg = scenario.config
    for r, (w, i) in enumerate(zip(want, ci, strict=True)):
        k = int(np.searchsorted(key, w))
        if k < len(key) and key[k] == w:
            out.append(k)
            continue
        c, s = pinned["client_id"].iat[r], pinned["supporter_id"].iat[r]
        role = pinned["role"].iat[r] if "role" in pinned else "lead"
        if role == "second" and ctx.c_team[i] != 2:
            why = "rule 1 (teams): the client needs no second supporter"  # (caught earlier)
        else:
            pos = np.flatnonzero(all_key == w)
            if len(pos) == 0:
                j = ctx.supporter_ids.index(s)
                dist = float(np.hypot(*(ctx.cxy[i] - ctx.sxy[j]))) / 1000
                reach = ctx.reach_km[j] if np.isfinite(ctx.reach_km[j]) else cfg.max_distance_km
                why = RULE_TEXT["reach"].format(dist=dist, reach=reach)
            else:
                why = RULE_TEXT[STAGES[min(int(fell[pos[0]]), len(STAGES) - 1)]]
        row = int(pinned["row"].iat[r]) if "row" in pinned else r + 2
        errors.add(file, f"pinned pair (client {c}, supporter {s}) breaks {why}", row=row)
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
