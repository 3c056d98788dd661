"""A what-if: a recorded round's scenario files with a few changes, solved again.

:func:`apply_changes` edits the files of a scenario folder in place; the changed
folder is then read and validated like any other (:func:`broker.scenario.read_scenario`),
so a value out of range gets the usual message naming the file, row and column.

Changes (a :class:`broker.service.schemas.Changes`, as a dict):

``authority_budgets``  ``{la_code: pounds}``: an authority's budget (``authorities.csv``)
``cross_la``           ``{la_code: rule}``: an authority's rule for supporters from
                       elsewhere (``allow``, ``prefer_own``, ``own_only``, ``neighbours``)
``supporters``         ``{supporter_id: {"capacity_days": d, "max_distance_km": km}}``:
                       a supporter's days per week and reach. With per-term capacities
                       (``capacity_by_term``), each term moves by the same number of days.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from broker.csvtext import read_text_table, write_csv
from broker.errors import InputError

AUTHORITIES = "authorities.csv"
SUPPORTERS = "supporters.csv"


def _days(v: Decimal) -> str:
    return format(v.quantize(Decimal("0.01")).normalize(), "f")


def apply_changes(folder: str | Path, changes: dict[str, Any]) -> list[str]:
    """Apply ``changes`` to the scenario files in ``folder``; return what was changed, as text.

    Raises
    ------
    broker.errors.InputError
        If a supporter named in the changes is not in ``supporters.csv``.
    """
    root = Path(folder)
    done: list[str] = []
    budgets = {str(k): v for k, v in (changes.get("authority_budgets") or {}).items()}
    rules = {str(k): str(v) for k, v in (changes.get("cross_la") or {}).items()}
    if budgets or rules:
        done += _authorities(root / AUTHORITIES, budgets, rules)
    sups = changes.get("supporters") or {}
    if sups:
        done += _supporters(root / SUPPORTERS, sups)
    return done


def _authorities(path: Path, budgets: dict[str, Any], rules: dict[str, str]) -> list[str]:
    if path.is_file():
        t = read_text_table(path, required=["la_code"]).frame().reset_index(drop=True)
    else:
        t = pd.DataFrame({"la_code": pd.Series(dtype=object)})
    for col in ("budget_gbp", "cross_la"):
        if col not in t.columns:
            t[col] = ""
    done = []
    for la in sorted(set(budgets) | set(rules)):
        if not (t["la_code"] == la).any():
            row = dict.fromkeys(t.columns, "")
            row["la_code"] = la
            t = pd.concat([t, pd.DataFrame([row])], ignore_index=True)
        hit = t["la_code"] == la
        if la in budgets:
            value = budgets[la]
            text = "" if value is None else format(Decimal(str(value)), "f")
            t.loc[hit, "budget_gbp"] = text
            done.append(f"authority {la} budget: " + (f"£{value:,.2f}" if text else "none"))
        if la in rules:
            t.loc[hit, "cross_la"] = rules[la]
            done.append(f"authority {la} rule for other authorities' supporters: {rules[la]}")
    write_csv(t, path)
    return done


def _supporters(path: Path, changes: dict[str, dict[str, Any]]) -> list[str]:
    t = read_text_table(path, required=["supporter_id"]).frame().reset_index(drop=True)
    done = []
    for sid, change in sorted(changes.items()):
        hit = t["supporter_id"] == sid
        if not hit.any():
            raise InputError.one(
                SUPPORTERS,
                "no supporter with this id in the round's scenario",
                column="supporter_id",
                value=sid,
            )
        cap = change.get("capacity_days")
        if cap is not None:
            new = Decimal(str(cap))
            old = Decimal(str(t.loc[hit, "capacity_days"].iloc[0]))
            t.loc[hit, "capacity_days"] = _days(new)
            if "capacity_by_term" in t.columns:
                terms = str(t.loc[hit, "capacity_by_term"].iloc[0]).strip()
                if terms:
                    moved = [max(Decimal(0), Decimal(x) + new - old) for x in terms.split(";")]
                    t.loc[hit, "capacity_by_term"] = ";".join(_days(x) for x in moved)
            done.append(f"supporter {sid} capacity: {_days(old)} -> {_days(new)} days/week")
        reach = change.get("max_distance_km")
        if reach is not None:
            if "max_distance_km" not in t.columns:
                t["max_distance_km"] = ""
            t.loc[hit, "max_distance_km"] = format(Decimal(str(reach)), "f")
            done.append(f"supporter {sid} reach: {reach:g} km")
    write_csv(t, path)
    return done
