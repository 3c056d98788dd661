"""Independent feasibility checker for an assignment.

Deliberately shares no code with candidate generation or the models: it reads the
scenario's tables row by row with plain Python (``math.hypot``, sets, ``Decimal``)
and re-derives every hard rule of scenario format v1 from its wording. Every
solution broker writes is passed through it, and property tests use it on
thousands of generated scenarios.

Rules checked (numbering as in ``docs/scenario-format.md``):

1. a client has at most one supporter and a matched client receives exactly its
   ``need_days``;
2. a supporter's matched need sums to at most its capacity;
3. phase matches, unless cross-phase is allowed (scenario or supporter flag);
4. straight-line distance within the supporter's reach;
5. authority rule (``own_only``, ``neighbours``) and network rule;
6. conflicts never paired, pinned pairs kept, no school paired with itself;
7. package cost within the client's budget; each authority's and the
   programme's total within budget.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

import pandas as pd

from broker.scenario.model import Scenario


@dataclass(frozen=True)
class CheckReport:
    """Outcome of :func:`check_assignment`.

    Attributes
    ----------
    violations
        One sentence per broken rule instance, each starting ``rule N:``.
    priority_matched
        Sum of priorities of matched clients, recomputed.
    total_cost_gbp
        Sum of package costs, recomputed exactly.
    """

    violations: list[str] = field(default_factory=list)
    priority_matched: int = 0
    total_cost_gbp: Decimal = Decimal(0)
    matched: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


def package_cost(need_days: float, weeks: int, rate_gbp: float) -> Decimal:
    """Exact cost: need_days x weeks x day_rate_gbp, in pounds."""
    return _dec(need_days) * Decimal(int(weeks)) * _dec(rate_gbp)


def check_assignment(
    scenario: Scenario,
    assignment: pd.DataFrame,
    adjacency: set[tuple[str, str]] | None = None,
) -> CheckReport:
    """Check ``assignment`` against every hard rule of ``scenario``.

    Parameters
    ----------
    scenario
        The validated scenario.
    assignment
        Table with ``client_id`` and ``supporter_id`` (blank or NaN when
        unmatched); optional ``days_per_week`` and ``cost_gbp`` columns are checked
        against the scenario too.
    adjacency
        Adjacent authority pairs for ``neighbours`` rules; by default taken from
        ``authorities.csv`` or the bundled boundaries.
    """
    cfg = scenario.config
    v: list[str] = []
    sup = {r.supporter_id: r for r in scenario.supporters.itertuples(index=False)}
    cli = {r.client_id: r for r in scenario.clients.itertuples(index=False)}
    auth = {r.la_code: r for r in scenario.authorities.itertuples(index=False)}
    conflicts = set(
        zip(scenario.conflicts["client_id"], scenario.conflicts["supporter_id"], strict=True)
    )
    pinned = dict(zip(scenario.pinned["client_id"], scenario.pinned["supporter_id"], strict=True))

    pairs: dict[str, str] = {}
    seen: set[str] = set()
    for row in assignment.itertuples(index=False):
        c = str(row.client_id)
        s = row.supporter_id
        s = "" if s is None or (isinstance(s, float) and math.isnan(s)) else str(s)
        if c not in cli:
            v.append(f"rule 1: unknown client {c!r} in the assignment")
            continue
        if c in seen:
            v.append(f"rule 1: client {c} appears more than once")
        seen.add(c)
        if s == "":
            continue
        if s not in sup:
            v.append(f"rule 1: client {c} is assigned to unknown supporter {s!r}")
            continue
        if c in pairs and pairs[c] != s:
            v.append(f"rule 1: client {c} has more than one supporter")
        pairs[c] = s
        days = getattr(row, "days_per_week", None)
        if days is not None and not (isinstance(days, float) and math.isnan(days)):
            if _dec(days) != _dec(cli[c].need_days):
                v.append(
                    f"rule 1: client {c} receives {days} days per week, not its need of "
                    f"{cli[c].need_days}"
                )

    load: dict[str, Decimal] = defaultdict(Decimal)
    la_cost: dict[str, Decimal] = defaultdict(Decimal)
    total = Decimal(0)
    priority = 0
    adj = adjacency
    for c, s in pairs.items():
        cr, sr = cli[c], sup[s]
        priority += int(cr.priority)
        load[s] += _dec(cr.need_days)
        # rule 3: phase
        if cr.phase not in set(sr.phases) and not (cfg.allow_cross_phase or sr.cross_phase):
            v.append(
                f"rule 3: {s} ({'/'.join(sr.phases)}) may not support {c} ({cr.phase}); "
                "cross-phase not allowed"
            )
        # rule 4: distance
        dist_km = math.hypot(cr.easting - sr.easting, cr.northing - sr.northing) / 1000.0
        reach = cfg.max_distance_km if math.isnan(sr.max_distance_km) else sr.max_distance_km
        if dist_km > reach + 1e-9:
            v.append(f"rule 4: {s} is {dist_km:.2f} km from {c}, beyond its reach of {reach:g} km")
        # rule 5: authority and network
        mode = auth[cr.la_code].cross_la if cr.la_code in auth else "allow"
        if mode == "own_only" and sr.la_code != cr.la_code:
            v.append(
                f"rule 5: authority {cr.la_code} accepts only its own supporters; "
                f"{s} is from {sr.la_code}"
            )
        if mode == "neighbours" and sr.la_code != cr.la_code:
            if adj is None:
                adj = _adjacency(scenario)
            if (cr.la_code, sr.la_code) not in adj:
                v.append(
                    f"rule 5: authority {cr.la_code} accepts only its own or "
                    f"neighbouring authorities' supporters; {s} is from {sr.la_code}"
                )
        if sr.network and sr.network != cr.network:
            v.append(
                f"rule 5: {s} serves only network {sr.network!r}; {c} is in "
                f"{cr.network or 'no network'!r}"
            )
        # rule 6: conflicts and self-pairing
        if (c, s) in conflicts:
            v.append(f"rule 6: {s} and {c} are a declared conflict")
        if cr.urn and cr.urn == sr.urn:
            v.append(f"rule 6: {s} and {c} are the same school (URN {cr.urn})")
        # rule 7: cost
        cost = package_cost(cr.need_days, cr.weeks, sr.day_rate_gbp)
        total += cost
        la_cost[cr.la_code] += cost
        if not math.isnan(cr.budget_gbp) and cost > _dec(cr.budget_gbp):
            v.append(
                f"rule 7: package for {c} costs £{cost:,.2f}, over its budget of "
                f"£{cr.budget_gbp:,.2f}"
            )
    for row in assignment.itertuples(index=False):
        c = str(row.client_id)
        if c in pairs and hasattr(row, "cost_gbp"):
            expected = package_cost(cli[c].need_days, cli[c].weeks, sup[pairs[c]].day_rate_gbp)
            if abs(_dec(row.cost_gbp) - expected) > Decimal("0.005"):
                v.append(
                    f"rule 7: cost reported for {c} is £{row.cost_gbp}, but "
                    f"need x weeks x day rate = £{expected:,.2f}"
                )
    for s, days in load.items():
        if days > _dec(sup[s].capacity_days):
            v.append(
                f"rule 2: {s} is given {days} days per week, over its capacity of "
                f"{sup[s].capacity_days:g}"
            )
    for code, cost in la_cost.items():
        if code in auth and not math.isnan(auth[code].budget_gbp):
            if cost > _dec(auth[code].budget_gbp):
                v.append(
                    f"rule 7: authority {code} spends £{cost:,.2f}, over its budget of "
                    f"£{auth[code].budget_gbp:,.2f}"
                )
    if cfg.programme_budget_gbp is not None and total > _dec(cfg.programme_budget_gbp):
        v.append(
            f"rule 7: total cost £{total:,.2f} is over the programme budget of "
            f"£{cfg.programme_budget_gbp:,.2f}"
        )
    for c, s in pinned.items():
        if pairs.get(c) != s:
            v.append(f"rule 6: pinned pair ({c}, {s}) is not kept")
    return CheckReport(v, priority, total, len(pairs))


def _adjacency(scenario: Scenario) -> set[tuple[str, str]]:
    given = set()
    for r in scenario.authorities.itertuples(index=False):
        for n in r.neighbours:
            given.add((r.la_code, n))
            given.add((n, r.la_code))
    if given:
        return given
    from broker.data import load_la_adjacency

    t = load_la_adjacency()
    out = set()
    for a, b in zip(t["la_code_a"], t["la_code_b"], strict=True):
        out.add((a, b))
        out.add((b, a))
    return out
