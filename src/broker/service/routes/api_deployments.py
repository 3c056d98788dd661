"""``/api/deployments``: list and filter deployments, see one with its history, move its stage."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from broker.service import schemas as sc
from broker.service import services
from broker.service.deps import CurrentScope, DbSession

router = APIRouter(prefix="/api/deployments", tags=["deployments"])


@router.get("", response_model=list[sc.DeploymentOut])
def list_deployments(
    s: DbSession,
    sco: CurrentScope,
    stage: Annotated[list[str] | None, Query(max_length=20)] = None,
    la: Annotated[str | None, Query(max_length=3)] = None,
    client: Annotated[str | None, Query(max_length=100)] = None,
    round: int | None = None,
    all: bool = False,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
):
    """Current deployments (all with ``all=true``), by stage, authority, client or round."""
    return services.list_deployments(
        s,
        sco,
        stages=stage,
        la_code=la,
        client_id=client,
        round_id=round,
        include_final=all,
        limit=limit,
    )


@router.get("/{deployment_id}", response_model=sc.DeploymentDetail)
def get_deployment(deployment_id: sc.PathId, s: DbSession, sco: CurrentScope):
    """A deployment, its stage history and the stages it may move to."""
    return services.get_deployment(s, sco, deployment_id)


@router.post("/{deployment_id}/stage", response_model=sc.DeploymentDetail)
def move_stage(
    deployment_id: sc.PathId,
    body: sc.StageMoveIn,
    s: DbSession,
    sco: CurrentScope,
):
    """Move a deployment to one of its legal next stages, with a note (and a reason to withdraw)."""
    return services.move_stage(
        s, sco, deployment_id, body.stage, note=body.note, reason=body.reason
    )
