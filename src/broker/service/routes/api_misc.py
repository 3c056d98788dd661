"""``/api/me``, ``/api/summary``, ``/api/recommendations`` and ``/api/audit``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from broker.service import schemas as sc
from broker.service import services
from broker.service.deps import CurrentScope, CurrentUser, DbSession

router = APIRouter(prefix="/api", tags=["misc"])


@router.get("/me", response_model=sc.Me)
def me(user: CurrentUser):
    """Who you are signed in as, and what you act for."""
    return sc.Me(
        name=user.name, role=user.role, la_codes=user.la_codes, supporter_ids=user.supporter_ids
    )


@router.get("/summary", response_model=sc.SummaryOut)
def summary(s: DbSession, sco: CurrentScope):
    """Counts of deployments by authority and stage (what a viewer sees)."""
    return services.summary(s, sco)


@router.post("/recommendations", response_model=sc.RecommendOut)
def recommendations(body: sc.RecommendIn, s: DbSession, sco: CurrentScope):
    """The best supporters for one urgent request of a client in a round's scenario."""
    return services.recommend(s, sco, body)


@router.get("/audit", response_model=list[sc.AuditOut])
def audit(
    s: DbSession,
    sco: CurrentScope,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
):
    """The audit log, newest first, limited to the caller's deployments (all for programme)."""
    return services.audit(s, sco, limit)
