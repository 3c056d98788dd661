"""``/api/rounds`` (recorded rounds) and ``/api/jobs`` (rounds being solved)."""

from __future__ import annotations

from fastapi import APIRouter

from broker.service import schemas as sc
from broker.service import services
from broker.service.deps import AppState, CurrentScope, DbSession

router = APIRouter(prefix="/api", tags=["rounds"])


@router.get("/rounds", response_model=list[sc.RoundOut])
def list_rounds(s: DbSession, sco: CurrentScope):
    """Recorded rounds the caller may see, newest first, with counts over their visible clients."""
    return services.list_rounds(s, sco)


@router.get("/rounds/{round_id}", response_model=sc.RoundDetail)
def get_round(round_id: sc.PathId, s: DbSession, sco: CurrentScope):
    """A round and its outcomes (matched and unmatched, with reasons) that the caller may see."""
    return services.get_round(s, sco, round_id)


@router.post("/jobs", response_model=sc.JobOut, status_code=202)
def start_round(
    body: sc.RoundStartIn,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
):
    """Start a round on a stored scenario; poll ``GET /api/jobs/{job_id}`` for progress."""
    job = services.start_round(
        s,
        sco,
        st.runner,
        body,
        default_time_s=st.settings.time_limit_s,
        max_time_s=st.settings.max_time_limit_s,
    )
    return services.get_job(s, sco, st.runner, job.id, "round")


@router.get("/jobs", response_model=list[sc.JobOut])
def list_jobs(s: DbSession, sco: CurrentScope, st: AppState):
    return services.list_jobs(s, sco, st.runner, "round")


@router.get("/jobs/{job_id}", response_model=sc.JobOut)
def get_job(
    job_id: sc.PathId,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
):
    """A round job: status, progress lines, and its round once recorded."""
    return services.get_job(s, sco, st.runner, job_id, "round")


@router.post("/jobs/{job_id}/cancel", response_model=sc.JobOut)
def cancel_job(
    job_id: sc.PathId,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
):
    """Cancel a queued or running round (refused once it is being recorded)."""
    return services.cancel_job(s, sco, st.runner, job_id, "round")
