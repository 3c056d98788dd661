"""The ledger's tables as SQLAlchemy 2 typed declarative models.

Tables
------
``ledger_state``     one row: a version counter every write bumps first (the write lock)
``scenarios``        each distinct set of scenario input files, by content hash
``scenario_files``   the files' bytes, so any round can be reproduced
``rounds``           one row per recorded round: scenario, parameters, seed, status, bounds
``round_outcomes``   each round's full answer: one row per client (and role)
``deployments``      a (client, supporter, role) engagement moving through the stages
``stage_changes``    every stage change of a deployment: from, to, when, who, note
``audit_log``        append-only record of every change (database triggers refuse updates)

Business rules live in :mod:`broker.ledger.repository`, not here. Money and days
are exact: they are stored as integers (``cost_gbp_x10000`` in £0.0001,
``days_per_week_x100`` in hundredths of a day) and read back as
:class:`decimal.Decimal`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from broker.ledger.stages import TERMINAL, Stage

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = 100
"""Length of client and supporter ids."""


def utcnow() -> dt.datetime:
    """Now, in UTC (timezone-aware)."""
    return dt.datetime.now(dt.UTC)


class Fixed(TypeDecorator[Decimal]):
    """An exact decimal with ``places`` decimal places, stored as a scaled integer.

    SQLite has no exact decimal type, so a portable ledger keeps money and days as
    integers. A value with more places than allowed is refused, never rounded.
    """

    impl = BigInteger
    cache_ok = True

    def __init__(self, places: int) -> None:
        super().__init__()
        self.places = places

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        scaled = d.scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{value} has more than {self.places} decimal places")
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(int(value)).scaleb(-self.places)


class When(TypeDecorator[dt.datetime]):
    """A UTC timestamp; SQLite returns naive values, which are read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        out: dt.datetime = value.astimezone(dt.UTC)
        return out.replace(tzinfo=None) if dialect.name == "sqlite" else out

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        out: dt.datetime = value.astimezone(dt.UTC)
        return out


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


STAGE_VALUES = ", ".join(f"'{s.value}'" for s in Stage)
TERMINAL_VALUES = ", ".join(f"'{s.value}'" for s in sorted(TERMINAL))
ROLES = ("lead", "second")
ROUND_KINDS = ("plain", "top_up")


class LedgerState(Base):
    """A single row whose ``version`` every write transaction increments first.

    The ``UPDATE`` takes a row lock (PostgreSQL) or the write lock (SQLite), so
    writers are serialised and each sees the other's committed rows.
    """

    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ScenarioRecord(Base):
    """A set of scenario input files, identified by the SHA-256 of their contents."""

    __tablename__ = "scenarios"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    source: Mapped[str | None] = mapped_column(String(1000))
    recorded_at: Mapped[dt.datetime] = mapped_column(When, nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(100), nullable=False)

    files: Mapped[list[ScenarioFile]] = relationship(
        back_populates="scenario", order_by="ScenarioFile.filename"
    )


class ScenarioFile(Base):
    """One input file of a scenario, byte for byte."""

    __tablename__ = "scenario_files"
    __table_args__ = (UniqueConstraint("scenario_id", "filename"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), nullable=False)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(Integer, nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)

    scenario: Mapped[ScenarioRecord] = relationship(back_populates="files")


class Round(Base):
    """A recorded matching round."""

    __tablename__ = "rounds"
    __table_args__ = (CheckConstraint(f"kind IN ('{ROUND_KINDS[0]}', '{ROUND_KINDS[1]}')", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), nullable=False)
    base_scenario_id: Mapped[int | None] = mapped_column(ForeignKey("scenarios.id"))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    seed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    solver: Mapped[str] = mapped_column(String(40), nullable=False)
    solver_status: Mapped[str] = mapped_column(String(20), nullable=False)
    stopped_by: Mapped[str] = mapped_column(String(40), nullable=False)
    priority_matched: Mapped[int] = mapped_column(BigInteger, nullable=False)
    priority_bound: Mapped[int] = mapped_column(BigInteger, nullable=False)
    level2_value: Mapped[int] = mapped_column(BigInteger, nullable=False)
    level2_bound: Mapped[int] = mapped_column(BigInteger, nullable=False)
    matched: Mapped[int] = mapped_column(Integer, nullable=False)
    ledger_version: Mapped[int] = mapped_column(BigInteger, nullable=False)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    out_dir: Mapped[str | None] = mapped_column(String(1000))
    started_at: Mapped[dt.datetime] = mapped_column(When, nullable=False)
    finished_at: Mapped[dt.datetime] = mapped_column(When, nullable=False)
    recorded_at: Mapped[dt.datetime] = mapped_column(When, nullable=False)
    run_by: Mapped[str] = mapped_column(String(100), nullable=False)

    scenario: Mapped[ScenarioRecord] = relationship(foreign_keys=[scenario_id])


