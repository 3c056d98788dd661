"""Independent feasibility checker for an assignment.

Deliberately shares no code with candidate generation or the models: it reads the
scenario's tables row by row with plain Python (``math.hypot``, sets, ``Decimal``)
and re-derives every hard rule of scenario format v1 from its wording. Every
solution broker writes is passed through it, and property tests use it on
thousands of generated scenarios.

Rules checked (numbering as in ``docs/scenario-format.md``):

1. a client has no supporter or exactly ``team_size`` (a lead, and for a team of
   two a second, different supporter); each receives exactly its need (the lead
   ``need_days``, the second ``second_need_days``);
2. in every term, the need a supporter is given by the clients whose terms cover
   it sums to at most its capacity in that term;
3. phase matches, unless cross-phase is allowed (scenario or supporter flag);
4. straight-line distance within the supporter's reach;
5. authority rule (``own_only``, ``neighbours``) and network rule;
6. conflicts never paired, pinned pairs kept (in their role), no school paired with
   itself, no supporter of a kind the client excludes;
7. package cost within the client's budget (for a team, both packages together);
   each funder's total within its budget (an authority pays for the modes funded
   by ``authority``, a programme funder for ``programme:<name>``, the school for
   ``school``); the programme's total within ``programme_gbp``;
8. the supporter offers a mode the client accepts in that role;
9. the supporter has every expertise tag the client ``must`` have.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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


def _blank(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or str(x).strip() == ""


def _mode_of(client_modes: tuple[str, ...], offered: tuple[str, ...]) -> str | None:
    """The mode a pair works in: the client's first accepted mode the supporter offers
    (any of the supporter's, first first, when the client accepts any)."""
    if not client_modes:
        return offered[0] if offered else None
    return next((m for m in client_modes if m in offered), None)


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
        unmatched), one row per client and supporter; an optional ``role`` column
        (``lead``/``second``, blank for lead) and optional ``days_per_week``,
        ``cost_gbp`` and ``mode`` columns are checked against the scenario too.
    adjacency
        Adjacent authority pairs for ``neighbours`` rules; by default taken from
        ``authorities.csv`` or the bundled boundaries.
    """
    from broker.rules.modes import load_modes

    cfg = scenario.config
    catalogue = load_modes()
    v: list[str] = []
    sup = {r.supporter_id: r for r in scenario.supporters.itertuples(index=False)}
    cli = {r.client_id: r for r in scenario.clients.itertuples(index=False)}
    auth = {r.la_code: r for r in scenario.authorities.itertuples(index=False)}
    conflicts = set(
        zip(scenario.conflicts["client_id"], scenario.conflicts["supporter_id"], strict=True)
    )

    def attr(row: object, name: str, default: object) -> Any:
        return getattr(row, name, default)

    # (client, role) -> supporter, from the table
    pairs: dict[tuple[str, str], str] = {}
    rows: dict[tuple[str, str], object] = {}
    listed: set[str] = set()
    unmatched: set[str] = set()  # clients with a row that leaves them unmatched
    for row in assignment.itertuples(index=False):
        c = str(row.client_id)
        s = "" if _blank(row.supporter_id) else str(row.supporter_id).strip()
        role_raw = getattr(row, "role", "")
        role = "lead" if _blank(role_raw) else str(role_raw).strip().lower()
        if c not in cli:
            v.append(f"rule 1: unknown client {c!r} in the assignment")
            continue
        if s == "":
            if c in listed:
                v.append(f"rule 1: client {c} appears more than once")
            listed.add(c)
            unmatched.add(c)
            continue
        if c in unmatched:  # the same row order-independently: unmatched, then matched
            v.append(f"rule 1: client {c} appears more than once")
        listed.add(c)
        if role not in ("lead", "second"):
            v.append(f"rule 1: client {c} has unknown role {role!r}")
            continue
        if s not in sup:
            v.append(f"rule 1: client {c} is assigned to unknown supporter {s!r}")
            continue
        if (c, role) in pairs:
            v.append(f"rule 1: client {c} appears more than once in role {role}")
            continue
        pairs[(c, role)] = s
        rows[(c, role)] = row
    for c in {c for c, _ in pairs}:
        team = int(attr(cli[c], "team_size", 1))
        lead, second = pairs.get((c, "lead")), pairs.get((c, "second"))
        if lead is None:
            v.append(f"rule 1: client {c} has a second supporter but no lead")
        if team == 1 and second is not None:
            v.append(f"rule 1: client {c} needs one supporter but has two")
        if team == 2 and (lead is None) != (second is None):
            v.append(f"rule 1: client {c} needs a team of two or nobody, and has one")
        if lead is not None and lead == second:
            v.append(f"rule 1: client {c} has {lead} in both roles")

    n_terms = int(cfg.terms)
    load: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    funder_cost: dict[str, Decimal] = defaultdict(Decimal)
    client_cost: dict[str, Decimal] = defaultdict(Decimal)
    total = Decimal(0)
    priority = 0
    adj = adjacency
    for (c, role), s in pairs.items():
        cr, sr = cli[c], sup[s]
        if role == "lead":
            priority += int(cr.priority)
        need = cr.need_days if role == "lead" else attr(cr, "second_need_days", cr.need_days)
        days = getattr(rows[(c, role)], "days_per_week", None)
        if days is not None and not _blank(days) and _dec(days) != _dec(need):
            v.append(
                f"rule 1: client {c} receives {days} days per week from its {role}, not its "
                f"need of {need}"
            )
        # rule 2 bookkeeping: the terms the need covers
        start = int(attr(cr, "start_term", 1))
        span = int(attr(cr, "terms", n_terms - start + 1))
        for term in range(start - 1, start - 1 + span):
            load[(s, term)] += _dec(need)
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
        mode_la = auth[cr.la_code].cross_la if cr.la_code in auth else "allow"
        if mode_la == "own_only" and sr.la_code != cr.la_code:
            v.append(
                f"rule 5: authority {cr.la_code} accepts only its own supporters; "
                f"{s} is from {sr.la_code}"
            )
        if mode_la == "neighbours" and sr.la_code != cr.la_code:
            if adj is None:
                adj = _adjacency(scenario)
            if (cr.la_code, sr.la_code) not in adj:
                v.append(
                    f"rule 5: authority {cr.la_code} accepts only its own or "
                    f"neighbouring authorities' supporters; {s} is from {sr.la_code}"
                )
        if sr.network and sr.network != cr.network and cfg.network_rule == "hard":
            v.append(
                f"rule 5: {s} serves only network {sr.network!r}; {c} is in "
                f"{cr.network or 'no network'!r}"
            )
        # rule 6: conflicts, self-pairing, excluded kinds
        if (c, s) in conflicts:
            v.append(f"rule 6: {s} and {c} are a declared conflict")
        if cr.urn and cr.urn == sr.urn:
            v.append(f"rule 6: {s} and {c} are the same school (URN {cr.urn})")
        if sr.kind in tuple(attr(cr, "exclude_kinds", ())):
            v.append(f"rule 6: {c} excludes supporters of kind {sr.kind}; {s} is one")
        # rule 8: mode
        accepted = tuple(attr(cr, "mode" if role == "lead" else "second_mode", ()))
        offered = tuple(attr(sr, "modes", ()))
        mode = _mode_of(accepted, offered)
        if mode is None:
            v.append(
                f"rule 8: {s} offers {', '.join(offered) or 'no mode'}; {c} needs "
                f"{' or '.join(accepted)} as its {role}"
            )
        stated = getattr(rows[(c, role)], "mode", None)
        if stated is not None and not _blank(stated) and mode is not None and stated != mode:
            v.append(f"rule 8: the pair ({c}, {s}) works as {mode}, not {stated}")
        # rule 9: expertise
        missing = set(attr(cr, "must", ())) - set(attr(sr, "expertise", ()))
        if missing:
            v.append(f"rule 9: {c} must have {', '.join(sorted(missing))}; {s} has not")
        # rule 7: cost and who pays
        cost = package_cost(need, cr.weeks, sr.day_rate_gbp)
        total += cost
        client_cost[c] += cost
        funder = cfg.funders.get(mode or "", None) or (
            catalogue.modes[mode].funder if mode in catalogue.modes else "authority"
        )
        if funder == "authority":
            funder_cost["la:" + cr.la_code] += cost
        elif funder.startswith("programme:"):
            funder_cost[funder] += cost
        if not math.isnan(cr.budget_gbp) and cost > _dec(cr.budget_gbp):
            v.append(
                f"rule 7: package for {c} costs £{cost:,.2f}, over its budget of "
                f"£{cr.budget_gbp:,.2f}"
            )
        reported = getattr(rows[(c, role)], "cost_gbp", None)
        if reported is not None and not _blank(reported):
            if abs(_dec(reported) - cost) > Decimal("0.005"):
                v.append(
                    f"rule 7: cost reported for {c} is £{reported}, but "
                    f"need x weeks x day rate = £{cost:,.2f}"
                )
    for (s, term), days in load.items():
        caps = tuple(attr(sup[s], "capacity_by_term", ())) or (sup[s].capacity_days,)
        cap = caps[term] if term < len(caps) else sup[s].capacity_days
        if days > _dec(cap):
            where = f" in term {term + 1}" if n_terms > 1 else ""
            v.append(
                f"rule 2: {s} is given {days} days per week{where}, over its capacity of {cap:g}"
            )
    for c, cost in client_cost.items():
        b = cli[c].budget_gbp
        if int(attr(cli[c], "team_size", 1)) == 2 and not math.isnan(b) and cost > _dec(b):
            v.append(f"rule 7: the team for {c} costs £{cost:,.2f}, over its budget of £{b:,.2f}")
    for key, cost in funder_cost.items():
        kind, _, name = key.partition(":")
        if kind == "la":
            b = auth[name].budget_gbp if name in auth else math.nan
            if not math.isnan(b) and cost > _dec(b):
                v.append(
                    f"rule 7: authority {name} spends £{cost:,.2f}, over its budget of £{b:,.2f}"
                )
        elif name in cfg.funder_budgets_gbp and cost > _dec(cfg.funder_budgets_gbp[name]):
            v.append(
                f"rule 7: programme {name} spends £{cost:,.2f}, over its budget of "
                f"£{cfg.funder_budgets_gbp[name]:,.2f}"
            )
    if cfg.programme_budget_gbp is not None and total > _dec(cfg.programme_budget_gbp):
        v.append(
            f"rule 7: total cost £{total:,.2f} is over the programme budget of "
            f"£{cfg.programme_budget_gbp:,.2f}"
        )
    roles = (
        scenario.pinned["role"] if "role" in scenario.pinned else ["lead"] * len(scenario.pinned)
    )
    for c, s, role in zip(
        scenario.pinned["client_id"], scenario.pinned["supporter_id"], roles, strict=True
    ):
        if pairs.get((c, role)) != s:
            v.append(f"rule 6: pinned pair ({c}, {s}) is not kept")
    matched = len({c for c, _ in pairs})
    return CheckReport(v, priority, total, matched)


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
