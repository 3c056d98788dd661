"""``broker scenario leading-together``: Teach First Achievement Partners.

Source: Teach First, *Leading Together* and its eligibility FAQs (see
``models/leading_together.toml``, ``models/modes.toml`` and ``docs/programmes.md``).

Clients
    Primary, secondary and all-through schools that ``models/leading_together.toml``
    finds eligible, or sends to review, with these **proxies** for fields the
    register lacks (written on every client row in ``eligibility_proxies``):

    ``idaci_rate``
        Teach First's school IDACI (share of pupils from income-deprived homes) is
        not published per school; the share of pupils eligible for free school
        meals (census 2023, else GIAS 2024) stands in for it. The bundled IoD 2019
        file has only the rank and decile of the school's own LSOA, not its score.
    ``aea_score``
        Achieving Excellence Area category (1-6) is not in the register; the
        district's sextile (1 = lowest) of the share of its state-funded schools
        below good (graded 3, or inadequate in 2019) stands in for it.
    ``at_risk``
        No risk assessment is published; taken as false, so grade 2 schools go
        to review.
    ``completed_leading_together``
        Past participation is not published; a seeded previous cohort of
        :data:`PREVIOUS_COHORT_SHARE` of the otherwise eligible schools is drawn
        and the rules turn them away ("a school cannot take part twice").

    Schools graded 3 or 4 are eligible (priority 3, 4 if inadequate in 2019, +1
    if their IDACI proxy is 40% or more). Grade 2 is accepted "in certain cases":
    a seeded :data:`GRADE2_SHARE` of the schools in review join at priority 1.
    Every client needs ``achievement_partner`` for two years (six terms), 0.5-1
    day a week; it has no budget of its own: the programme is free to schools.
Supporters
    Achievement Partners are experienced leaders employed by the programme; the
    register has no record of them, so :data:`PARTNERS_PER_CLIENT` of the client
    count are placed, by seeded draw, at good or outstanding schools of the
    selection (where experienced leaders work), each giving 2-4 days a week at
    £400-£600 a day, reaching :data:`REACH_KM` km.
Funding
    ``achievement_partner`` is paid by ``programme:leading_together``; its budget
    (``[budget.funders] leading_together``) is :data:`BUDGET_SHARE` of the cost of
    every client's need at £500 a day. No LA pays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broker.generate.high_need import fsm_share
from broker.generate.programmes.common import (
    WEEKS_PER_TERM,
    ProgrammeOptions,
    client_needs,
    draw_days,
    la_names,
    need_nonempty,
    select_area,
    supporter_expertise,
    where_text,
)
from broker.generate.real import needs_support, usable_schools
from broker.scenario import Config, Scenario, Weights, from_frames

PREVIOUS_COHORT_SHARE = 0.1
GRADE2_SHARE = 0.25
PARTNERS_PER_CLIENT = 0.3
REACH_KM = 40.0
BUDGET_SHARE = 0.8
BUDGET_DAY_RATE_GBP = 500.0
PROXY_NOTE = (
    "proxies: idaci_rate = FSM share (census 2023, else GIAS 2024), not Teach First's "
    "school IDACI; aea_score = district sextile of the share of schools below good; "
    "at_risk assumed false; completed_leading_together drawn (seeded previous cohort)"
)


def aea_proxy(schools: pd.DataFrame) -> pd.Series:
    """Achieving Excellence Area proxy (1-6) per school from its district.

    The district's sextile of the share of its state-funded schools below good
    (graded 3 in 2024, or inadequate in 2019 without a 2024 grade): 6 = the sixth
    of districts with the largest share. Schools without a district take their
    LA's districts' median.
    """
    usable = usable_schools(schools)
    below = (needs_support(usable) != "").astype(float)
    key = usable["lad_name"].fillna("").astype(str)
    share = below.groupby(key).mean()
    share = share[share.index != ""]
    sextile = np.ceil(share.rank(pct=True, method="average") * 6).clip(1, 6).astype(int)
    out = schools["lad_name"].fillna("").astype(str).map(sextile)
    la_median = out.groupby(schools["la_code"]).transform("median")
    return out.fillna(la_median).fillna(3).round().astype(int)


def facts(schools: pd.DataFrame, aea: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """The fields ``models/leading_together.toml`` reads, with the proxies."""
    grade = schools["ofsted_grade_2024"].astype("Float64")
    inadequate = grade.isna() & (schools["ofsted_rating_2019"] == "Inadequate")
    grade = grade.mask(inadequate, 4.0)
    return pd.DataFrame(
        {
            "urn": schools["urn"].to_numpy(),
            "phase_group": schools["phase_group"].to_numpy(),
            "ofsted_grade": grade.to_numpy(),
            "idaci_rate": fsm_share(schools).round(4).to_numpy(),
            "aea_score": aea.to_numpy(),
            "at_risk": False,
            "completed_leading_together": rng.random(len(schools)) < PREVIOUS_COHORT_SHARE,
        },
        index=schools.index,
    )


def _partners(area: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    good = area[area["ofsted_grade_2024"].isin([1, 2]).fillna(False).to_numpy()]
    good = good[good["phase_group"].isin(["primary", "secondary"])]
    need_nonempty(good, "good or outstanding school to place Achievement Partners at")
    at = good.iloc[np.sort(rng.choice(len(good), size=min(n, len(good)), replace=False))]
    k = len(at)
    phase = np.where(at["phase_group"] == "primary", "primary", "secondary")
    # an Achievement Partner works with senior leaders of either phase
    return pd.DataFrame(
        {
            "supporter_id": [f"AP{j + 1:03d}" for j in range(k)],
            "name": [
                f"Achievement Partner {j + 1} (based near {s})" for j, s in enumerate(at["name"])
            ],
            "kind": "achievement_partner",
            "phase": "primary;secondary;all_through",
            "la_code": at["la_code"].to_numpy(),
            "easting": at["easting"].round(0).to_numpy(),
            "northing": at["northing"].round(0).to_numpy(),
            "capacity_days": rng.choice(np.array([2.0, 2.5, 3.0, 3.5, 4.0]), size=k),
            "day_rate_gbp": 25.0 * rng.integers(400 // 25, 600 // 25 + 1, size=k),
            "max_distance_km": REACH_KM,
            "modes": "achievement_partner",
            "expertise": supporter_expertise(phase, ["achievement_partner"] * k, rng),
            "placement": "seeded draw among good or outstanding schools (no register of partners)",
        }
    )


def build(opts: ProgrammeOptions | None = None, schools: pd.DataFrame | None = None) -> Scenario:
    """Build a Leading Together round (see the module docstring)."""
    from broker.generate.high_need import flag_high_need
    from broker.rules import assess, load_programme

    opts = opts or ProgrammeOptions()
    if schools is None:
        from broker.data import load_schools

        schools = load_schools()
    rng = np.random.default_rng(opts.seed)
    aea = aea_proxy(schools)
    area = usable_schools(select_area(schools, opts))
    area_aea = aea.loc[schools["urn"].isin(area["urn"])]
    area_aea.index = schools.loc[area_aea.index, "urn"].to_numpy()
    f = facts(area, area["urn"].map(area_aea), rng)
    verdict = assess(load_programme("leading_together"), f)
    status = verdict["status"].astype(str)
    grade2_in = (status == "review") & (f["ofsted_grade"] == 2).to_numpy()
    chosen = (status == "eligible") | (grade2_in & (rng.random(len(f)) < GRADE2_SHARE))
    sel = area[chosen.to_numpy()].reset_index(drop=True)
    fs = f[chosen.to_numpy()].reset_index(drop=True)
    vs = verdict[chosen.to_numpy()].reset_index(drop=True)
    need_nonempty(sel, "school eligible for Leading Together")
    n = len(sel)
    grade = fs["ofsted_grade"].astype(int).to_numpy()
    priority = np.where(grade == 4, 4, np.where(grade == 3, 3, 1)) + (
        fs["idaci_rate"].to_numpy(float) >= 0.40
    )
    clients = pd.DataFrame(
        {
            "client_id": "C" + sel["urn"].astype(str),
            "urn": sel["urn"].astype(str),
            "name": sel["name"],
            "phase": sel["phase_group"],
            "la_code": sel["la_code"],
            "easting": sel["easting"].round(0),
            "northing": sel["northing"].round(0),
            "need_days": draw_days("achievement_partner", n, rng),
            "priority": priority.astype(int),
            "ofsted_grade": grade.astype(str),
            "category": np.where(grade >= 3, "requires_improvement", "good_in_certain_cases"),
            "weeks": 6 * WEEKS_PER_TERM,
            "mode": "achievement_partner",
            "exclude_kinds": "",
            "district": sel["lad_name"].fillna(""),
            "idaci_rate": fs["idaci_rate"],
            "aea_score": fs["aea_score"],
            "eligibility": [
                f"{s}: {r}" for s, r in zip(vs["status"].astype(str), vs["reason"], strict=True)
            ],
            "eligibility_proxies": PROXY_NOTE,
        }
    )
    clients["needs"] = client_needs(clients, sel, rng)
    partners = _partners(area, max(1, int(round(PARTNERS_PER_CLIENT * n))), rng)
    clients = flag_high_need(clients, area, partners)
    names = la_names()
    authorities = pd.DataFrame(
        [
            {"la_code": c, "name": names.get(c, ""), "cross_la": "allow"}
            for c in sorted(set(clients["la_code"]) | set(partners["la_code"]))
        ]
    )
    budget = (
        BUDGET_SHARE * float((clients["need_days"] * clients["weeks"]).sum()) * BUDGET_DAY_RATE_GBP
    )
    where = where_text(opts)
    previous = int(verdict["failed"].map(lambda t: "not_completed_before" in t).sum())
    config = Config(
        name=opts.name or f"Leading Together round: {where} (seed {opts.seed})",
        description=(
            f"Teach First Leading Together for {where}, generated by broker (broker scenario "
            f"leading-together, seed {opts.seed}) from the real register: {n} schools selected "
            f"by models/leading_together.toml ({previous} turned away as a drawn previous "
            "cohort); free to schools, paid from the programme's budget. "
            + PROXY_NOTE
            + ". See docs/programmes.md."
        ),
        weeks=6 * WEEKS_PER_TERM,
        max_distance_km=opts.max_distance_km or REACH_KM,
        allow_cross_phase=False,
        weights=Weights(),
        funder_budgets_gbp=(
            {"leading_together": 1_000.0 * np.round(budget / 1_000.0)} if opts.budgets else {}
        ),
    )
    return from_frames(config, partners, clients, authorities, label="<leading-together>")
