"""``broker scenario leep``: Leicestershire's Local Excellence Networks, school-funded.

Source: Leicestershire County Council, *Ensuring Education Excellence: Development
of Leicestershire Education Excellence Partnership* (2013), and
``models/leep_len.toml`` (see ``docs/programmes.md``).

Supporters
    Leicestershire (LA 855) schools that ``models/leep_len.toml`` finds eligible
    as Local Excellence Network lead schools (leadership grade taken to equal the
    overall grade, which the register holds alone), each in its district's
    network, offering ``network_support`` (a Support Action Plan), 0.5-2.5 days a
    week at £350-£650 a day. And "others": NLEs and LLEs of Leicester City (LA
    856, outside LEEP), designated as in
    :func:`broker.generate.programmes.common.designate`, offering ``coaching``,
    in no LEEP network (``network = "outside LEEP"``).
Clients
    Leicestershire schools graded 3, or inadequate in 2019 with no later grade,
    each in its district's network, needing ``network_support`` for 1-3 terms,
    or coaching from an invited colleague (``mode =
    "network_support;coaching"``).
Networks
    A soft preference (``[defaults] network = "prefer"``): each network may
    "invite colleagues from members of LEEP and others", so a lead school of
    another network, or a leader from outside LEEP, may serve a client at the
    ``outside_network`` penalty (:data:`OUTSIDE_NETWORK_POINTS` points, about
    50 km of travel). The county takes supporters from its own and neighbouring
    LAs (``cross_la = "neighbours"``).
No school isolated
    With ``no_school_isolated`` the scenario sets ``[objective]
    no_school_isolated = true``: level 1 first matches as many schools as
    possible, then priority, so every school that can be reached gets a lead
    school, and every other school a reason.
Funding
    The proposal delegates school-improvement money to schools, so
    ``network_support``, and here ``coaching`` too (``[funders] coaching =
    "school"``), is paid by the school (``funder = "school"``): each
    client's ``budget_gbp`` is :data:`DELEGATED_BASE_GBP` plus
    :data:`DELEGATED_PER_PUPIL_GBP` a pupil (pupils in 2024, else
    :data:`DEFAULT_PUPILS`), rounded to £500. These amounts are assumptions: the
    delegated sums are not published per school.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broker.errors import InputError
from broker.generate.high_need import flag_high_need
from broker.generate.leicestershire import LA_CODE, network_map
from broker.generate.programmes.common import (
    ProgrammeOptions,
    client_needs,
    designate,
    draw_days,
    draw_weeks,
    need_nonempty,
    supporter_expertise,
)
from broker.generate.real import client_table, supporter_table, usable_schools
from broker.scenario import Config, Scenario, Weights, from_frames

OUTSIDE_NETWORK_POINTS = 50.0
DELEGATED_BASE_GBP = 8_000.0
DELEGATED_PER_PUPIL_GBP = 30.0
DEFAULT_PUPILS = 250
OTHERS_LA = "856"
"""Leicester City: a separate LA, not part of LEEP, whose leaders may be invited."""
OTHERS_RATES = {"nle": 0.30, "lle": 0.10}
OUTSIDE = "outside LEEP"


def _lead_schools(la: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    from broker.rules import assess, load_programme

    g = la["ofsted_grade_2024"].to_numpy()
    facts = pd.DataFrame(
        {
            "urn": la["urn"].to_numpy(),
            "lad_name": la["lad_name"].to_numpy(),
            "ofsted_grade": g,
            "leadership_grade": g,
        },
        index=la.index,
    )
    verdict = assess(load_programme("leep_len"), facts)
    leads = la[(verdict["status"].astype(str) == "eligible").to_numpy()]
    need_nonempty(leads, "school eligible to lead a Local Excellence Network")
    nets = leads["lad_name"].map(network_map()).fillna("")
    sup = supporter_table(leads, pd.Series("len_lead", index=leads.index), rng, nets)
    sup["capacity_days"] = rng.choice(np.array([0.5, 1.0, 1.5, 2.0, 2.5]), size=len(sup))
    sup["modes"] = "network_support"
    sup["expertise"] = supporter_expertise(sup["phase"], sup["kind"], rng)
    sup["designation_basis"] = "models/leep_len.toml; assumed: leadership grade = overall grade"
    return sup


def _others(schools: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Leaders from outside LEEP (Leicester City's NLEs and LLEs), coaching only."""
    from broker.generate.national import _supporters

    city = usable_schools(schools[schools["la_code"].astype(str) == OTHERS_LA])
    sup = _supporters(designate(city, OTHERS_RATES, rng), rng)
    sup["network"] = OUTSIDE
    sup["modes"] = "coaching"
    sup["expertise"] = supporter_expertise(sup["phase"], sup["kind"], rng)
    return sup.drop(columns=["region"])


