"""``/api/whatifs``: a round's scenario with changes, solved again and compared with the round."""

from __future__ import annotations

from fastapi import APIRouter

from broker.service import schemas as sc
from broker.service import services
from broker.service.deps import AppState, CurrentScope, DbSession

router = APIRouter(prefix="/api/whatifs", tags=["what-ifs"])


@router.get("", response_model=list[sc.WhatIfOut])
def list_whatifs(s: DbSession, sco: CurrentScope, st: AppState):
    return services.list_jobs(s, sco, st.runner, "whatif")


@router.post("", response_model=sc.WhatIfOut, status_code=202)
def start_whatif(
    body: sc.WhatIfIn,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
):
    """Clone a round's scenario with changes (budgets, rules, capacity, reach); solve it."""
    job = services.start_whatif(
        s,
        sco,
        st.runner,
        body,
        default_time_s=st.settings.time_limit_s,
        max_time_s=st.settings.max_time_limit_s,
    )
    return services.get_job(s, sco, st.runner, job.id, "whatif")


@router.get("/{whatif_id}", response_model=sc.WhatIfOut)
def get_whatif(
    whatif_id: sc.PathId,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
):
    return services.get_job(s, sco, st.runner, whatif_id, "whatif")


@router.get("/{whatif_id}/diff", response_model=sc.DiffOut)
def whatif_diff(whatif_id: sc.PathId, s: DbSession, sco: CurrentScope):
    """Who gains, loses or changes supporter against the base round, and per-authority deltas."""
    return services.whatif_diff(s, sco, whatif_id)


@router.post("/{whatif_id}/cancel", response_model=sc.WhatIfOut)
def cancel_whatif(
    whatif_id: sc.PathId,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
):
    return services.cancel_job(s, sco, st.runner, whatif_id, "whatif")
