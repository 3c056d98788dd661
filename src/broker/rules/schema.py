"""Frozen, validated representation of programme rule files.

Everything here is plain data built by :mod:`broker.rules.loader` from the TOML files in
``models/``; nothing in this module reads files or evaluates rules. The TOML schema is
documented in ``models/README.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

__all__ = [
    "CLOSED",
    "FIELD_TYPES",
    "NUMERIC_TOLERANCE",
    "ON_FAIL",
    "OPS",
    "Condition",
    "Criterion",
    "Derivation",
    "FieldSpec",
    "Group",
    "OnFail",
    "Partial",
    "Programme",
    "Role",
    "Source",
    "Status",
    "Terms",
    "Test",
    "normalise_text",
]


class Status(StrEnum):
    """Outcome of assessing one school against one programme."""

    ELIGIBLE = "eligible"
    REVIEW = "review"
    NOT_ELIGIBLE = "not_eligible"
    UNKNOWN = "unknown"


class Role(StrEnum):
    """What a programme designates: schools that give support, or schools that receive it."""

    SUPPORTER = "supporter"
    CLIENT = "client"


class OnFail(StrEnum):
    """What a definite failure of a criterion does to the school's status."""

    REJECT = "reject"
    REVIEW = "review"


#: Comparison operators a test may use.
OPS: tuple[str, ...] = ("eq", "ne", "in", "not_in", "ge", "gt", "le", "lt", "between")
#: Types an input field may have (``models/fields.toml``).
FIELD_TYPES: tuple[str, ...] = ("integer", "number", "boolean", "category", "text")
#: Values of ``on_fail``.
ON_FAIL: tuple[str, ...] = tuple(m.value for m in OnFail)
#: Values of ``closed`` for ``op = "between"``; ``"left"`` (lo <= x < hi) is the default.
CLOSED: tuple[str, ...] = ("left", "right", "both", "neither")
#: Absolute tolerance of numeric comparisons, so that 0.4 computed as 0.39999999999999997
#: still counts as 40%. Far below any meaningful difference in grades, rates or percentiles.
NUMERIC_TOLERANCE = 1e-9


def normalise_text(value: object) -> str:
    """Key used to compare free text: case-folded, ``&`` read as ``and``, spaces collapsed."""
    return " ".join(str(value).replace("&", " and ").split()).casefold()


def normalise_category(value: object) -> str:
    """Key used to compare category codes: lower case, spaces and hyphens become ``_``."""
    return "_".join(str(value).strip().casefold().replace("-", " ").split())


@dataclass(frozen=True)
class Partial:
    """A weaker stand-in for a field, named in the reason when the field itself is missing.

    Example: ``idaci_rate`` missing but ``idaci_decile`` present gives
    "IDACI rate unknown (only the decile is known)".
    """

    field: str
    note: str


@dataclass(frozen=True)
class FieldSpec:
    """One input column the rules may test (declared in ``models/fields.toml``).

    Parameters
    ----------
    name
        Column name in the schools table.
    label
        Words used in reasons, e.g. ``"Ofsted grade"``.
    type
        One of :data:`FIELD_TYPES`.
    minimum, maximum
        Inclusive range for ``integer`` and ``number`` fields; inputs outside it are an
        :class:`~broker.errors.InputError`, as are rule values outside it.
    values
        Allowed codes of a ``category`` field.
    missing_values
        Codes of a ``category`` field that mean "not known" (e.g. ``"unknown"``).
    format
        ``"percent"`` shows a 0-1 fraction as a percentage in reasons; else ``"plain"``.
    value_text
        Words shown after a value, e.g. ``{"3": "requires improvement"}``.
    true_text, false_text
        Phrases for a ``boolean`` field's values in reasons.
    partial
        Stand-in fields named when this field is missing.
    """

    name: str
    label: str
    type: str
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] = ()
    missing_values: tuple[str, ...] = ()
    format: str = "plain"
    value_text: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    true_text: str = ""
    false_text: str = ""
    partial: tuple[Partial, ...] = ()

    @property
    def numeric(self) -> bool:
        return self.type in ("integer", "number")


