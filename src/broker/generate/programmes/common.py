"""What the programme generators share: options, selection, modes, tags, register proxies.

Draws are made with one seeded :class:`numpy.random.Generator` per scenario, so
the same options always give the same scenario.

Expertise (``models/modes.toml`` tags)
    A client's ``needs`` come from the register where it can say something: a
    special school, or one with at least :data:`SEN_EHC_SHARE` of pupils with an
    EHC plan, needs ``send``; an FSM share of at least 35% (the high-need
    threshold) needs ``disadvantage``; an inadequate school needs ``leadership``.
    One more tag is drawn from :data:`CLIENT_TAG_SHARES` for its phase. A
    supporter's ``expertise``: a special school has ``send`` and ``behaviour``
    (the NCSL report's example of an NLE with BESD expertise placed in a special
    school); an NLE has ``leadership``; two more tags are drawn from
    :data:`SUPPORTER_TAG_SHARES` for its phase.
Packages
    ``need_days`` is drawn from the mode's ``days_per_week`` range in half days,
    and ``weeks`` from its ``duration_terms`` range at :data:`WEEKS_PER_TERM` weeks
    a term.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from broker.errors import InputError
from broker.rules.modes import load_modes

WEEKS_PER_TERM = 13
"""School weeks in a term (a 39-week school year has three)."""

SEN_EHC_SHARE = 0.05
"""Share of pupils with an EHC plan from which a school is taken to need ``send``."""

CLIENT_TAG_SHARES: dict[str, dict[str, float]] = {
    "primary": {
        "literacy": 0.3,
        "maths": 0.25,
        "early_years": 0.2,
        "curriculum": 0.15,
        "governance": 0.1,
    },
    "secondary": {
        "maths": 0.25,
        "behaviour": 0.2,
        "attendance": 0.2,
        "science": 0.15,
        "curriculum": 0.1,
        "post16": 0.1,
    },
    "other": {"behaviour": 0.4, "attendance": 0.3, "curriculum": 0.2, "governance": 0.1},
}
"""One extra need tag per client, drawn with these shares by phase (``other``:
special, all-through and alternative provision)."""

SUPPORTER_TAG_SHARES: dict[str, dict[str, float]] = {
    "primary": {
        "literacy": 0.25,
        "maths": 0.2,
        "early_years": 0.2,
        "curriculum": 0.15,
        "governance": 0.1,
        "disadvantage": 0.1,
    },
    "secondary": {
        "maths": 0.2,
        "science": 0.15,
        "behaviour": 0.15,
        "attendance": 0.15,
        "curriculum": 0.1,
        "post16": 0.1,
        "disadvantage": 0.15,
    },
    "other": {
        "behaviour": 0.3,
        "attendance": 0.2,
        "curriculum": 0.2,
        "governance": 0.1,
        "disadvantage": 0.2,
    },
}
"""Two expertise tags per supporter, drawn without replacement with these shares."""


@dataclass(frozen=True)
class ProgrammeOptions:
    """Options shared by the programme generators.

    Attributes
    ----------
    seed
        Seed for every random draw.
    region
        ONS region name, or ``None`` for all England (``leep`` is Leicestershire only).
    la_codes
        DfE LA codes to keep; empty for all.
    max_distance_km
        Default reach of a supporter; ``None`` for the programme's own default.
    name
        Scenario name (default made from the programme and selection).
    budgets
        Give funders budgets (LA or programme budgets; schools always have their own).
    no_school_isolated
        ``leep``: make "no school is isolated" a level-1 rule
        (``[objective] no_school_isolated``).
    """

    seed: int = 1
    region: str | None = None
    la_codes: tuple[str, ...] = ()
    max_distance_km: float | None = None
    name: str | None = None
    budgets: bool = True
    no_school_isolated: bool = False


def select_area(schools: pd.DataFrame, opts: ProgrammeOptions) -> pd.DataFrame:
    """Schools of the region and LAs asked for (errors name the bad argument)."""
    from broker.generate.national import NationalOptions, _select

    return _select(schools, NationalOptions(region=opts.region, la_codes=opts.la_codes))


def where_text(opts: ProgrammeOptions) -> str:
    """The selection in words (``England``, a region, or LA codes)."""
    if opts.la_codes:
        return "LA " + ", ".join(opts.la_codes)
    return opts.region or "England"


def need_nonempty(frame: pd.DataFrame, what: str) -> None:
    """Refuse a selection that leaves ``what`` empty."""
    if frame.empty:
        raise InputError.one(
            "<arguments>",
            f"the selection has no {what}; choose a larger area",
            column="--region/--la",
        )


def with_neighbours(la_codes: Sequence[str]) -> set[str]:
    """``la_codes`` and every LA adjacent to one of them (bundled ONS boundaries)."""
    from broker.data import load_la_adjacency

    adj = load_la_adjacency()
    codes = set(la_codes)
    a, b = adj["la_code_a"].astype(str), adj["la_code_b"].astype(str)
    return codes | set(b[a.isin(codes)]) | set(a[b.isin(codes)])


def designate(
    schools: pd.DataFrame, rates: dict[str, float], rng: np.random.Generator
) -> pd.DataFrame:
    """Schools the programme rules find eligible, a seeded share of each designated.

    As :func:`broker.generate.national.designate`: the register has no key
    judgements or headteacher facts, so each key judgement is taken to equal the
    overall grade and the head to be serving. Each school takes at most one
    designation, in the order of ``rates``. Returns the designated schools with
    ``kind`` and ``designation_basis``.
    """
    from broker.rules import assess, load_programme

    g = schools["ofsted_grade_2024"].to_numpy()
    facts = pd.DataFrame(
        {
            "urn": schools["urn"].to_numpy(),
            "phase_group": schools["phase_group"].to_numpy(),
            "ofsted_grade": g,
            "leadership_grade": g,
            "quality_grade": g,
            "behaviour_grade": g,
            "personal_grade": g,
            "is_serving_head": True,
        }
    )
    kind = pd.Series("", index=schools.index, dtype=object)
    for programme, rate in rates.items():
        verdict = assess(load_programme(programme), facts)
        eligible = (verdict["status"].astype(str) == "eligible").to_numpy() & (kind == "")
        kind[eligible & (rng.random(len(schools)) < rate)] = programme
    out = schools.assign(kind=kind)
    out = out[out["kind"] != ""].copy()
    out["designation_basis"] = (
        out["kind"] + " rules (models/" + out["kind"] + ".toml); "
        "assumed: key judgements = overall grade, serving head"
    )
    return out


def draw_days(mode: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Days per week for ``n`` packages of ``mode``: its range, in half days."""
    lo, hi = load_modes().modes[mode].days_per_week
    steps = np.arange(np.ceil(lo * 2), np.floor(hi * 2) + 1) / 2.0
    return rng.choice(steps, size=n) if n else np.zeros(0)