def build(opts: ProgrammeOptions | None = None, schools: pd.DataFrame | None = None) -> Scenario:
    """Build a LEEP round (see the module docstring)."""
    opts = opts or ProgrammeOptions()
    if opts.region or (opts.la_codes and opts.la_codes != (LA_CODE,)):
        raise InputError.one(
            "<arguments>",
            f"LEEP is Leicestershire's partnership; give no --region and at most --la {LA_CODE}",
            column="--region/--la",
            value=opts.region or ",".join(opts.la_codes),
        )
    if schools is None:
        from broker.data import load_schools

        schools = load_schools()
    rng = np.random.default_rng(opts.seed)
    la = usable_schools(schools[schools["la_code"].astype(str) == LA_CODE])
    clients = client_table(la, rng)
    need_nonempty(clients, "school graded 3 or inadequate")
    n = len(clients)
    clients["network"] = clients["district"].map(network_map()).fillna("")
    clients["mode"] = "network_support;coaching"
    clients["need_days"] = draw_days("network_support", n, rng)
    clients["weeks"] = draw_weeks("network_support", n, rng)
    pupils = clients["urn"].map(la.set_index(la["urn"].astype(str))["pupils_2024"])
    pupils = pupils.astype(float).fillna(DEFAULT_PUPILS)
    clients["budget_gbp"] = 500.0 * np.round(
        (DELEGATED_BASE_GBP + DELEGATED_PER_PUPIL_GBP * pupils) / 500.0
    )
    clients["budget_basis"] = (
        f"delegated school-improvement money (assumed £{DELEGATED_BASE_GBP:,.0f} + "
        f"£{DELEGATED_PER_PUPIL_GBP:g} a pupil)"
    )
    clients["needs"] = client_needs(clients, la, rng)
    sup = pd.concat([_lead_schools(la, rng), _others(schools, rng)], ignore_index=True)
    clients = flag_high_need(clients, la, sup)
    authorities = pd.DataFrame(
        [{"la_code": LA_CODE, "name": "Leicestershire", "cross_la": "neighbours"}]
    )
    isolated = " 'No school is isolated' is a level-1 rule." if opts.no_school_isolated else ""
    config = Config(
        name=opts.name
        or f"LEEP Local Excellence Networks (seed {opts.seed}"
        + (", no school isolated)" if opts.no_school_isolated else ")"),
        description=(
            "Leicestershire Education Excellence Partnership, generated by broker (broker "
            f"scenario leep, seed {opts.seed}) from the real register: lead schools support "
            "schools of their own Local Excellence Network; other networks' leads may be "
            "invited at a penalty; schools pay from delegated school-improvement money."
            + isolated
            + " See docs/programmes.md."
        ),
        weeks=39,
        max_distance_km=opts.max_distance_km or 30.0,
        allow_cross_phase=False,
        weights=Weights(outside_network=OUTSIDE_NETWORK_POINTS),
        network_rule="prefer",
        funders={"coaching": "school"},
        no_school_isolated=opts.no_school_isolated,
    )
    return from_frames(config, sup, clients, authorities, label="<leep>")
