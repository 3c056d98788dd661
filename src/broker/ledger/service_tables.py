"""Tables of the web service (:mod:`broker.service`): its users and its jobs.

``service_users``  who may sign in: role, the authorities or supporters they act for,
                   the SHA-256 of their API token and the argon2 hash of their password
``service_jobs``   rounds and what-ifs started from the service: status, progress,
                   and, for a what-if, the changes and the result

They share the ledger's metadata (:class:`broker.ledger.models.Base`) so that the
migrations and the test that compares them with the models cover them too. The
rules (who sees what) live in :mod:`broker.service.scope`, not here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from broker.ledger.models import Base, When

ROLES = ("programme", "la", "supporter", "viewer")
"""``programme``: everything; ``la``: its authorities' clients, deployments, what-ifs and
budgets; ``supporter``: its own deployments; ``viewer``: read-only aggregates."""

JOB_KINDS = ("round", "whatif")
JOB_STATUSES = ("queued", "running", "recording", "done", "failed", "cancelled")
FINISHED = frozenset({"done", "failed", "cancelled"})


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class ServiceUser(Base):
    """A person who may use the service, with what they may see."""

    __tablename__ = "service_users"
    __table_args__ = (CheckConstraint(f"role IN ({_in(ROLES)})", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(12), nullable=False)
    la_codes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    supporter_ids: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(When, nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)


class ServiceJob(Base):
    """A round or a what-if run in a worker process.

    A round job records its round in the ledger (``round_id``). A what-if job
    solves a changed copy of a recorded round's scenario and keeps its answer in
    ``result``; it records nothing in the ledger. ``la_code`` is the authority a
    what-if belongs to (NULL: the programme's).
    """

    __tablename__ = "service_jobs"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_in(JOB_KINDS)})", "kind"),
        CheckConstraint(f"status IN ({_in(JOB_STATUSES)})", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), nullable=False, index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    la_code: Mapped[str | None] = mapped_column(String(3), index=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenarios.id"), nullable=False)
    base_round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    round_id: Mapped[int | None] = mapped_column(ForeignKey("rounds.id"))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    message: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(When, nullable=False)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    started_at: Mapped[dt.datetime | None] = mapped_column(When)
    finished_at: Mapped[dt.datetime | None] = mapped_column(When)
