"""``broker scenario leading-edge``: peer partnerships between Leading Edge members.

Source: SSAT, *Leading Edge network 2018-19 FAQs* (see ``models/leading_edge.toml``,
``models/modes.toml`` and ``docs/programmes.md``).

Members
    Secondary and all-through schools of the selection that
    ``models/leading_edge.toml`` admits: grade 1 (eligible; all-through schools go
    to review and are admitted here). A grade 2 school joins only with Progress 8
    at or above the 75th percentile, which the register does not hold; a seeded
    :data:`GRADE2_SHARE` of grade 2 schools stands in for them (**proxy**, stated
    on each row in ``membership_basis``). Of the qualifying schools,
    :data:`MEMBER_SHARE` are members (seeded).
Partnerships
    Each member either offers a partnership (a supporter of kind
    ``leading_edge``, offering ``peer_partnership``; :data:`OFFER_SHARE` of grade
    1 members, a fifth of the rest) or seeks one (a client). A seeking member
    names one focus it must find (``must``), drawn from its phase's needs, plus
    the tags the register gives it (``needs``); a partner must have the focus.
    Priority: 1, +1 for a grade 2 member, +1 for a high-need school.
Funding
    Membership and partnerships are paid by schools and do not involve the LA:
    ``peer_partnership`` is paid by the client school (``funder = "school"``)
    from its own ``budget_gbp``, drawn from :data:`SCHOOL_BUDGET_GBP` in £500
    steps. No LA has a budget; every LA allows partners from anywhere
    (``cross_la = "allow"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broker.errors import InputError
from broker.generate.high_need import flag_high_need
from broker.generate.national import DAY_RATES_GBP
from broker.generate.programmes.common import (
    CLIENT_TAG_SHARES,
    ProgrammeOptions,
    client_needs,
    draw_days,
    draw_weeks,
    la_names,
    need_nonempty,
    select_area,
    supporter_expertise,
    where_text,
)
from broker.generate.real import usable_schools
from broker.scenario import Config, Scenario, Weights, from_frames

GRADE2_SHARE = 0.15
MEMBER_SHARE = 0.5
OFFER_SHARE = 0.6
SCHOOL_BUDGET_GBP = (10_000, 25_000)
REACH_KM = 50.0


def members(schools: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Member schools with ``membership_basis`` (see the module docstring)."""
    from broker.rules import assess, load_programme

    facts = pd.DataFrame(
        {
            "urn": schools["urn"].to_numpy(),
            "phase_group": schools["phase_group"].to_numpy(),
            "ofsted_grade": schools["ofsted_grade_2024"].to_numpy(),
        },
        index=schools.index,
    )
    verdict = assess(load_programme("leading_edge"), facts)
    status = verdict["status"].astype(str).to_numpy()
    grade = schools["ofsted_grade_2024"].to_numpy(dtype=float, na_value=np.nan)
    secondary = schools["phase_group"].isin(["secondary", "all_through"]).to_numpy()
    p8_proxy = secondary & (grade == 2) & (rng.random(len(schools)) < GRADE2_SHARE)
    qualifies = np.isin(status, ["eligible", "review"]) | p8_proxy
    chosen = qualifies & (rng.random(len(schools)) < MEMBER_SHARE)
    out = schools[chosen].copy()
    out["membership_basis"] = np.where(
        p8_proxy[chosen],
        "grade 2: Progress 8 >= 75th percentile not in the register; seeded proxy draw",
        "models/leading_edge.toml: " + status[chosen],
    )
    return out


