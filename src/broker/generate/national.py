"""Scenarios of any size from the real register: England, a region, or some LAs.

``broker scenario england [--region R] [--la CODE ...] --seed N --out DIR``.

Clients
    State-funded schools needing support (see :mod:`broker.generate.real`), with
    priorities by category and deprivation.
Supporters
    Designated by the programme rules in ``models/`` (:mod:`broker.rules`), applied
    to the register. The register holds no Ofsted sub-judgements, no Progress 8
    and nothing about the head, so the generator states its assumptions and applies
    them before the rules: **each key judgement equals the overall grade** and
    **the head is serving**. Progress 8 stays unknown, so only grade-1 secondary
    schools qualify as Leading Edge. Each school takes at most one designation, in
    the order NLE, Leading Edge, LLE. Of the eligible schools, a seeded share is
    designated (:data:`DESIGNATION_RATES`): about 1,000 supporters nationally, as
    in the programmes at their peak.
Packages
    Requires-improvement schools get consultancy: 0.5-1.5 days a week for 20 or
    39 weeks. Inadequate schools get executive or associate headship: 1.5-2.5 days
    a week for 78 or 117 weeks (two or three years). Day rates by kind: NLE
    £500-£1,400, Leading Edge £400-£650, LLE £350-£500. Packages so run from about
    £3,500 to £410,000, the programmes' range.
High need
    Each client is flagged ``high_need`` from FSM share, IDACI decile and
    distance to the nearest supporter (:mod:`broker.generate.high_need`), for
    ``[objective] high_need_weight`` and the high-need share metric.
Authorities
    Each LA's rule is drawn (allow 55%, prefer_own 25%, neighbours 15%, own_only
    5%). With budgets (the default), each LA's budget is 70% of the cost of its
    clients' needs at a £550 day rate, rounded to £5,000, so budgets bind in
    places, as they do.
Scale
    ``scale`` > 1 adds jittered copies of every school (new ids, points moved by a
    normal offset of 2 km per axis, kept inside Great Britain's grid), so
    benchmark sizes go beyond England while keeping its geography.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from broker.errors import InputError
from broker.generate.high_need import flag_high_need
from broker.generate.real import client_table, needs_support, usable_schools
from broker.scenario import Config, Scenario, Weights, from_frames

DESIGNATION_RATES: dict[str, float] = {"nle": 0.30, "leading_edge": 0.25, "lle": 0.015}
"""Share of eligible schools designated, by programme (seeded draw)."""

DAY_RATES_GBP: dict[str, tuple[int, int]] = {
    "nle": (500, 1400),
    "leading_edge": (400, 650),
    "lle": (350, 500),
}

CROSS_LA_SHARES = {"allow": 0.55, "prefer_own": 0.25, "neighbours": 0.15, "own_only": 0.05}
BUDGET_SHARE = 0.7
BUDGET_DAY_RATE_GBP = 550.0
JITTER_M = 2_000.0


@dataclass(frozen=True)
class NationalOptions:
    """Options of :func:`build`.

    Attributes
    ----------
    seed
        Seed for every random draw.
    region
        ONS region name (e.g. ``"North West"``); ``None`` for all.
    la_codes
        DfE LA codes to keep; empty for all.
    scale
        Population multiplier (>= 1; fractional parts add that share of copies).
    budgets
        Give each LA a budget.
    max_distance_km
        Default reach.
    name
        Scenario name (default made from the selection).
    """

    seed: int = 1
    region: str | None = None
    la_codes: tuple[str, ...] = ()
    scale: float = 1.0
    budgets: bool = True
    max_distance_km: float = 30.0
    name: str | None = None


def _select(schools: pd.DataFrame, opts: NationalOptions) -> pd.DataFrame:
    s = schools
    if opts.region:
        regions = sorted(s["region"].dropna().unique())
        if opts.region not in regions:
            raise InputError.one(
                "<arguments>",
                f"unknown region; expected one of {', '.join(regions)}",
                column="--region",
                value=opts.region,
            )
        s = s[s["region"] == opts.region]
    if opts.la_codes:
        known = set(schools["la_code"])
        bad = [c for c in opts.la_codes if c not in known]
        if bad:
            raise InputError.one(
                "<arguments>",
                "unknown DfE LA code(s); see broker.data.load_authorities()",
                column="--la",
                value=",".join(bad),
            )
        s = s[s["la_code"].isin(opts.la_codes)]
    return s


def scale_schools(schools: pd.DataFrame, scale: float, rng: np.random.Generator) -> pd.DataFrame:
    """Add jittered copies of schools so the population is ``scale`` times larger."""
    if scale < 1:
        raise InputError.one(
            "<arguments>", "expected a scale of 1 or more", column="--scale", value=scale
        )
    whole, frac = int(np.floor(scale)), scale - np.floor(scale)
    parts = [schools]
    for copy in range(1, whole + (1 if frac > 0 else 0)):
        part = schools if copy < whole else schools.sample(frac=frac, random_state=rng)
        c = part.copy()
        c["urn"] = c["urn"].astype(np.int64) + copy * 10_000_000
        c["easting"] = np.clip(c["easting"] + rng.normal(0, JITTER_M, len(c)), 1, 699_999)
        c["northing"] = np.clip(c["northing"] + rng.normal(0, JITTER_M, len(c)), 1, 1_299_999)
        parts.append(c)
    return pd.concat(parts, ignore_index=True)


def designate(schools: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Designate supporters with the programme rules; returns schools with a ``kind``.

    Adds ``designation_basis``: the programme and the assumptions applied.
    """
    from broker.rules import assess, load_programme

    facts = pd.DataFrame(
        {
            "urn": schools["urn"].to_numpy(),
            "phase_group": schools["phase_group"].to_numpy(),
            "ofsted_grade": schools["ofsted_grade_2024"].to_numpy(),
            # assumption: key judgements equal the overall grade; the head is serving
            "leadership_grade": schools["ofsted_grade_2024"].to_numpy(),
            "quality_grade": schools["ofsted_grade_2024"].to_numpy(),
            "behaviour_grade": schools["ofsted_grade_2024"].to_numpy(),
            "personal_grade": schools["ofsted_grade_2024"].to_numpy(),
            "is_serving_head": True,
        }
    )
    kind = pd.Series("", index=schools.index, dtype=object)
    for programme in ("nle", "leading_edge", "lle"):
        verdict = assess(load_programme(programme), facts)
        eligible = (verdict["status"].astype(str) == "eligible").to_numpy() & (kind == "")
        chosen = eligible & (rng.random(len(schools)) < DESIGNATION_RATES[programme])
        kind[chosen] = programme
    out = schools.assign(kind=kind)
    out = out[out["kind"] != ""].copy()
    out["designation_basis"] = (
        out["kind"] + " rules (models/" + out["kind"] + ".toml); "
        "assumed: key judgements = overall grade, serving head"
    )
    return out