def draw_weeks(mode: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Contract weeks for ``n`` packages of ``mode``: its duration in terms x 13."""
    lo, hi = load_modes().modes[mode].duration_terms
    return WEEKS_PER_TERM * rng.integers(lo, hi + 1, size=n) if n else np.zeros(0, np.int64)


def _phase_key(phase: str) -> str:
    return phase if phase in ("primary", "secondary") else "other"


def client_needs(
    clients: pd.DataFrame, schools: pd.DataFrame, rng: np.random.Generator
) -> list[str]:
    """``needs`` tags (``;``-separated) per client (see the module docstring)."""
    from broker.generate.high_need import THRESHOLDS, fsm_share

    by_urn = schools.drop_duplicates("urn").set_index(schools["urn"].astype(str))
    urn = clients["urn"].astype(str)
    ehc = urn.map(by_urn["sen_ehc_pct_2024"].astype(float) / 100.0).to_numpy(float)
    fsm = urn.map(fsm_share(by_urn)).to_numpy(float)
    out = []
    for k, (phase, category) in enumerate(
        zip(clients["phase"], clients.get("category", [""] * len(clients)), strict=True)
    ):
        tags = []
        if phase == "special" or np.nan_to_num(ehc[k]) >= SEN_EHC_SHARE:
            tags.append("send")
        if np.nan_to_num(fsm[k]) >= THRESHOLDS.fsm_share:
            tags.append("disadvantage")
        if category == "inadequate":
            tags.append("leadership")
        shares = CLIENT_TAG_SHARES[_phase_key(str(phase))]
        extra = str(rng.choice(list(shares), p=list(shares.values())))
        if extra not in tags:
            tags.append(extra)
        out.append(";".join(tags))
    return out


def supporter_expertise(
    phases: Iterable[str], kinds: Iterable[str], rng: np.random.Generator
) -> list[str]:
    """``expertise`` tags (``;``-separated) per supporter (see the module docstring)."""
    out = []
    for phase, kind in zip(phases, kinds, strict=True):
        main = str(phase).split(";")[0]
        tags = ["send", "behaviour"] if main == "special" else []
        if kind == "nle":
            tags.append("leadership")
        shares = SUPPORTER_TAG_SHARES[_phase_key(main)]
        drawn = rng.choice(list(shares), size=2, replace=False, p=list(shares.values()))
        tags += [str(t) for t in drawn if str(t) not in tags]
        out.append(";".join(tags))
    return out


def la_names() -> dict[str, str]:
    """DfE LA code -> LA name (GIAS spelling)."""
    from broker.data import load_authorities

    return load_authorities().set_index("la_code")["la_name_gias"].astype(str).to_dict()