def build(opts: ProgrammeOptions | None = None, schools: pd.DataFrame | None = None) -> Scenario:
    """Build a Leading Edge round (see the module docstring)."""
    opts = opts or ProgrammeOptions()
    if schools is None:
        from broker.data import load_schools

        schools = load_schools()
    rng = np.random.default_rng(opts.seed)
    area = usable_schools(select_area(schools, opts))
    m = members(area, rng).reset_index(drop=True)
    need_nonempty(m, "Leading Edge member school")
    grade = m["ofsted_grade_2024"].to_numpy(dtype=float, na_value=np.nan)
    if len(m) < 2:
        raise InputError.one(
            "<arguments>",
            "the selection has fewer than two Leading Edge member schools, so no partnership; "
            "choose a larger area",
            column="--region/--la",
        )
    offers = rng.random(len(m)) < np.where(grade == 1, OFFER_SHARE, 0.2)
    if not offers.any():  # a partnership needs a member on each side
        offers[0] = True
    if offers.all():
        offers[-1] = False
    sup_rows, cli_rows = m[offers], m[~offers].reset_index(drop=True)
    need_nonempty(cli_rows, "member school seeking a partnership")
    lo, hi = DAY_RATES_GBP["leading_edge"]
    k = len(sup_rows)
    phase = np.where(sup_rows["phase_group"] == "all_through", "all_through;secondary", "secondary")
    sup = pd.DataFrame(
        {
            "supporter_id": "S" + sup_rows["urn"].astype(str).to_numpy(),
            "urn": sup_rows["urn"].astype(str).to_numpy(),
            "name": sup_rows["name"].to_numpy(),
            "kind": "leading_edge",
            "phase": phase,
            "la_code": sup_rows["la_code"].to_numpy(),
            "easting": sup_rows["easting"].round(0).to_numpy(),
            "northing": sup_rows["northing"].round(0).to_numpy(),
            "capacity_days": rng.choice(np.array([0.5, 1.0, 1.5, 2.0]), size=k),
            "day_rate_gbp": 25.0 * rng.integers(lo // 25, hi // 25 + 1, size=k),
            "max_distance_km": REACH_KM,
            "modes": "peer_partnership",
            "membership_basis": sup_rows["membership_basis"].to_numpy(),
        }
    )
    sup["expertise"] = supporter_expertise(phase, sup["kind"], rng)
    n = len(cli_rows)
    shares = CLIENT_TAG_SHARES["secondary"]
    focus = rng.choice(list(shares), size=n, p=list(shares.values()))
    cgrade = cli_rows["ofsted_grade_2024"].to_numpy(dtype=float, na_value=np.nan)
    clients = pd.DataFrame(
        {
            "client_id": "C" + cli_rows["urn"].astype(str),
            "urn": cli_rows["urn"].astype(str),
            "name": cli_rows["name"],
            "phase": cli_rows["phase_group"],
            "la_code": cli_rows["la_code"],
            "easting": cli_rows["easting"].round(0),
            "northing": cli_rows["northing"].round(0),
            "need_days": draw_days("peer_partnership", n, rng),
            "weeks": draw_weeks("peer_partnership", n, rng),
            "ofsted_grade": [str(int(g)) for g in cgrade],
            "category": "member",
            "mode": "peer_partnership",
            "must": focus,
            "budget_gbp": 500.0
            * rng.integers(SCHOOL_BUDGET_GBP[0] // 500, SCHOOL_BUDGET_GBP[1] // 500 + 1, size=n),
            "membership_basis": cli_rows["membership_basis"],
        }
    )
    extra = client_needs(clients, cli_rows, rng)
    clients["needs"] = [
        ";".join(dict.fromkeys([f, *[t for t in e.split(";") if t]]))
        for f, e in zip(focus, extra, strict=True)
    ]
    clients = flag_high_need(clients, area, sup)
    clients["priority"] = 1 + (cgrade == 2) + clients["high_need"].to_numpy(bool)
    names = la_names()
    authorities = pd.DataFrame(
        [
            {"la_code": c, "name": names.get(c, ""), "cross_la": "allow"}
            for c in sorted(set(clients["la_code"]) | set(sup["la_code"]))
        ]
    )
    where = where_text(opts)
    config = Config(
        name=opts.name or f"Leading Edge peer partnerships: {where} (seed {opts.seed})",
        description=(
            f"SSAT Leading Edge member schools in {where}, generated by broker (broker scenario "
            f"leading-edge, seed {opts.seed}) from the real register: members offering a peer "
            "partnership are matched with members seeking one in a given focus; schools pay, "
            "the LA is not involved. See docs/programmes.md."
        ),
        weeks=39,
        max_distance_km=opts.max_distance_km or REACH_KM,
        allow_cross_phase=False,
        weights=Weights(),
    )
    return from_frames(config, sup, clients, authorities, label="<leading-edge>")
