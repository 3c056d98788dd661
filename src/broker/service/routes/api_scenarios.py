"""``/api/scenarios``: scenarios stored in the ledger; upload one as a zip of its folder."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, UploadFile

from broker.service import schemas as sc
from broker.service import services
from broker.service.deps import AppState, CurrentScope, DbSession

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"])


@router.get("", response_model=list[sc.ScenarioOut])
def list_scenarios(s: DbSession, sco: CurrentScope):
    """Stored scenarios (programme users; others see none)."""
    return services.list_scenarios(s, sco)


@router.post("", response_model=sc.ScenarioOut, status_code=201)
def upload_scenario(
    file: Annotated[UploadFile, File(description="a zip of a scenario folder")],
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
):
    """Upload a scenario folder as a zip; it is read and validated, then stored."""
    data = file.file.read(st.settings.max_upload_bytes + 1)
    return services.upload_scenario(
        s, sco, data, file.filename or "upload.zip", st.settings.max_upload_bytes
    )


@router.get("/{scenario_id}", response_model=sc.ScenarioOut)
def get_scenario(scenario_id: sc.PathId, s: DbSession, sco: CurrentScope):
    return services.get_scenario(s, sco, scenario_id)