@dataclass(frozen=True)
class Test:
    """One comparison: ``<field> <op> <value>``.

    ``value`` is a scalar for ``eq``/``ne``/``ge``/``gt``/``le``/``lt``, a tuple for
    ``in``/``not_in``, and a ``(lo, hi)`` pair for ``between``, whose ends are included as
    ``closed`` says (default ``"left"``: ``lo <= x < hi``).
    """

    field: str
    op: str
    value: object
    closed: str = "left"
    label: str = ""


@dataclass(frozen=True)
class Group:
    """A combination of conditions: ``all_of``, ``any_of`` or ``at_least`` k ``of`` them."""

    mode: str
    items: tuple[Condition, ...]
    at_least: int | None = None
    label: str = ""


Condition = Test | Group


def iter_tests(condition: Condition) -> list[Test]:
    """Every :class:`Test` under ``condition``, in file order."""
    if isinstance(condition, Test):
        return [condition]
    out: list[Test] = []
    for item in condition.items:
        out.extend(iter_tests(item))
    return out


@dataclass(frozen=True)
class Criterion:
    """A named condition with its consequence and the sentence that explains it."""

    id: str
    condition: Condition
    on_fail: OnFail
    explain: str

    @property
    def fields(self) -> tuple[str, ...]:
        """Fields the criterion reads, in first-use order."""
        return tuple(dict.fromkeys(t.field for t in iter_tests(self.condition)))


@dataclass(frozen=True)
class Source:
    """Where a rule comes from: guidance title, publisher, year(s) and address (as text)."""

    title: str
    publisher: str
    year: str
    url: str
    note: str = ""


@dataclass(frozen=True)
class Terms:
    """Descriptive facts about a programme that are not eligibility tests.

    All optional; the matching engine may use them (e.g. NLE capacity in days a week).
    """

    days_per_week_min: float | None = None
    days_per_week_max: float | None = None
    support_modes: tuple[str, ...] = ()
    duration_years: float | None = None
    review_interval_years: float | None = None
    support_school_required: bool | None = None


@dataclass(frozen=True)
class Derivation:
    """A new field looked up from an input field, e.g. district → LEEP network.

    ``groups`` maps each output value to the input values that give it, as written in the
    file; ``default`` is the output for a known input not listed (``None`` would make it
    unknown). Input values are matched after :func:`normalise_text`.
    """

    name: str
    label: str
    source: str
    groups: Mapping[str, tuple[str, ...]]
    default: str | None = None

    def lookup(self, value: object) -> str | None:
        """Output for one input value; ``None`` when ``value`` is missing."""
        if value is None or (isinstance(value, float) and value != value):
            return None
        key = normalise_text(value)
        if not key:
            return None
        for out, inputs in self.groups.items():
            if any(normalise_text(v) == key for v in inputs):
                return out
        return self.default

    @property
    def outputs(self) -> tuple[str, ...]:
        extra = () if self.default is None else (self.default,)
        return tuple(self.groups) + extra


@dataclass(frozen=True)
class Programme:
    """One programme's eligibility rules, loaded from ``models/<id>.toml``.

    Parameters
    ----------
    id
        Short name, e.g. ``"nle"``; the key in :func:`broker.rules.load_all`.
    role
        Whether the programme designates supporters or clients.
    criteria
        Tested in order; see :func:`broker.rules.assess` for how results combine.
    derived
        Lookup fields computed before the criteria run (and returned by ``assess``).
    match_within
        Advice to the matcher: a supporter may only serve clients sharing these fields'
        values (e.g. the same LEEP network).
    fields
        Specs of every field the criteria and derivations read.
    """

    id: str
    name: str
    role: Role
    summary: str
    path: Path
    sources: tuple[Source, ...]
    criteria: tuple[Criterion, ...]
    terms: Terms = Terms()
    derived: tuple[Derivation, ...] = ()
    match_within: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    fields: Mapping[str, FieldSpec] = field(default_factory=lambda: MappingProxyType({}))

    def criterion(self, criterion_id: str) -> Criterion:
        """The criterion called ``criterion_id`` (``KeyError`` if none)."""
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)

    @property
    def input_fields(self) -> tuple[str, ...]:
        """Input columns the programme reads (derived fields replaced by their sources)."""
        derived = {d.name: d.source for d in self.derived}
        names: dict[str, None] = {}
        for c in self.criteria:
            for f in c.fields:
                names[derived.get(f, f)] = None
        for d in self.derived:
            names[d.source] = None
        return tuple(names)
