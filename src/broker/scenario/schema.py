"""Scenario format v1: names, allowed values and column contracts.

The format is documented for users in ``docs/scenario-format.md``; this module is
the single source of truth the reader validates against.
"""

from __future__ import annotations

from broker import limits

PHASES: tuple[str, ...] = (
    "primary",
    "secondary",
    "special",
    "all_through",
    "alternative_provision",
)
"""Phases of education, in bit order (``1 << PHASES.index(p)``)."""

PHASE_BIT: dict[str, int] = {p: 1 << i for i, p in enumerate(PHASES)}

KINDS: tuple[str, ...] = ("nle", "lle", "achievement_partner", "len_lead", "leading_edge", "other")

CROSS_LA: tuple[str, ...] = ("allow", "prefer_own", "own_only", "neighbours")
"""How an authority treats supporters from other authorities.

``allow``: any authority; ``prefer_own``: any, but others cost a level-2 penalty;
``own_only``: only supporters with the same ``la_code``; ``neighbours``: own or an
adjacent authority (adjacency from ``authorities.csv``'s ``neighbours`` column if
given, else from the bundled ONS boundaries).
"""

SUPPORTERS_REQUIRED = (
    "supporter_id",
    "kind",
    "phase",
    "la_code",
    "capacity_days",
    "day_rate_gbp",
)
SUPPORTERS_OPTIONAL = (
    "name",
    "urn",
    "max_distance_km",
    "cross_phase",
    "network",
    "capacity_by_term",
    "modes",
    "expertise",
)

CLIENTS_REQUIRED = ("client_id", "phase", "la_code", "need_days", "priority")
CLIENTS_OPTIONAL = (
    "urn",
    "name",
    "ofsted_grade",
    "category",
    "budget_gbp",
    "weeks",
    "network",
    "start_term",
    "terms",
    "mode",
    "team_size",
    "second_mode",
    "second_need_days",
    "needs",
    "must",
    "previous_supporter_id",
    "exclude_kinds",
    "high_need",
)

COORDINATE_COLUMNS = (("easting", "northing"), ("latitude", "longitude"))
"""Each row needs one of these pairs; ``easting``/``northing`` win when both are set."""

AUTHORITIES_REQUIRED = ("la_code",)
AUTHORITIES_OPTIONAL = ("cross_la", "budget_gbp", "name", "neighbours")

CONFLICTS_REQUIRED = ("supporter_id", "client_id")
PINNED_REQUIRED = ("client_id", "supporter_id")
PAIR_OPTIONAL = ("role",)
ROLES = ("lead", "second")
"""Roles in a team: every matched client has a lead; a client with ``team_size`` 2
also has a second supporter."""

MAX_TERMS = 12
"""Most terms a planning period may have (four years of three terms)."""

# British National Grid extent of Great Britain (metres) and a WGS84 box around it.
BNG_EASTING = (0.0, 700_000.0)
BNG_NORTHING = (0.0, 1_300_000.0)
GB_LATITUDE = (49.8, 61.0)
GB_LONGITUDE = (-8.7, 2.1)

MAX_DECIMALS_DAYS = limits.NEED_DAYS.decimals
MAX_DECIMALS_GBP = limits.DAY_RATE_GBP.decimals
"""Decimal places accepted (the numeric bounds live in :mod:`broker.limits`)."""
