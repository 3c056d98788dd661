"""``broker scenario nle``: National and Local Leaders of Education, LA-commissioned.

Source: R. Hill and P. Matthews, *Schools leading schools II: the growing impact of
National Leaders of Education* (NCSL, 2010), and the NCSL NLE/NSS FAQs (see
``models/modes.toml`` and ``docs/programmes.md``).

Supporters
    Schools of the selected LAs **and their neighbouring LAs** (deployments are
    commissioned across LA borders), designated by ``models/nle.toml`` and
    ``models/lle.toml`` as in :func:`broker.generate.programmes.common.designate`
    (:data:`DESIGNATION_RATES` of the eligible schools). An NLE offers
    ``executive_headship``, ``nss_deployment`` (the National Support School's
    staff) and ``coaching``; an LLE offers ``coaching`` only: local leaders coach
    and mentor "rather than a significant leadership role" and need no National
    Support School. Day rates: NLE £500-£1,400, LLE £350-£500.
Clients
    Schools of the selected LAs graded 3, or judged inadequate with no later grade
    (:mod:`broker.generate.real`). A school in difficulty (inadequate, or graded 3
    after being below good in 2019 too: the register drops grade 4, and only 3
    usable schools were inadequate in 2019 with no 2024 grade) needs executive headship
    or, failing that, an NSS deployment ("a concentrated injection rather than a
    drip feed"); :data:`TEAM_SHARE` of them need "a team led by two
    headteachers": a lead and a second head coaching (0.5-1 day). A school graded
    3 needs coaching (:data:`COACHING_SHARE`, from an NLE or LLE) or an NSS
    deployment (from an NLE only). Days and weeks are drawn from the mode's ranges.
Funding and authorities
    Every mode is paid by the client's LA (``funder = "authority"``); each LA
    with clients has a budget of 70% of the cost of its clients' needs at £550 a
    day. Each LA commissions from its own or a neighbouring LA (``cross_la =
    "neighbours"``) with probability :data:`NEIGHBOURS_SHARE`, else from its own
    only (``own_only``). The report found about a third of deployments
    commissioned across LA borders; with every LA open to its neighbours broker
    sends 60-70% across borders (supply in neighbouring LAs is plentiful and often
    cheaper), and with half of them open about 30%, as in the report
    (``docs/programmes.md`` gives the measured shares).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from broker.generate.high_need import flag_high_need
from broker.generate.national import _supporters
from broker.generate.programmes.common import (
    ProgrammeOptions,
    client_needs,
    designate,
    draw_days,
    draw_weeks,
    la_names,
    need_nonempty,
    select_area,
    supporter_expertise,
    where_text,
    with_neighbours,
)
from broker.generate.real import client_table, usable_schools
from broker.scenario import Config, Scenario, Weights, from_frames

DESIGNATION_RATES = {"nle": 0.30, "lle": 0.10}
"""Share of eligible schools designated: 716 NLEs and 1,563 LLEs in England (seed 1)."""

TEAM_SHARE = 0.15
"""Share of schools in difficulty that need a team of two headteachers."""

COACHING_SHARE = 0.6
"""Share of schools graded 3 whose package is coaching (the rest: an NSS deployment)."""

NEIGHBOURS_SHARE = 0.5
"""Share of LAs that commission from neighbouring LAs as well as their own."""

BUDGET_SHARE = 0.7
BUDGET_DAY_RATE_GBP = 550.0

NLE_MODES = "executive_headship;nss_deployment;coaching"
LLE_MODES = "coaching"


def _clients(schools: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    c = client_table(schools, rng)
    n = len(c)
    by_urn = schools.set_index(schools["urn"].astype(str))["ofsted_rating_2019"]
    before = c["urn"].map(by_urn).isin(["Requires Improvement", "Inadequate"]).to_numpy()
    inadequate = (c["category"] == "inadequate").to_numpy() | before
    coaching = ~inadequate & (rng.random(n) < COACHING_SHARE)
    first = np.where(
        inadequate, "executive_headship", np.where(coaching, "coaching", "nss_deployment")
    )
    c["mode"] = np.where(
        inadequate,
        "executive_headship;nss_deployment",
        np.where(coaching, "coaching", "nss_deployment"),
    )
    need = np.zeros(n)
    weeks = np.zeros(n, dtype=np.int64)
    for m in ("executive_headship", "nss_deployment", "coaching"):
        on = first == m
        need[on] = draw_days(m, int(on.sum()), rng)
        weeks[on] = draw_weeks(m, int(on.sum()), rng)
    c["need_days"] = need
    c["weeks"] = weeks
    team = inadequate & (rng.random(n) < TEAM_SHARE)
    c["team_size"] = np.where(team, 2, 1)
    c["second_mode"] = np.where(team, "coaching", "")
    c["second_need_days"] = np.where(team, draw_days("coaching", n, rng), np.nan)
    c["needs"] = client_needs(c, schools, rng)
    return c


def _authorities(
    clients: pd.DataFrame, supporters: pd.DataFrame, budgets: bool, rng: np.random.Generator
) -> pd.DataFrame:
    names = la_names()
    cost = clients["need_days"] * clients["weeks"] * BUDGET_DAY_RATE_GBP
    cost += clients["second_need_days"].fillna(0) * clients["weeks"] * BUDGET_DAY_RATE_GBP
    demand = cost.groupby(clients["la_code"]).sum()
    rows = []
    codes = sorted(set(clients["la_code"]) | set(supporters["la_code"]))
    open_ = rng.random(len(codes)) < NEIGHBOURS_SHARE
    for code, neighbours in zip(codes, open_, strict=True):
        budget = (
            5_000.0 * np.round(BUDGET_SHARE * demand[code] / 5_000.0)
            if budgets and code in demand.index
            else None
        )
        rows.append(
            {
                "la_code": code,
                "name": names.get(code, ""),
                "cross_la": "neighbours" if neighbours else "own_only",
                "budget_gbp": budget,
            }
        )
    return pd.DataFrame(rows)


def build(opts: ProgrammeOptions | None = None, schools: pd.DataFrame | None = None) -> Scenario:
    """Build an NLE/LLE round (see the module docstring)."""
    opts = opts or ProgrammeOptions()
    if schools is None:
        from broker.data import load_schools

        schools = load_schools()
    rng = np.random.default_rng(opts.seed)
    area = usable_schools(select_area(schools, opts))
    need_nonempty(area, "state-funded schools with coordinates")
    if opts.region or opts.la_codes:
        codes = with_neighbours(sorted(set(area["la_code"].astype(str))))
        pool = usable_schools(schools[schools["la_code"].astype(str).isin(codes)])
    else:
        pool = usable_schools(schools)
    clients = _clients(area, rng)
    need_nonempty(clients, "school graded 3 or inadequate")
    designated = designate(pool, DESIGNATION_RATES, rng)
    need_nonempty(designated, "school the NLE or LLE rules designate")
    sup = _supporters(designated, rng)
    sup["modes"] = np.where(sup["kind"] == "nle", NLE_MODES, LLE_MODES)
    sup["expertise"] = supporter_expertise(sup["phase"], sup["kind"], rng)
    clients = flag_high_need(clients, pool, sup)
    authorities = _authorities(clients, sup, opts.budgets, rng)
    where = where_text(opts)
    config = Config(
        name=opts.name or f"NLE and LLE round: {where} (seed {opts.seed})",
        description=(
            f"National and Local Leaders of Education for {where}, generated by broker "
            f"(broker scenario nle, seed {opts.seed}) from the real register. LLEs only coach; "
            "NLEs give executive headship, National Support School deployments or coaching. "
            "Commissioned and paid by the client's LA, from its own LA or (half of the LAs) "
            "a neighbouring one "
            "(NCSL, Schools leading schools II, 2010). See docs/programmes.md."
        ),
        weeks=39,
        max_distance_km=opts.max_distance_km or 30.0,
        allow_cross_phase=False,
        weights=Weights(),
    )
    return from_frames(config, sup, clients, authorities, label="<nle>")
