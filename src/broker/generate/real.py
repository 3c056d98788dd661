"""Building blocks for scenarios made from the real school register.

Clients are state-funded schools that need support: graded 3 (requires
improvement) in the 2024 register, or without a 2024 grade and judged inadequate
in 2019 (the register carries no grade 4 for state schools; see the data
provenance). Supporters are outstanding (grade 1) schools, or whatever a caller
designates. Quantities the register does not hold (need in days, capacities, day
rates) are drawn from documented ranges with a seeded generator, so the same
seed always gives the same scenario.

Priorities (1 = lowest, 5 = most urgent)::

    base      3 if inadequate, 2 if requires improvement
    +1        if the school's LSOA is in the 20% most deprived for IDACI (decile 1-2)
    +1        if it was also below good in 2019 (stuck: RI or inadequate twice)

Need (days per week): inadequate 1.5-2.5, requires improvement 0.5-1.5, in steps
of 0.5. Capacity: 1, 1.5, 2 or 2.5 days (an NLE gives a fifth to a half of a
week). Day rates: £350-£650 in steps of £25, by supporter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ENGINE_PHASES = ("primary", "secondary", "special", "all_through", "alternative_provision")

CAPACITY_CHOICES = np.array([1.0, 1.5, 2.0, 2.5])
RATE_RANGE_GBP = (350, 650)


def usable_schools(schools: pd.DataFrame) -> pd.DataFrame:
    """State-funded schools with coordinates in a phase the engine matches."""
    s = schools
    ok = (s["state_funded"] == "Y") & s["easting"].notna() & s["northing"].notna()
    ok &= s["phase_group"].isin(ENGINE_PHASES)
    return s[ok].sort_values("urn").reset_index(drop=True)


def needs_support(schools: pd.DataFrame) -> pd.Series:
    """Category of need: ``inadequate``, ``requires_improvement`` or ``""`` (none)."""
    g24 = schools["ofsted_grade_2024"]
    r19 = schools["ofsted_rating_2019"].fillna("")
    inadequate = g24.isna() & (r19 == "Inadequate")
    ri = (g24 == 3).fillna(False)
    out = np.where(inadequate, "inadequate", np.where(ri, "requires_improvement", ""))
    return pd.Series(out, index=schools.index)


def client_table(schools: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Clients (scenario format v1 columns) from usable schools that need support."""
    s = schools.assign(category=needs_support(schools))
    s = s[s["category"] != ""].reset_index(drop=True)
    inadequate = (s["category"] == "inadequate").to_numpy()
    deprived = (s["idaci_decile_2019"].fillna(10) <= 2).to_numpy()
    stuck = s["ofsted_rating_2019"].isin(["Requires Improvement", "Inadequate"]).to_numpy()
    priority = np.where(inadequate, 3, 2) + deprived + stuck
    steps = rng.integers(0, 3, size=len(s))  # 0, 1, 2 half-day steps
    need = np.where(inadequate, 1.5, 0.5) + 0.5 * steps
    grade = s["ofsted_grade_2024"].astype("Float64")
    return pd.DataFrame(
        {
            "client_id": "C" + s["urn"].astype(str),
            "urn": s["urn"].astype(str),
            "name": s["name"],
            "phase": s["phase_group"],
            "la_code": s["la_code"],
            "easting": s["easting"].round(0),
            "northing": s["northing"].round(0),
            "need_days": need,
            "priority": priority.astype(int),
            "ofsted_grade": np.where(
                inadequate, "4", grade.astype(str).str.replace(".0", "", regex=False)
            ),
            "category": s["category"],
            "district": s["lad_name"].fillna(""),
            "idaci_decile": s["idaci_decile_2019"].astype("Int64").astype(str).replace("<NA>", ""),
        }
    )


def supporter_table(
    schools: pd.DataFrame,
    kinds: pd.Series,
    rng: np.random.Generator,
    networks: pd.Series | None = None,
) -> pd.DataFrame:
    """Supporters (format v1 columns) from designated schools.

    Parameters
    ----------
    schools
        The designated schools (one supporter each).
    kinds
        Supporter kind per school (``nle``, ``len_lead``, ...), aligned with ``schools``.
    rng
        Seeded generator for capacities and day rates.
    networks
        Optional network per school (a supporter with a network serves only it).
    """
    n = len(schools)
    capacity = rng.choice(CAPACITY_CHOICES, size=n)
    lo, hi = RATE_RANGE_GBP
    rate = 25.0 * rng.integers(lo // 25, hi // 25 + 1, size=n)
    phase = schools["phase_group"].to_numpy(object).copy()
    # all-through schools can support both primary and secondary schools
    phase = np.where(phase == "all_through", "all_through;primary;secondary", phase)
    return pd.DataFrame(
        {
            "supporter_id": "S" + schools["urn"].astype(str).to_numpy(),
            "urn": schools["urn"].astype(str).to_numpy(),
            "name": schools["name"].to_numpy(),
            "kind": kinds.to_numpy(),
            "phase": phase,
            "la_code": schools["la_code"].to_numpy(),
            "easting": schools["easting"].round(0).to_numpy(),
            "northing": schools["northing"].round(0).to_numpy(),
            "capacity_days": capacity,
            "day_rate_gbp": rate,
            "network": (networks.to_numpy() if networks is not None else ""),
            "district": schools["lad_name"].fillna("").to_numpy(),
        }
    )