def _supporters(designated: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    n = len(designated)
    kind = designated["kind"].to_numpy()
    lo = np.array([DAY_RATES_GBP[k][0] for k in kind])
    hi = np.array([DAY_RATES_GBP[k][1] for k in kind])
    rate = 25.0 * np.floor((lo + rng.random(n) * (hi - lo)) / 25.0)
    capacity = rng.choice(np.array([1.0, 1.5, 2.0, 2.5]), size=n)
    phase = designated["phase_group"].to_numpy(object)
    phase = np.where(phase == "all_through", "all_through;primary;secondary", phase)
    # NLEs of special schools commonly support across phases; flag them so.
    cross = (designated["phase_group"].to_numpy() == "special") & (kind == "nle")
    return pd.DataFrame(
        {
            "supporter_id": "S" + designated["urn"].astype(str).to_numpy(),
            "urn": designated["urn"].astype(str).to_numpy(),
            "name": designated["name"].to_numpy(),
            "kind": kind,
            "phase": phase,
            "la_code": designated["la_code"].to_numpy(),
            "easting": designated["easting"].round(0).to_numpy(),
            "northing": designated["northing"].round(0).to_numpy(),
            "capacity_days": capacity,
            "day_rate_gbp": rate,
            "cross_phase": cross,
            "region": designated["region"].to_numpy(),
            "designation_basis": designated["designation_basis"].to_numpy(),
        }
    )


def _clients(schools: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    c = client_table(schools, rng)
    inadequate = (c["category"] == "inadequate").to_numpy()
    weeks = np.where(
        inadequate, rng.choice([78, 117], size=len(c)), rng.choice([20, 39], size=len(c))
    )
    c["weeks"] = weeks
    region = schools.set_index(schools["urn"].astype(str))["region"]
    c["region"] = c["urn"].map(region).to_numpy()
    return c


def _authorities(
    clients: pd.DataFrame, supporters: pd.DataFrame, rng: np.random.Generator, budgets: bool
) -> pd.DataFrame:
    from broker.data import load_authorities

    names = load_authorities().set_index("la_code")["la_name_gias"].to_dict()
    codes = sorted(set(clients["la_code"]) | set(supporters["la_code"]))
    rules = list(CROSS_LA_SHARES)
    draw = rng.choice(len(rules), size=len(codes), p=list(CROSS_LA_SHARES.values()))
    demand = (
        (clients["need_days"] * clients["weeks"] * BUDGET_DAY_RATE_GBP)
        .groupby(clients["la_code"])
        .sum()
    )
    rows = []
    for code, r in zip(codes, draw, strict=True):
        budget = (
            5_000.0 * np.round(BUDGET_SHARE * demand.get(code, 0.0) / 5_000.0)
            if budgets and code in demand.index
            else None
        )
        rows.append(
            {
                "la_code": code,
                "name": names.get(code, ""),
                "cross_la": rules[r],
                "budget_gbp": budget,
            }
        )
    return pd.DataFrame(rows)


def _check_scale(base: pd.DataFrame, scale: float) -> None:
    """Refuse a ``--scale`` whose clients would exceed broker's limits, before copying.

    Copies keep their school's grades, so the selection's schools that need support,
    times ``scale``, is the number of clients the scaled scenario would have.
    """
    from broker.limits import MAX_CLIENTS

    needing = int((needs_support(base) != "").sum())
    if scale == 1 or needing == 0 or needing * scale <= MAX_CLIENTS:
        return
    raise InputError.one(
        "<arguments>",
        f"would give about {needing * scale:,.0f} clients ({needing:,} schools in the "
        f"selection need support, times {scale:g}); broker's numeric limits are derived for "
        f"at most {MAX_CLIENTS:,} (see 'Limits and safety' in the README); expected a scale "
        f"of at most {MAX_CLIENTS / needing:.4g} for this selection",
        column="--scale",
        value=scale,
    )


def build(options: NationalOptions | None = None, schools: pd.DataFrame | None = None) -> Scenario:
    """Build a scenario from the real register (see the module docstring)."""
    opts = options or NationalOptions()
    if schools is None:
        from broker.data import load_schools

        schools = load_schools()
    rng = np.random.default_rng(opts.seed)
    base = usable_schools(_select(schools, opts))
    if base.empty:
        raise InputError.one(
            "<arguments>",
            "no state-funded schools with coordinates in the selection",
            column="--region/--la",
        )
    _check_scale(base, opts.scale)
    pool = scale_schools(base, opts.scale, rng) if opts.scale != 1 else base
    clients = _clients(pool, rng)
    supporters = _supporters(designate(pool, rng), rng)
    if supporters.empty:
        raise InputError.one(
            "<arguments>",
            "the selection has no school the programme rules designate as a supporter",
            column="--region/--la",
        )
    clients = flag_high_need(clients, pool, supporters)
    authorities = _authorities(clients, supporters, rng, opts.budgets)
    where = (
        opts.region or (", ".join(opts.la_codes) and f"LA {', '.join(opts.la_codes)}") or "England"
    )
    name = (
        opts.name
        or f"{where} (seed {opts.seed}"
        + (f", scale {opts.scale:g}" if opts.scale != 1 else "")
        + ")"
    )
    config = Config(
        name=name,
        description=(
            f"Generated by broker from the real school register: {where}; "
            f"{'with' if opts.budgets else 'without'} LA budgets; seed {opts.seed}; "
            f"scale {opts.scale:g}. Clients are schools graded 3 or judged inadequate; "
            "supporters are designated by the programme rules in models/ assuming key "
            "judgements equal the overall grade. Needs, capacities and day rates are "
            "drawn from documented ranges (broker.generate.national)."
        ),
        weeks=39,
        max_distance_km=opts.max_distance_km,
        allow_cross_phase=False,
        weights=Weights(),
    )
    return from_frames(config, supporters, clients, authorities, label="<generated>")
