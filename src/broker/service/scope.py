"""Who sees what: every query of the service is filtered here, in one place.

A :class:`Scope` is built from the signed-in user. Routes never query the ledger
directly: they call :meth:`Scope.select` (rows the caller may see) or
:meth:`Scope.get` (one row by id, or :class:`NotInScope`, which the app turns
into 404: a resource of another authority is indistinguishable from one that
does not exist).

==========  =================================================================
role        sees
==========  =================================================================
programme   everything
la          rounds with a client of its authorities, those clients' outcomes,
            deployments, stage history and audit rows; its authorities' what-ifs
supporter   rounds and deployments it is part of, their history and audit rows
viewer      rounds and aggregates (counts by stage and authority), no rows
==========  =================================================================

What a role may *do* (start rounds, move stages, run what-ifs) is
:meth:`Scope.can`; a role that may see a resource but not change it gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, exists, false, select, true
from sqlalchemy.orm import Session

from broker.ledger.models import (
    AuditEntry,
    Deployment,
    Round,
    RoundOutcome,
    ScenarioRecord,
    StageChange,
)
from broker.ledger.service_tables import ServiceJob, ServiceUser

T = TypeVar("T")

ACTIONS: dict[str, frozenset[str]] = {
    "upload_scenario": frozenset({"programme"}),
    "start_round": frozenset({"programme"}),
    "cancel_job": frozenset({"programme", "la"}),
    "move_stage": frozenset({"programme", "la"}),
    "whatif": frozenset({"programme", "la"}),
    "recommend": frozenset({"programme", "la"}),
    "audit": frozenset({"programme", "la", "supporter"}),
    "rows": frozenset({"programme", "la", "supporter"}),
}
"""Which roles may do what (on the resources their scope lets them see)."""


class NotInScope(LookupError):
    """The resource does not exist, or the caller may not see it (answered with 404)."""


class Forbidden(PermissionError):
    """The caller may see the resource but their role may not do this (answered with 403)."""


@dataclass(frozen=True)
class Scope:
    """The caller: name, role, and the authorities or supporters they act for."""

    user: str
    role: str
    la_codes: tuple[str, ...] = ()
    supporter_ids: tuple[str, ...] = ()

    @classmethod
    def of(cls, user: ServiceUser) -> Scope:
        return cls(user.name, user.role, tuple(user.la_codes), tuple(user.supporter_ids))

    @property
    def everything(self) -> bool:
        return self.role == "programme"

    def can(self, action: str) -> bool:
        return self.role in ACTIONS[action]

    def require(self, action: str) -> None:
        """Raise :class:`Forbidden` unless the role may do ``action``."""
        if not self.can(action):
            raise Forbidden(f"role {self.role} may not {action.replace('_', ' ')}")

    def sees_la(self, la_code: str) -> bool:
        """Whether rows of clients of ``la_code`` are visible (programme, or that LA's user)."""
        return self.everything or (self.role == "la" and la_code in self.la_codes)

    # ------------------------------------------------------------------ clauses
    def clause(self, model: Any) -> ColumnElement[bool]:
        """The condition a row of ``model`` must meet to be visible."""
        if self.everything:
            return true()
        role, las, sids = self.role, self.la_codes, self.supporter_ids
        if model is Deployment:
            if role == "la":
                return Deployment.la_code.in_(las)
            if role == "supporter":
                return Deployment.supporter_id.in_(sids)
            return false()
        if model is RoundOutcome:
            if role == "la":
                return RoundOutcome.la_code.in_(las)
            if role == "supporter":
                return RoundOutcome.supporter_id.in_(sids)
            return false()
        if model is Round:
            if role == "viewer":
                return true()
            return exists(
                select(RoundOutcome.id).where(
                    RoundOutcome.round_id == Round.id, self.clause(RoundOutcome)
                )
            )
        if model is StageChange:
            return StageChange.deployment_id.in_(
                select(Deployment.id).where(self.clause(Deployment))
            )
        if model is AuditEntry:
            if role == "viewer":
                return false()
            return AuditEntry.deployment_id.in_(
                select(Deployment.id).where(self.clause(Deployment))
            )
        if model is ServiceJob:
            if role == "la":
                return (ServiceJob.kind == "whatif") & ServiceJob.la_code.in_(las)
            return false()
        if model in (ScenarioRecord, ServiceUser):
            return false()
        raise TypeError(f"no scope rule for {model!r}: add one to broker.service.scope")

    def aggregate_clause(self, model: Any) -> ColumnElement[bool]:
        """Rows that may be *counted* (viewers count everything, see no rows)."""
        if self.role == "viewer" and model in (Deployment, RoundOutcome):
            return true()
        return self.clause(model)

    # ------------------------------------------------------------------ queries
    def select(self, model: type[T], *where: Any) -> Select[Any]:
        """``select(model)`` restricted to what the caller may see."""
        return select(model).where(self.clause(model), *where)

    def get(self, session: Session, model: type[T], ident: int) -> T:
        """The row of ``model`` with primary key ``ident``, or :class:`NotInScope`."""
        pk = model.id  # type: ignore[attr-defined]
        row = session.scalar(self.select(model, pk == ident))
        if row is None:
            raise NotInScope(f"no {getattr(model, '__tablename__', 'resource')} {ident}")
        return row
