"""Scenario variants for sweeps: budgets, reach and supply multiplied by a factor.

Each is a pure transformation ``Scenario -> Scenario`` (:meth:`Scenario.replace`;
the caller's tables are never changed):

``budget``
    Every budget times ``m``, rounded to whole pence: authorities'
    ``budget_gbp``, schools' ``budget_gbp``, ``[budget] programme_gbp`` and the
    programme funders' budgets.
``reach``
    Every supporter's ``max_distance_km`` (and the scenario default) times ``m``.
``supply``
    Every supporter's capacity (``capacity_days`` and per-term capacities) times
    ``m``, rounded to hundredths of a day and kept within 0.01 and 7 days a week.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from broker.scenario.model import Scenario


def _money(x: object, m: float) -> object:
    return x if x is None else round(float(x) * m, 2)  # type: ignore[arg-type]


def _days(x: float, m: float) -> float:
    return float(min(7.0, max(0.01, round(x * m, 2))))


def apply_variant(scenario: Scenario, variant: dict[str, float]) -> Scenario:
    """``scenario`` with the multipliers of ``variant`` applied (1 leaves it unchanged)."""
    cfg = scenario.config
    sup, cli, aut = scenario.supporters, scenario.clients, scenario.authorities
    b = float(variant.get("budget", 1.0))
    r = float(variant.get("reach", 1.0))
    s = float(variant.get("supply", 1.0))
    if b != 1.0:
        aut = aut.copy()
        if "budget_gbp" in aut:
            aut["budget_gbp"] = np.round(aut["budget_gbp"].to_numpy(float) * b, 2)
        cli = cli.copy()
        cli["budget_gbp"] = np.round(cli["budget_gbp"].to_numpy(float) * b, 2)
        cfg = dataclasses.replace(
            cfg,
            programme_budget_gbp=_money(cfg.programme_budget_gbp, b),  # type: ignore[arg-type]
            funder_budgets_gbp={k: round(v * b, 2) for k, v in cfg.funder_budgets_gbp.items()},
        )
    if r != 1.0:
        sup = sup.copy()
        sup["max_distance_km"] = sup["max_distance_km"].to_numpy(float) * r
        cfg = dataclasses.replace(cfg, max_distance_km=cfg.max_distance_km * r)
    if s != 1.0:
        sup = sup.copy()
        sup["capacity_days"] = [_days(x, s) for x in sup["capacity_days"].to_numpy(float)]
        if "capacity_by_term" in sup:
            sup["capacity_by_term"] = [
                None if t is None else tuple(_days(float(x), s) for x in t)
                for t in sup["capacity_by_term"]
            ]
    return scenario.replace(config=cfg, supporters=sup, clients=cli, authorities=aut)
