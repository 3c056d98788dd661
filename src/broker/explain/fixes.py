r"""Counterfactual fixes: the smallest single change that gets an unmatched school matched.

For every unmatched client and every kind of change that applies, the search
looks for the smallest change of that kind after which **the same pipeline**
(:func:`broker.pipeline.run_round`, same solver, time limit and seed) matches the
client. Each candidate change is a scenario transformation (:func:`apply_fix`)
and is judged only by re-solving: nothing is estimated.

=================  ================================  ==========================================
``fix_kind``       ``fix_target`` / ``fix_amount``   change (:func:`apply_fix`)
=================  ================================  ==========================================
authority_budget   LA code / pounds                  the authority's ``budget_gbp`` + amount
funder_budget      funder name / pounds              ``[budget.funders]`` entry + amount
programme_budget   ``programme`` / pounds            ``[budget] programme_gbp`` + amount
reach              supporter id / km                 the supporter's ``max_distance_km`` + amount
capacity           supporter id / days per week      its ``capacity_days`` (every term) + amount
cross_la           LA code / (none)                  the authority's ``cross_la``: ``own_only``
                                                     becomes ``neighbours`` when the supporter
                                                     (``fix_via``) is next door, else ``allow``
cross_phase        supporter id / (none)             the supporter's ``cross_phase`` = true
displace           displaced client ids / priority   pin the client to ``fix_via``
=================  ================================  ==========================================

``fix_via`` is the supporter the client gets in the re-solved round.

**How the smallest amount is found.** Budgets: the raise is doubled from the
shortfall of the cheapest package until the client is matched, then bisected to
three significant figures (at least £1) between the last raise that failed and
the first that worked. Reach: supporters beyond reach are tried nearest-threshold
first, each with exactly the extra distance that brings the client into its
reach (to 0.1 km), so the first that works is the smallest. Capacity: for each
supporter in reach, in order of the days it lacks, the days it lacks (to 0.01),
then the whole need, then a bisection (to 0.01 days). Cross-LA and cross-phase:
the nearest supporters first. Displace: each supporter the client may have,
pinned in turn; the one that displaces the least priority (only schools of the
same or lower priority) wins. Before trying named supporters one by one for
reach, capacity or cross-phase, all their changes are applied together in one
re-solve; if even that does not match the client, the kind is skipped.

Whether a client is matched need not be monotone in the amount (a larger budget
can let the solver prefer another school), so a bisected amount is the smallest
*found*, always verified by a re-solve, and the all-together pruning is a
judgement, not a proof; the text says when a limit stopped the search early.
Every search is bounded (:class:`FixOptions`): a number of re-solves per client,
shared among the kinds, a shorter work limit per re-solve, a number of named
supporters per kind, and wall-clock safety limits per client and in all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from broker.errors import InputError
from broker.pipeline import MatchingRound, run_round
from broker.problem import LEAD
from broker.progress import bar, detail
from broker.scenario.model import Scenario
from broker.solve.result import SolveStatus
from broker.units import MONEY_SCALE

FIX_KINDS = (
    "authority_budget",
    "funder_budget",
    "programme_budget",
    "reach",
    "capacity",
    "cross_la",
    "cross_phase",
    "displace",
)
FIXES_COLUMNS = [
    "client_id",
    "client_name",
    "priority",
    "fix_kind",
    "fix_target",
    "fix_amount",
    "fix_unit",
    "fix_via",
    "fix_text",
    "solves",
]
MAX_CAPACITY_DAYS = 7.0
MAX_REACH_KM = 1500.0


@dataclass(frozen=True)
class FixOptions:
    """How to re-solve, and how long to search.

    Attributes
    ----------
    solver, time_limit_s, seed, workers, deterministic
        The round's own options: every re-solve uses exactly these, so that
        re-running the changed scenario gives the same verdict.
    per_client_solves, total_solves
        Re-solves per unmatched client, shared among the kinds of fix (half to the
        kind its reason points to: budgets for a budget reason, capacity for full
        supporters, reach, cross-phase, cross-LA), and in all. The search is
        deterministic while these are what stop it.
    solve_time_s
        Deterministic work limit of one re-solve, if less than ``time_limit_s``
        (with ``deterministic``; the wall-clock limit stays ``time_limit_s``). A
        re-solve cut short by it counts only if it proved both levels optimal (the
        round's own limit then gives the same answer); otherwise that kind of fix
        is left undecided.
    per_client_s, total_s
        Wall-clock safety limits, per unmatched client and in all. Runs stopped by
        one of these (and only those) may differ from run to run.
    max_supporters
        Named supporters tried per kind and client.
    """

    solver: str = "cpsat"
    time_limit_s: float = 20.0
    seed: int = 0
    workers: int = 2
    deterministic: bool = True
    per_client_solves: int = 12
    total_solves: int = 60
    solve_time_s: float = 0.25
    per_client_s: float = 30.0
    total_s: float = 60.0
    max_supporters: int = 5


@dataclass(frozen=True)
class Fix:
    """One change to the scenario (see the module docstring's table)."""

    client_id: str
    kind: str
    target: str
    amount: float = math.nan
    via: str = ""


# --------------------------------------------------------------------------- applying


def apply_fix(scenario: Scenario, fix: Fix) -> Scenario:
    """The scenario with ``fix`` applied (a new scenario; ``scenario`` is not changed)."""
    s = scenario
    if fix.kind == "authority_budget":
        a = s.authorities.copy()
        hit = a["la_code"] == fix.target
        a.loc[hit, "budget_gbp"] = a.loc[hit, "budget_gbp"] + fix.amount
        return s.replace(authorities=a)
    if fix.kind == "funder_budget":
        budgets = dict(s.config.funder_budgets_gbp)
        budgets[fix.target] = budgets[fix.target] + fix.amount
        return s.replace(config=_config(s, funder_budgets_gbp=budgets))
    if fix.kind == "programme_budget":
        total = (s.config.programme_budget_gbp or 0.0) + fix.amount
        return s.replace(config=_config(s, programme_budget_gbp=total))
    if fix.kind in ("reach", "capacity", "cross_phase"):
        sup = s.supporters.copy()
        j = int(np.flatnonzero(sup["supporter_id"].to_numpy() == fix.target)[0])
        if fix.kind == "reach":
            sup["max_distance_km"] = sup["max_distance_km"].astype(float)
            sup.iat[j, sup.columns.get_loc("max_distance_km")] = round(_reach(s, j) + fix.amount, 3)
        elif fix.kind == "capacity":
            cap = float(sup["capacity_days"].iat[j])
            sup.iat[j, sup.columns.get_loc("capacity_days")] = round(cap + fix.amount, 2)
            if "capacity_by_term" in sup.columns:
                terms = tuple(round(x + fix.amount, 2) for x in sup["capacity_by_term"].iat[j])
                sup["capacity_by_term"] = sup["capacity_by_term"].astype(object)
                sup.iat[j, sup.columns.get_loc("capacity_by_term")] = terms
        else:
            sup["cross_phase"] = sup["cross_phase"].astype(bool)
            sup.iat[j, sup.columns.get_loc("cross_phase")] = True
        return s.replace(supporters=sup)
    if fix.kind == "cross_la":
        a = s.authorities.copy()
        hit = a["la_code"] == fix.target
        a.loc[hit, "cross_la"] = _cross_la_rule(s, fix.target, fix.via)
        return s.replace(authorities=a)
    if fix.kind == "displace":
        pin = pd.DataFrame({"client_id": [fix.client_id], "supporter_id": [fix.via]})
        pin["role"] = "lead"
        table = pd.concat([s.pinned, pin], ignore_index=True)
        if "row" in table.columns:
            table["row"] = table["row"].fillna(0).astype(np.int64)
        return s.replace(pinned=table)
    raise ValueError(f"unknown fix kind {fix.kind!r}; expected one of {', '.join(FIX_KINDS)}")


def fix_from_row(row: pd.Series) -> Fix:
    """The :class:`Fix` of one ``fixes.csv`` row (a row of :func:`find_fixes`)."""
    amount = row["fix_amount"]
    return Fix(
        client_id=str(row["client_id"]),
        kind=str(row["fix_kind"]),
        target=str(row["fix_target"]),
        amount=float(amount) if amount not in ("", None) else math.nan,
        via=str(row["fix_via"]),
    )


def _config(s: Scenario, **changes: object):  # type: ignore[no-untyped-def]
    import dataclasses

    return dataclasses.replace(s.config, **changes)  # type: ignore[arg-type]


def _reach(s: Scenario, j: int) -> float:
    v = float(s.supporters["max_distance_km"].iat[j])
    return s.config.max_distance_km if math.isnan(v) else v


def _neighbours(s: Scenario) -> set[tuple[str, str]]:
    from broker.candidates.stages import neighbour_pairs

    return neighbour_pairs(SimpleNamespace(scenario=s))  # type: ignore[arg-type]


def _cross_la_rule(s: Scenario, la: str, supporter_id: str) -> str:
    a = s.authorities
    rule = a.loc[a["la_code"] == la, "cross_la"].iat[0]
    sup = s.supporters
    s_la = str(sup.loc[sup["supporter_id"] == supporter_id, "la_code"].iat[0])
    if rule == "own_only" and (la, s_la) in _neighbours(s):
        return "neighbours"
    return "allow"


# --------------------------------------------------------------------------- searching


class _Budget:
    """Re-solves left for one client (and for the kind being searched), and wall time.

    Counting re-solves keeps the search deterministic; the wall-clock limits are a
    safety net, and the only thing that can make two runs differ.
    """

    def __init__(self, options: FixOptions) -> None:
        self.options = options
        self.end_total = time.perf_counter() + options.total_s
        self.total_left = options.total_solves
        self.start_client()

    def start_client(self) -> None:
        self.end_client = min(self.end_total, time.perf_counter() + self.options.per_client_s)
        self.client_left = min(self.options.per_client_solves, self.total_left)
        self.kind_left = self.client_left
        self.stopped: set[str] = set()

    def start_kind(self, kinds_left: int, first: bool = False) -> None:
        """Give the next kind its share of the re-solves left (unused ones roll on): half
        for the kind the client's reason points to, else an equal share, at least two."""
        share = self.client_left // (2 if first else max(kinds_left, 1))
        self.kind_left = min(self.client_left, max(2, share))

    def spend(self) -> None:
        """Take one re-solve, or raise :class:`_OutOfTime` saying why not."""
        if time.perf_counter() >= self.end_client:
            self.stopped.add("time")
            raise _OutOfTime
        if self.client_left <= 0 or self.kind_left <= 0:
            self.stopped.add("solves" if self.total_left > 0 else "total")
            raise _OutOfTime
        self.client_left -= 1
        self.kind_left -= 1
        self.total_left -= 1


class _Search:
    """Re-solves changed scenarios for one client, counting them."""

    def __init__(
        self,
        rnd: MatchingRound,
        options: FixOptions,
        budget: _Budget,
        i: int,
        cache: dict[tuple[tuple[object, ...], ...], MatchingRound | None],
    ) -> None:
        self.rnd, self.options, self.budget, self.i = rnd, options, budget, i
        self.client_id = str(rnd.scenario.clients["client_id"].iat[i])
        self.solves = 0
        self.cache = cache

    def matched(self, fix: Fix) -> tuple[bool, MatchingRound | None]:
        """Whether the round re-solved with ``fix`` matches the client, and that round.

        Raises :class:`_OutOfTime` when the budget is spent, and :class:`_Inconclusive`
        when a re-solve under the shorter per-solve limit ends unproven.
        """
        return self.matched_all([fix])

    def any_can(self, fixes: list[Fix]) -> bool:
        """Whether the changes together match the client: if not, none alone is tried.

        One re-solve instead of one per change. (Matching is not monotone in the
        changes, so this prunes by judgement, not by proof; see the module docstring.)
        """
        return len(fixes) <= 1 or self.matched_all(fixes)[0]

    def matched_all(self, fixes: list[Fix]) -> tuple[bool, MatchingRound | None]:
        """:meth:`matched` for several changes applied together."""
        o = self.options
        # the shorter limit is on deterministic work, the wall-clock limit stays the round's:
        # a busy machine then cannot change a verdict
        work = min(o.time_limit_s, o.solve_time_s)
        key = tuple(_change_key(self.rnd.scenario, f) for f in fixes)
        if key in self.cache:  # the same change tried for another client
            changed = self.cache[key]
        else:
            self.budget.spend()
            changed_scenario = self.rnd.scenario
            for f in fixes:
                changed_scenario = apply_fix(changed_scenario, f)
            try:
                changed = run_round(
                    changed_scenario,
                    solver=o.solver,
                    time_limit_s=o.time_limit_s,
                    work_limit=work if o.deterministic else None,
                    seed=o.seed,
                    workers=o.workers,
                    deterministic=o.deterministic,
                )
            except InputError:  # e.g. a pin no assignment can keep
                changed = None
            finally:
                self.solves += 1
            self.cache[key] = changed
        if changed is None:
            return False, None
        if work < o.time_limit_s and changed.result.status is not SolveStatus.OPTIMAL:
            # stopped by the shorter limit: the round's own limit might decide otherwise
            self.budget.stopped.add("unproven")
            raise _Inconclusive
        rows = changed.outcomes[changed.outcomes["client_id"] == self.client_id]
        return bool((rows["status"] != "unmatched").any()), changed

    def via(self, changed: MatchingRound | None) -> str:
        if changed is None:
            return ""
        t = changed.outcomes
        rows = t[(t["client_id"] == self.client_id) & (t["role"] == "lead")]
        return str(rows["supporter_id"].iat[0]) if len(rows) else ""


def _change_key(scenario: Scenario, fix: Fix) -> tuple[object, ...]:
    """What a fix changes in the scenario (equal keys: the same changed scenario)."""
    if fix.kind == "displace":
        return (fix.kind, fix.client_id, fix.via)
    if fix.kind == "cross_la":
        return (fix.kind, fix.target, _cross_la_rule(scenario, fix.target, fix.via))
    return (fix.kind, fix.target, fix.amount)


class _OutOfTime(Exception):
    """No time left for this client."""


class _Inconclusive(_OutOfTime):
    """A re-solve under a shortened limit ended unproven: this kind cannot be decided."""


@dataclass
class _Found:
    fix: Fix
    changed: MatchingRound | None
    stopped_early: bool = False
    detail: str = ""


def _bisect(
    search: _Search,
    make: Callable[[float], Fix],
    lo: float,
    hi: float,
    step: float,
    hi_round: MatchingRound | None,
) -> tuple[float, MatchingRound | None, bool]:
    """Smallest amount in ``(lo, hi]`` (multiples of ``step``) that matches; ``hi`` does.

    Returns the amount, its round, and whether time ran out before the end.
    """
    n_lo, n_hi = round(lo / step), round(hi / step)
    best = hi_round
    while n_hi - n_lo > 1:
        mid = (n_lo + n_hi) // 2
        try:
            ok, changed = search.matched(make(mid * step))
        except _OutOfTime:
            return n_hi * step, best, True
        if ok:
            n_hi, best = mid, changed
        else:
            n_lo = mid
    return n_hi * step, best, False


def _budget_fixes(search: _Search) -> list[_Found]:
    rnd, i = search.rnd, search.i
    s, p, cand = rnd.scenario, rnd.candidates.problem, rnd.candidates
    la = str(s.clients["la_code"].iat[i])
    budgets: list[tuple[str, str, float]] = []  # (kind, target, current budget)
    a = s.authorities
    if len(a) and (a["la_code"] == la).any():
        b = float(a.loc[a["la_code"] == la, "budget_gbp"].iat[0])
        if not math.isnan(b):
            budgets.append(("authority_budget", la, b))
    for name, b in sorted(s.config.funder_budgets_gbp.items()):
        budgets.append(("funder_budget", name, float(b)))
    if s.config.programme_budget_gbp is not None:
        budgets.append(("programme_budget", "programme", float(s.config.programme_budget_gbp)))
    if not budgets:
        return []
    lo_k, hi_k = p.client_pair_ranges()[i], p.client_pair_ranges()[i + 1]
    ks = np.arange(lo_k, hi_k)
    ks = ks[p.pair_role[ks] == LEAD]
    residual = p.residual(np.asarray(rnd.result.pairs, dtype=np.int64))
    # enough for every package of every client: the budget then never binds
    cap = float(p.pair_cost.sum()) / MONEY_SCALE + float(np.nan_to_num(cand.cheapest_gbp[i])) + 1
    out: list[_Found] = []
    for kind, target, current in budgets:
        start = 1.0
        if len(ks):
            cheapest = float(p.pair_cost[ks].min()) / MONEY_SCALE
            rows = [r for r in range(p.n_limits) if _budget_row_is(p, r, kind, target)]
            left = float(residual[rows[0]]) / MONEY_SCALE if rows else current
            start = max(1.0, cheapest - left)
        elif not np.isnan(cand.cheapest_gbp[i]):
            start = max(1.0, float(cand.cheapest_gbp[i]) - current)
        start = math.ceil(start / money_step(start)) * money_step(start)
        cap_k = min(max(cap, start), 1e10 - current)
        amount, lo = start, 0.0
        found: MatchingRound | None = None
        try:
            while amount <= cap_k:
                ok, changed = search.matched(Fix(search.client_id, kind, target, amount))
                if ok:
                    found = changed
                    break
                lo, amount = amount, (amount * 2 if amount * 2 <= cap_k else cap_k)
                if lo >= cap_k:
                    break
        except _OutOfTime:
            if out:  # keep the raises of the budgets already searched
                return out
            raise
        if found is None:
            continue

        def make(x: float, kind: str = kind, target: str = target) -> Fix:
            return Fix(search.client_id, kind, target, x)

        best, best_round, early = _bisect(search, make, lo, amount, money_step(amount), found)
        out.append(
            _Found(Fix(search.client_id, kind, target, best), best_round, early, f"{current:.2f}")
        )
    return out


def money_step(amount: float) -> float:
    """Precision of a budget raise: three significant figures of ``amount``, at least £1."""
    return float(10 ** max(0, math.floor(math.log10(max(amount, 1.0))) - 2))


def _budget_row_is(p, r: int, kind: str, target: str) -> bool:  # type: ignore[no-untyped-def]
    name = p.limit_names[r]
    if kind == "authority_budget":
        return bool(name == f"authority {target}")
    if kind == "funder_budget":
        return bool(name == f"programme {target}")
    return bool(name == "programme")


def _distances(rnd: MatchingRound, i: int) -> np.ndarray:
    s = rnd.scenario
    dx = s.supporters["easting"].to_numpy(float) - float(s.clients["easting"].iat[i])
    dy = s.supporters["northing"].to_numpy(float) - float(s.clients["northing"].iat[i])
    return np.hypot(dx, dy) / 1000.0


def _has_pair(rnd: MatchingRound, i: int) -> np.ndarray:
    p = rnd.candidates.problem
    lo, hi = p.client_pair_ranges()[i], p.client_pair_ranges()[i + 1]
    out = np.zeros(p.n_supporters, dtype=bool)
    ks = np.arange(lo, hi)
    out[p.pair_supporter[ks[p.pair_role[ks] == LEAD]]] = True
    return out


def _phase_ok(s: Scenario, i: int) -> np.ndarray:
    sup = s.supporters
    same = (sup["phase_mask"].to_numpy(np.int64) & int(s.clients["phase_mask"].iat[i])) != 0
    return same | s.config.allow_cross_phase | sup["cross_phase"].to_numpy(bool)


def _reach_fixes(search: _Search) -> list[_Found]:
    rnd, i = search.rnd, search.i
    s = rnd.scenario
    d = _distances(rnd, i)
    reach = rnd.candidates.reach_km
    beyond = (d > reach + 1e-9) & _phase_ok(s, i)
    order = np.flatnonzero(beyond)
    extra = np.ceil((d[order] - reach[order]) * 10 - 1e-9) / 10
    keep = reach[order] + extra <= MAX_REACH_KM
    order, extra = order[keep], extra[keep]
    rank = np.lexsort((d[order], extra))
    tries = [
        (int(j), Fix(search.client_id, "reach", str(s.supporters["supporter_id"].iat[j]), y))
        for j, y in zip(
            order[rank][: search.options.max_supporters],
            np.maximum(extra[rank], 0.1).astype(float),
            strict=False,
        )
    ]
    if not tries or not search.any_can([f for _, f in tries]):
        return []
    for j, fix in tries:
        ok, changed = search.matched(fix)
        if ok:
            return [_Found(fix, changed, detail=f"{reach[j]:g}")]
    return []


def _capacity_fixes(search: _Search) -> list[_Found]:
    rnd, i = search.rnd, search.i
    s = rnd.scenario
    d = _distances(rnd, i)
    reach = rnd.candidates.reach_km
    has = _has_pair(rnd, i)
    within = np.flatnonzero((d <= reach + 1e-9) & _phase_ok(s, i))
    need = float(s.clients["need_days"].iat[i])
    cap = s.supporters["capacity_days"].to_numpy(float)
    from broker.outputs.tables import supporters_table

    spare = supporters_table(rnd)["spare_days"].to_numpy(float)
    lack = np.where(has[within], need - spare[within], need - cap[within])
    lack = np.ceil(np.maximum(lack, 0.01) * 100 - 1e-9) / 100
    room = MAX_CAPACITY_DAYS - cap[within]
    ok_room = lack <= room + 1e-9
    within, lack, room = within[ok_room], lack[ok_room], room[ok_room]
    rank = np.lexsort((d[within], lack))
    most = [  # every supporter tried, each given the whole need (or all it can take)
        Fix(
            search.client_id,
            "capacity",
            str(s.supporters["supporter_id"].iat[j]),
            round(float(min(max(need, z0), z_max)), 2),
        )
        for j, z0, z_max in zip(
            within[rank][: search.options.max_supporters], lack[rank], room[rank], strict=False
        )
    ]
    if not most or not search.any_can(most):
        return []
    best: _Found | None = None
    for j, z0, z_max in zip(
        within[rank][: search.options.max_supporters], lack[rank], room[rank], strict=False
    ):
        if best is not None and z0 >= best.fix.amount:
            break
        sid = str(s.supporters["supporter_id"].iat[j])

        def make(z: float, sid: str = sid) -> Fix:
            return Fix(search.client_id, "capacity", sid, round(z, 2))

        try:
            ok, changed = search.matched(make(z0))
            if ok:
                best = _Found(make(z0), changed, detail=f"{cap[j]:g}")
                break
            hi = round(min(max(need, z0), z_max), 2)
            if hi <= z0:
                continue
            ok, changed = search.matched(make(hi))
        except _OutOfTime:
            if best is not None:
                best.stopped_early = True
                break
            raise
        if not ok:
            continue
        z, z_round, early = _bisect(search, make, z0, hi, 0.01, changed)
        if best is None or z < best.fix.amount:
            best = _Found(make(z), z_round, early, f"{cap[j]:g}")
    return [best] if best else []


def _cross_la_fixes(search: _Search) -> list[_Found]:
    rnd, i = search.rnd, search.i
    s = rnd.scenario
    a = s.authorities
    la = str(s.clients["la_code"].iat[i])
    if not len(a) or not (a["la_code"] == la).any():
        return []
    rule = a.loc[a["la_code"] == la, "cross_la"].iat[0]
    if rule not in ("own_only", "neighbours"):
        return []
    d = _distances(rnd, i)
    s_la = s.supporters["la_code"].astype(str).to_numpy()
    near = _neighbours(s) if rule == "neighbours" else set()
    excluded = np.array([x != la and (la, x) not in near for x in s_la])
    order = np.flatnonzero(excluded & (d <= rnd.candidates.reach_km + 1e-9) & _phase_ok(s, i))
    for j in order[np.argsort(d[order], kind="stable")][: search.options.max_supporters]:
        sid = str(s.supporters["supporter_id"].iat[j])
        fix = Fix(search.client_id, "cross_la", la, math.nan, sid)
        ok, changed = search.matched(fix)
        if ok:
            return [_Found(Fix(search.client_id, "cross_la", la, math.nan, sid), changed)]
    return []


def _cross_phase_fixes(search: _Search) -> list[_Found]:
    rnd, i = search.rnd, search.i
    s = rnd.scenario
    d = _distances(rnd, i)
    order = np.flatnonzero(~_phase_ok(s, i) & (d <= rnd.candidates.reach_km + 1e-9))
    tries = [
        Fix(search.client_id, "cross_phase", str(s.supporters["supporter_id"].iat[j]))
        for j in order[np.argsort(d[order], kind="stable")][: search.options.max_supporters]
    ]
    if not tries or not search.any_can(tries):
        return []
    for fix in tries:
        ok, changed = search.matched(fix)
        if ok:
            return [_Found(fix, changed)]
    return []


def _displace_fixes(search: _Search) -> list[_Found]:
    rnd, i = search.rnd, search.i
    p = rnd.candidates.problem
    lo, hi = p.client_pair_ranges()[i], p.client_pair_ranges()[i + 1]
    ks = np.arange(lo, hi)
    ks = ks[p.pair_role[ks] == LEAD]
    if not len(ks):
        return []
    ks = ks[np.lexsort((p.pair_supporter[ks], p.pair_level2[ks]))]
    prio = dict(
        zip(rnd.scenario.clients["client_id"], rnd.scenario.clients["priority"], strict=True)
    )
    before = set(rnd.outcomes.loc[rnd.outcomes["status"] != "unmatched", "client_id"])
    mine = int(p.priority[i])
    best: tuple[tuple[int, int, int], _Found] | None = None
    for k in ks[: search.options.max_supporters].tolist():
        sid = p.supporter_ids[p.pair_supporter[k]]
        try:
            ok, changed = search.matched(Fix(search.client_id, "displace", "", math.nan, sid))
        except _OutOfTime:
            if best is not None:
                best[1].stopped_early = True
                break
            raise
        if not ok or changed is None:
            continue
        after = set(changed.outcomes.loc[changed.outcomes["status"] != "unmatched", "client_id"])
        lost = sorted(before - after, key=lambda c: (-prio[c], c))
        if not lost or any(prio[c] > mine for c in lost):
            continue
        key = (sum(int(prio[c]) for c in lost), len(lost), int(p.pair_level2[k]))
        if best is None or key < best[0]:
            fix = Fix(search.client_id, "displace", ";".join(lost), float(key[0]), sid)
            best = (key, _Found(fix, changed))
    return [best[1]] if best else []


SEARCHES: dict[str, Callable[[_Search], list[_Found]]] = {
    "displace": _displace_fixes,
    "cross_la": _cross_la_fixes,
    "cross_phase": _cross_phase_fixes,
    "reach": _reach_fixes,
    "budget": _budget_fixes,
    "capacity": _capacity_fixes,
}
"""The searches, in the order they are tried for a client whose reason names no
kind: those needing one re-solve per named supporter first, the bisections last."""

FIRST_BY_REASON = {
    "authority_budget": "budget",
    "programme_budget": "budget",
    "school_budget": "budget",
    "budget_mix": "budget",
    "over_budget": "budget",
    "supporters_full": "capacity",
    "need_exceeds_capacity": "capacity",
    "no_supporter_in_reach": "reach",
    "no_phase_match": "cross_phase",
    "authority_rule": "cross_la",
}
"""The kind searched first, with half the client's re-solves, given its reason code."""


def search_order(reason_code: str) -> list[str]:
    """The kinds of :data:`SEARCHES` in the order they are tried for ``reason_code``."""
    first = FIRST_BY_REASON.get(reason_code)
    return ([first] if first else []) + [k for k in SEARCHES if k != first]


# --------------------------------------------------------------------------- the table


def find_fixes(rnd: MatchingRound, options: FixOptions | None = None) -> pd.DataFrame:
    """Fixes for every unmatched client of ``rnd`` (see the module docstring).

    Clients are searched in order of priority (highest first). A client with no
    fix gets one row of kind ``none`` saying whether the search was complete or
    stopped by a limit. When the round itself was not proven optimal (a large
    scenario stopped by its limit), re-solves under the shorter per-solve limit
    could not be compared with it, so nothing is searched and each row says so.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`FIXES_COLUMNS`; one row per fix found.
    """
    o = options or FixOptions(solver=rnd.result.solver, seed=rnd.seed)
    s = rnd.scenario
    t = rnd.outcomes
    unmatched = t.loc[t["status"] == "unmatched", "client_id"].tolist()
    index = {c: n for n, c in enumerate(s.clients["client_id"])}
    prio = s.clients["priority"].to_numpy(np.int64)
    unmatched.sort(key=lambda c: (-int(prio[index[c]]), index[c]))
    reasons = dict(zip(t["client_id"], t["reason_code"], strict=True))
    budget = _Budget(o)
    cache: dict[tuple[tuple[object, ...], ...], MatchingRound | None] = {}
    rows: list[dict[str, object]] = []
    if rnd.result.status is not SolveStatus.OPTIMAL and o.solve_time_s < o.time_limit_s:
        # re-solves under the shorter limit would all end unproven: say so at once
        text = (
            "not searched: the round itself was not proven optimal (stopped by "
            f"{rnd.result.stopped_by.replace('_', ' ')}), so a re-solve within "
            f"{o.solve_time_s:g}s cannot be compared with it; solve a smaller scenario "
            "(one region or authority) or with a longer --time-limit"
        )
        for cid in unmatched:
            i = index[cid]
            rows.append(
                {
                    "client_id": cid,
                    "client_name": _name_of(s.clients, i),
                    "priority": int(prio[i]),
                    "fix_kind": "none",
                    "fix_target": "",
                    "fix_amount": math.nan,
                    "fix_unit": "",
                    "fix_via": "",
                    "fix_text": text,
                    "solves": 0,
                }
            )
        return pd.DataFrame(rows, columns=FIXES_COLUMNS)
    for cid in bar(unmatched, "fixes"):
        i = index[cid]
        budget.start_client()
        search = _Search(rnd, o, budget, i, cache)
        found: list[_Found] = []
        order = search_order(reasons.get(cid, ""))
        for n, name in enumerate(order):
            budget.start_kind(
                len(order) - n, first=n == 0 and name == FIRST_BY_REASON.get(reasons.get(cid, ""))
            )
            try:
                found += SEARCHES[name](search)
            except _OutOfTime:
                continue
        kinds = sorted({f.fix.kind for f in found})
        detail(
            f"fixes: {cid} (priority {int(prio[i])}): "
            + (", ".join(kinds) if kinds else "none")
            + f" in {search.solves} re-solves"
            + (f" (stopped: {', '.join(sorted(budget.stopped))})" if budget.stopped else "")
        )
        base = {
            "client_id": cid,
            "client_name": _name_of(s.clients, i),
            "priority": int(prio[i]),
        }
        if not found:
            text = (
                f"no fix found within the limit ({_limits_text(o, budget.stopped)}; "
                f"{search.solves} re-solves)"
                if budget.stopped
                else "no single change of the kinds tried (budgets, reach, capacity, cross-LA, "
                f"cross-phase, displacing a lower-priority school) gets it matched "
                f"({search.solves} re-solves)"
            )
            rows.append(
                base
                | {
                    "fix_kind": "none",
                    "fix_target": "",
                    "fix_amount": math.nan,
                    "fix_unit": "",
                    "fix_via": "",
                    "fix_text": text,
                    "solves": search.solves,
                }
            )
            continue
        found.sort(key=lambda f: FIX_KINDS.index(f.fix.kind))  # budgets first, displacing last
        for f in found:
            via = f.fix.via or search.via(f.changed)
            fix = Fix(f.fix.client_id, f.fix.kind, f.fix.target, f.fix.amount, via)
            rows.append(
                base
                | {
                    "fix_kind": fix.kind,
                    "fix_target": fix.target,
                    "fix_amount": fix.amount,
                    "fix_unit": _UNITS[fix.kind],
                    "fix_via": via,
                    "fix_text": _text(rnd, fix, f),
                    "solves": search.solves,
                }
            )
    return pd.DataFrame(rows, columns=FIXES_COLUMNS)


def _limits_text(o: FixOptions, stopped: set[str]) -> str:
    parts = []
    if "solves" in stopped:
        parts.append(f"{o.per_client_solves} re-solves for this school")
    if "total" in stopped:
        parts.append(f"{o.total_solves} re-solves in all")
    if "time" in stopped:
        parts.append(f"{o.per_client_s:g}s for this school, {o.total_s:g}s in all")
    if "unproven" in stopped:
        parts.append(f"some re-solves not proven optimal within {o.solve_time_s:g}s")
    return "; ".join(parts)


_UNITS = {
    "authority_budget": "gbp",
    "funder_budget": "gbp",
    "programme_budget": "gbp",
    "reach": "km",
    "capacity": "days",
    "cross_la": "",
    "cross_phase": "",
    "displace": "priority",
}


def _name_of(frame: pd.DataFrame, i: int) -> str:
    if "name" not in frame.columns:
        return ""
    v = frame["name"].iat[i]
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


def _supporter(s: Scenario, sid: str) -> str:
    sup = s.supporters
    hit = np.flatnonzero(sup["supporter_id"].to_numpy() == sid)
    if not len(hit):
        return sid
    name = _name_of(sup, int(hit[0]))
    return f"{sid} ({name})" if name else sid


def _text(rnd: MatchingRound, fix: Fix, f: _Found) -> str:
    s = rnd.scenario
    then = f"; it is then matched to {_supporter(s, fix.via)}" if fix.via else ""
    if f.stopped_early:
        then += " (the search stopped at its limit: a smaller change may also work)"
    if fix.kind == "authority_budget":
        from broker.outputs.tables import authority_names

        name = authority_names(rnd, [fix.target])[0]
        who = f"authority {fix.target}" + (f" ({name})" if name else "")
        return (
            f"raise the budget of {who} by £{fix.amount:,.0f} "
            f"(from £{float(f.detail):,.2f} to £{float(f.detail) + fix.amount:,.2f}){then}"
        )
    if fix.kind == "funder_budget":
        return f"raise the budget of programme funder {fix.target} by £{fix.amount:,.0f}{then}"
    if fix.kind == "programme_budget":
        return (
            f"raise the programme budget by £{fix.amount:,.0f} (from £{float(f.detail):,.2f}){then}"
        )
    if fix.kind == "reach":
        return (
            f"extend the reach of {_supporter(s, fix.target)} by {fix.amount:g} km "
            f"(from {f.detail} km to {float(f.detail) + fix.amount:g} km){then}"
        )
    if fix.kind == "capacity":
        every = " in every term" if s.config.terms > 1 else ""
        return (
            f"give {_supporter(s, fix.target)} {fix.amount:g} more days per week{every} "
            f"(from {f.detail} to {float(f.detail) + fix.amount:g}){then}"
        )
    if fix.kind == "cross_la":
        rule = _cross_la_rule(s, fix.target, fix.via)
        what = "neighbouring authorities'" if rule == "neighbours" else "any authority's"
        return (
            f"let authority {fix.target} take {what} supporters (cross_la = {rule}) for "
            f"{_supporter(s, fix.via)}{then}"
        )
    if fix.kind == "cross_phase":
        return f"let {_supporter(s, fix.target)} work across phases (cross_phase = true){then}"
    lost = fix.target.split(";")
    idx = {c: n for n, c in enumerate(s.clients["client_id"])}
    prio = s.clients["priority"].to_numpy(np.int64)
    named = ", ".join(
        f"{c} ({_name_of(s.clients, idx[c])}, priority {int(prio[idx[c]])})" for c in lost
    )
    return (
        f"pin it to {_supporter(s, fix.via)}; that displaces {named}, "
        f"{int(fix.amount)} priority in all"
    )
