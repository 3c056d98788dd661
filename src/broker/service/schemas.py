"""What the API accepts and returns (Pydantic models): nothing leaves unfiltered.

Money is in pounds and days in days per week, as floats in JSON; the ledger keeps
them exact (:class:`decimal.Decimal`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import Path as PathParam
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from broker.argtypes import DB_INT_MAX
from broker.limits import BUDGET_GBP, CAPACITY_DAYS, Bound
from broker.units import decimal_places

LaCode = str
CrossLa = Literal["allow", "prefer_own", "own_only", "neighbours"]


def _within(bound: Bound) -> AfterValidator:
    """A validator refusing what the scenario reader would refuse in the same column.

    A what-if writes its changes into the scenario's files: a value the reader
    refuses would only fail the job later, naming a file the user never wrote, and a
    value with more decimals than the column holds would be rounded silently.
    """

    def check(v: float | None) -> float | None:
        if v is None:
            return v
        why = bound.problem(v)
        places = decimal_places(repr(float(v))) if why is None else None
        if bound.decimals is not None and places is not None and places > bound.decimals:
            why = f"more than {bound.decimals} decimal places; expected {bound.unit}"
        if why is not None:
            raise ValueError(f"{bound.key}: {why}")
        return v

    return AfterValidator(check)


DbId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]
"""An id a client sends: larger than the database's integers, it could only fail there."""

PathId = Annotated[int, PathParam(ge=1, le=DB_INT_MAX)]
"""An id in a URL path (see :data:`DbId`)."""

LaCodeKey = Annotated[str, StringConstraints(pattern=r"^\d{3}$")]
"""A DfE 3-digit LA code as a key of a what-if's changes."""


class Me(BaseModel):
    name: str
    role: str
    la_codes: list[str]
    supporter_ids: list[str]


class ScenarioOut(BaseModel):
    id: int
    name: str
    sha256: str
    recorded_at: dt.datetime
    recorded_by: str
    files: list[str]


class RoundOut(BaseModel):
    """A round, with counts over the outcomes the caller may see."""

    id: int
    name: str | None
    kind: str
    scenario_id: int
    solver_status: str
    seed: int
    run_by: str
    started_at: dt.datetime
    finished_at: dt.datetime
    clients: int
    matched: int
    priority_matched: int
    priority_total: int


class OutcomeOut(BaseModel):
    client_id: str
    client_name: str | None = None
    role: str
    supporter_id: str | None
    supporter_name: str | None = None
    status: str
    la_code: str
    priority: int
    need_days: float
    days_per_week: float
    cost_gbp: float
    distance_km: float | None
    reason_code: str | None
    reason: str | None = None
    fixes: list[str] = []
    deployment_id: int | None


class RoundDetail(RoundOut):
    outcomes: list[OutcomeOut]


class StageChangeOut(BaseModel):
    from_stage: str | None
    to_stage: str
    at: dt.datetime
    user: str
    note: str | None


class DeploymentOut(BaseModel):
    id: int
    client_id: str
    role: str
    supporter_id: str
    supporter_kind: str | None
    la_code: str
    priority: int
    stage: str
    days_per_week: float
    weeks: int
    cost_gbp: float
    distance_km: float | None
    round_id: int
    replaces_id: int | None
    updated_at: dt.datetime


class DeploymentDetail(DeploymentOut):
    history: list[StageChangeOut]
    legal_moves: list[str]


class StageMoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage: str = Field(max_length=40)
    note: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=2000)


class RoundStartIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scenario_id: DbId
    name: str | None = Field(default=None, max_length=200)
    top_up: bool = False
    time_limit_s: float | None = Field(default=None, gt=0, le=3600)
    seed: int = Field(default=0, ge=0, le=2**53)
    fixes: bool = Field(
        default=True, description="after recording, look for the smallest fix of each unmatched"
    )


class JobOut(BaseModel):
    id: int
    kind: str
    name: str | None
    status: str
    la_code: str | None
    scenario_id: int
    base_round_id: int | None
    round_id: int | None
    message: str | None
    error: str | None
    progress: list[str]
    created_at: dt.datetime
    created_by: str
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class SupporterChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    capacity_days: Annotated[float | None, _within(CAPACITY_DAYS)] = Field(default=None, gt=0, le=7)
    max_distance_km: float | None = Field(default=None, gt=0, le=1500)


class Changes(BaseModel):
    """What a what-if changes in its base round's scenario."""

    model_config = ConfigDict(extra="forbid")

    authority_budgets: dict[LaCodeKey, Annotated[float | None, _within(BUDGET_GBP)]] = Field(
        default_factory=dict, max_length=200
    )
    cross_la: dict[LaCodeKey, CrossLa] = Field(default_factory=dict, max_length=200)
    supporters: dict[str, SupporterChange] = Field(default_factory=dict, max_length=1000)


class WhatIfIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_round_id: DbId
    name: str | None = Field(default=None, max_length=200)
    la_code: LaCode | None = Field(default=None, pattern=r"^\d{3}$")
    changes: Changes = Field(default_factory=Changes)
    time_limit_s: float | None = Field(default=None, gt=0, le=3600)
    seed: int = Field(default=0, ge=0, le=2**53)


class WhatIfOut(JobOut):
    changes: Changes


class DiffRow(BaseModel):
    client_id: str
    role: str
    la_code: str
    priority: int
    before_supporter_id: str
    after_supporter_id: str
    change: str


class AuthorityRow(BaseModel):
    la_code: str
    gained: int
    lost: int
    changed: int
    matched_before: int
    matched_after: int
    priority_before: int
    priority_after: int
    cost_gbp_before: float
    cost_gbp_after: float


class DiffOut(BaseModel):
    whatif_id: int
    base_round_id: int
    counts: dict[str, int]
    clients: list[DiffRow]
    authorities: list[AuthorityRow]


class RecommendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    round_id: DbId
    client_id: str = Field(max_length=100)
    top: int = Field(default=5, ge=1, le=50)


class RecommendRow(BaseModel):
    rank: int
    supporter_id: str
    name: str
    kind: str
    la_code: str
    cost_gbp: float
    distance_km: float
    days_free_after: float | None
    displaces: str
    displaced_priority: int


class RecommendOut(BaseModel):
    client_id: str
    priority: int
    la_code: str
    need_days: float
    considered: int
    notes: list[str]
    supporters: list[RecommendRow]


class AuditOut(BaseModel):
    id: int
    at: dt.datetime
    user: str
    action: str
    round_id: int | None
    deployment_id: int | None
    client_id: str | None
    detail: dict[str, object]


class StageCount(BaseModel):
    la_code: str
    stage: str
    deployments: int


class SummaryOut(BaseModel):
    rounds: int
    by_stage: list[StageCount]