class RoundOutcome(Base):
    """One client's (and role's) outcome in a round, matched or not."""

    __tablename__ = "round_outcomes"
    __table_args__ = (UniqueConstraint("round_id", "client_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), nullable=False, index=True)
    client_id: Mapped[str] = mapped_column(String(ID), nullable=False)
    role: Mapped[str] = mapped_column(String(10), nullable=False)
    supporter_id: Mapped[str | None] = mapped_column(String(ID))
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    la_code: Mapped[str] = mapped_column(String(3), nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    need_days: Mapped[Decimal] = mapped_column("need_days_x100", Fixed(2), nullable=False)
    days_per_week: Mapped[Decimal] = mapped_column("days_per_week_x100", Fixed(2), nullable=False)
    cost_gbp: Mapped[Decimal] = mapped_column("cost_gbp_x10000", Fixed(4), nullable=False)
    distance_km: Mapped[Decimal | None] = mapped_column("distance_km_x100", Fixed(2))
    reason_code: Mapped[str | None] = mapped_column(String(40))
    deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"))


class Deployment(Base):
    """A supporter's engagement with a client, from proposal to close.

    ``is_open`` is true while the stage is not final and NULL once it is; the unique
    constraint on (client_id, role, is_open) therefore allows any number of past
    deployments but at most one current one per client and role.
    """

    __tablename__ = "deployments"
    __table_args__ = (
        UniqueConstraint("round_id", "client_id", "role"),
        UniqueConstraint("client_id", "role", "is_open"),
        CheckConstraint(f"stage IN ({STAGE_VALUES})", "stage"),
        CheckConstraint(f"role IN ('{ROLES[0]}', '{ROLES[1]}')", "role"),
        CheckConstraint(
            f"(stage IN ({TERMINAL_VALUES}) AND is_open IS NULL) OR "
            f"(stage NOT IN ({TERMINAL_VALUES}) AND is_open IS NOT NULL AND is_open)",
            "is_open",
        ),
        CheckConstraint("days_per_week_x100 > 0 AND weeks > 0 AND cost_gbp_x10000 >= 0", "amounts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(ID), nullable=False, index=True)
    supporter_id: Mapped[str] = mapped_column(String(ID), nullable=False, index=True)
    role: Mapped[str] = mapped_column(String(10), nullable=False)
    supporter_kind: Mapped[str | None] = mapped_column(String(40))
    mode: Mapped[str | None] = mapped_column(String(40))
    la_code: Mapped[str] = mapped_column(String(3), nullable=False, index=True)
    supporter_la_code: Mapped[str | None] = mapped_column(String(3))
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    days_per_week: Mapped[Decimal] = mapped_column("days_per_week_x100", Fixed(2), nullable=False)
    weeks: Mapped[int] = mapped_column(Integer, nullable=False)
    start_term: Mapped[int | None] = mapped_column(Integer)
    end_term: Mapped[int | None] = mapped_column(Integer)
    cost_gbp: Mapped[Decimal] = mapped_column("cost_gbp_x10000", Fixed(4), nullable=False)
    distance_km: Mapped[Decimal | None] = mapped_column("distance_km_x100", Fixed(2))
    stage: Mapped[str] = mapped_column(String(20), nullable=False, index=True)
    is_open: Mapped[bool | None] = mapped_column(Boolean)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), nullable=False, index=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), nullable=False)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"))
    created_at: Mapped[dt.datetime] = mapped_column(When, nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(When, nullable=False)

    history: Mapped[list[StageChange]] = relationship(
        back_populates="deployment", order_by="StageChange.id"
    )

    @property
    def stage_enum(self) -> Stage:
        return Stage(self.stage)


class StageChange(Base):
    """One move of a deployment from a stage to another (``from_stage`` NULL at creation)."""

    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id"), nullable=False, index=True
    )
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(When, nullable=False)
    user: Mapped[str] = mapped_column(String(100), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))

    deployment: Mapped[Deployment] = relationship(back_populates="history")


class AuditEntry(Base):
    """An append-only record of a change: who, when, what, and the details.

    Written in the same transaction as the change it records. Triggers created by
    the migration refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(When, nullable=False)
    user: Mapped[str] = mapped_column(String(100), nullable=False)
    action: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    round_id: Mapped[int | None] = mapped_column(Integer)
    deployment_id: Mapped[int | None] = mapped_column(Integer)
    client_id: Mapped[str | None] = mapped_column(String(ID))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


APPEND_ONLY_TABLES = ("audit_log", "stage_changes")
"""Tables whose rows are never updated or deleted (enforced by triggers)."""


# The web service's tables share this metadata (migrations and the schema test cover them).
from broker.ledger import service_tables as _service_tables  # noqa: E402,F401
