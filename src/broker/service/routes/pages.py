"""Server-rendered pages (Jinja2): sign in, rounds, a round, deployments, the LA dashboard,
what-ifs, the supporter page and the audit log.

Pages call the same functions as the API (:mod:`broker.service.services`), through
the same scope. Every form carries the session's CSRF token and is checked with
:func:`broker.service.deps.check_form_csrf`. A form post answers with a redirect
(post/redirect/get), so reloading a page never repeats an action.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from broker.argtypes import DB_INT_MAX
from broker.errors import InputError, Problem
from broker.ledger.service_tables import FINISHED
from broker.ledger.stages import FORWARD, NEEDS_REASON, Stage
from broker.service import schemas as sc
from broker.service import security, services, users
from broker.service.deps import (
    AppState,
    CurrentScope,
    CurrentUser,
    DbSession,
    ReaderSession,
    check_form_csrf,
)
from broker.service.scope import NotInScope, Scope

router = APIRouter(include_in_schema=False)

HOME = {"programme": "/rounds", "la": "/dashboard", "supporter": "/supporter", "viewer": "/rounds"}
Csrf = Annotated[str | None, Form()]


def _render(
    request: Request, st: Any, name: str, sco: Scope | None, status: int = 200, **ctx: Any
) -> Response:
    return st.templates.TemplateResponse(
        request,
        name,
        {"user": sco, "csrf": getattr(request.state, "csrf", None), "stages": FORWARD, **ctx},
        status_code=status,
    )


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --------------------------------------------------------------------------- sign in


@router.get("/login")
def login_page(request: Request, st: AppState, error: str | None = None) -> Response:
    cookie, token = st.signer.login_csrf()
    resp = _render(request, st, "login.html", None, login_csrf=token, error=error)
    resp.set_cookie(
        security.LOGIN_CSRF_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=st.settings.secure_cookies,
    )
    return resp


@router.post("/login")
def login(
    request: Request,
    s: ReaderSession,
    st: AppState,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Csrf = None,
) -> Response:
    expected = st.signer.read_login_csrf(request.cookies.get(security.LOGIN_CSRF_COOKIE))
    if not security.same(csrf_token, expected):
        return _see_other("/login?error=expired")
    user = users.by_name(s, name.strip())
    if user is None or not security.verify_password(user.password_hash, password):
        return _see_other("/login?error=wrong")
    cookie, _csrf = st.signer.session(user.id)
    resp = _see_other(HOME[user.role])
    resp.set_cookie(
        security.SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=st.settings.secure_cookies,
        max_age=security.SESSION_MAX_AGE_S,
    )
    resp.delete_cookie(security.LOGIN_CSRF_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, user: CurrentUser, csrf_token: Csrf = None) -> Response:
    check_form_csrf(request, csrf_token)
    resp = _see_other("/login")
    resp.delete_cookie(security.SESSION_COOKIE)
    return resp


@router.get("/")
def home(user: CurrentUser) -> Response:
    return _see_other(HOME[user.role])


# --------------------------------------------------------------------------- rounds


@router.get("/rounds")
def rounds_page(request: Request, s: DbSession, sco: CurrentScope, st: AppState) -> Response:
    jobs = services.list_jobs(s, sco, st.runner, "round") if sco.can("start_round") else []
    return _render(
        request,
        st,
        "rounds.html",
        sco,
        rounds=services.list_rounds(s, sco),
        scenarios=services.list_scenarios(s, sco),
        jobs=jobs[:10],
        time_limit=st.settings.time_limit_s,
    )


@router.post("/scenarios")
def upload_page(
    request: Request,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
    file: Annotated[UploadFile, File()],
    csrf_token: Csrf = None,
) -> Response:
    check_form_csrf(request, csrf_token)
    data = file.file.read(st.settings.max_upload_bytes + 1)
    services.upload_scenario(
        s, sco, data, file.filename or "upload.zip", st.settings.max_upload_bytes
    )
    return _see_other("/rounds")


@router.post("/rounds/start")
def start_round_page(
    request: Request,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
    scenario_id: Annotated[int, Form(ge=1, le=DB_INT_MAX)],
    name: Annotated[str, Form(max_length=200)] = "",
    top_up: Annotated[bool, Form()] = False,
    time_limit_s: Annotated[float | None, Form(gt=0, le=3600)] = None,
    csrf_token: Csrf = None,
) -> Response:
    check_form_csrf(request, csrf_token)
    body = sc.RoundStartIn(
        scenario_id=scenario_id, name=name or None, top_up=top_up, time_limit_s=time_limit_s
    )
    job = services.start_round(
        s,
        sco,
        st.runner,
        body,
        default_time_s=st.settings.time_limit_s,
        max_time_s=st.settings.max_time_limit_s,
    )
    return _see_other(f"/jobs/{job.id}")


@router.get("/jobs/{job_id}")
def job_page(
    request: Request, job_id: sc.PathId, s: DbSession, sco: CurrentScope, st: AppState
) -> Response:
    job = services.get_job(s, sco, st.runner, job_id, "round")
    return _render(request, st, "job.html", sco, job=job, running=job["status"] not in FINISHED)


@router.post("/jobs/{job_id}/cancel")
def cancel_page(
    request: Request,
    job_id: sc.PathId,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
    csrf_token: Csrf = None,
) -> Response:
    check_form_csrf(request, csrf_token)
    services.cancel_job(s, sco, st.runner, job_id, "round")
    return _see_other(f"/jobs/{job_id}")


@router.get("/rounds/{round_id}")
def round_page(
    request: Request, round_id: sc.PathId, s: DbSession, sco: CurrentScope, st: AppState
) -> Response:
    detail = services.get_round(s, sco, round_id)
    return _render(
        request,
        st,
        "round.html",
        sco,
        round=detail,
        matched=[o for o in detail.outcomes if o.supporter_id],
        unmatched=[o for o in detail.outcomes if not o.supporter_id],
        map=services.round_map(s, sco, detail),
    )


# --------------------------------------------------------------------------- deployments


@router.get("/deployments")
def deployments_page(
    request: Request,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
    stage: str = "",
    all: bool = False,
) -> Response:
    deps = services.list_deployments(s, sco, stages=[stage] if stage else None, include_final=all)
    return _render(
        request,
        st,
        "deployments.html",
        sco,
        deployments=deps,
        stage=stage,
        all=all,
        all_stages=[x.value for x in Stage],
    )


@router.get("/deployments/{deployment_id}")
def deployment_page(
    request: Request,
    deployment_id: sc.PathId,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
    error: str | None = None,
) -> Response:
    d = services.get_deployment(s, sco, deployment_id)
    return _render(
        request,
        st,
        "deployment.html",
        sco,
        d=d,
        needs_reason={x.value for x in NEEDS_REASON},
        error=error,
    )


@router.post("/deployments/{deployment_id}/stage")
def move_page(
    request: Request,
    deployment_id: sc.PathId,
    s: DbSession,
    sco: CurrentScope,
    stage: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=2000)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Csrf = None,
) -> Response:
    check_form_csrf(request, csrf_token)
    services.move_stage(s, sco, deployment_id, stage, note=note or None, reason=reason or None)
    return _see_other(f"/deployments/{deployment_id}")


# --------------------------------------------------------------------------- what-ifs


def _side_by_side(s: Any, sco: Scope, whatifs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For each finished what-if, its figures for the caller's authorities, beside the base."""
    out = []
    for w in whatifs:
        item: dict[str, Any] = {"job": w}
        if w["status"] == "done":
            try:
                item["diff"] = services.whatif_diff(s, sco, w["id"])
            except (InputError, NotInScope):
                pass
        out.append(item)
    return out


@router.get("/dashboard")
def dashboard(request: Request, s: DbSession, sco: CurrentScope, st: AppState) -> Response:
    whatifs = services.list_jobs(s, sco, st.runner, "whatif") if sco.can("whatif") else []
    return _render(
        request,
        st,
        "dashboard.html",
        sco,
        rounds=services.list_rounds(s, sco),
        whatifs=_side_by_side(s, sco, whatifs[:6]),
        summary=services.summary(s, sco),
        time_limit=st.settings.time_limit_s,
    )


@router.post("/whatifs")
def whatif_form(
    request: Request,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
    base_round_id: Annotated[int, Form(ge=1, le=DB_INT_MAX)],
    name: Annotated[str, Form(max_length=200)] = "",
    la_code: Annotated[str, Form(max_length=3)] = "",
    budget_gbp: Annotated[float | None, Form(ge=0, le=1e10)] = None,
    cross_la: Annotated[str, Form(max_length=20)] = "",
    supporter_id: Annotated[str, Form(max_length=100)] = "",
    capacity_days: Annotated[float | None, Form(gt=0, le=7)] = None,
    max_distance_km: Annotated[float | None, Form(gt=0, le=1500)] = None,
    csrf_token: Csrf = None,
) -> Response:
    check_form_csrf(request, csrf_token)
    la = la_code or (sco.la_codes[0] if sco.la_codes else "")
    changes: dict[str, Any] = {}
    if budget_gbp is not None:
        if not la:
            raise InputError.one("<form>", "choose an authority for the budget", column="la_code")
        changes["authority_budgets"] = {la: budget_gbp}
    if cross_la:
        changes["cross_la"] = {la: cross_la}
    if supporter_id and (capacity_days is not None or max_distance_km is not None):
        changes["supporters"] = {
            supporter_id: {"capacity_days": capacity_days, "max_distance_km": max_distance_km}
        }
    try:
        body = sc.WhatIfIn(
            base_round_id=base_round_id,
            name=name or None,
            la_code=la or None,
            changes=sc.Changes.model_validate(changes),
        )
    except ValidationError as exc:  # a form value the API would refuse: a 400, not a 500
        raise InputError(
            [
                Problem(
                    "<form>",
                    str(e["msg"]).removeprefix("Value error, "),
                    column=".".join(str(x) for x in e["loc"]),
                    value=e.get("input"),
                )
                for e in exc.errors()
            ]
        ) from None
    job = services.start_whatif(
        s,
        sco,
        st.runner,
        body,
        default_time_s=st.settings.time_limit_s,
        max_time_s=st.settings.max_time_limit_s,
    )
    return _see_other(f"/whatifs/{job.id}")


@router.get("/whatifs/{whatif_id}")
def whatif_page(
    request: Request, whatif_id: sc.PathId, s: DbSession, sco: CurrentScope, st: AppState
) -> Response:
    job = services.get_job(s, sco, st.runner, whatif_id, "whatif")
    d = services.whatif_diff(s, sco, whatif_id) if job["status"] == "done" else None
    return _render(
        request, st, "whatif.html", sco, job=job, diff=d, running=job["status"] not in FINISHED
    )


@router.post("/whatifs/{whatif_id}/cancel")
def cancel_whatif_page(
    request: Request,
    whatif_id: sc.PathId,
    s: DbSession,
    sco: CurrentScope,
    st: AppState,
    csrf_token: Csrf = None,
) -> Response:
    check_form_csrf(request, csrf_token)
    services.cancel_job(s, sco, st.runner, whatif_id, "whatif")
    return _see_other(f"/whatifs/{whatif_id}")


# --------------------------------------------------------------------------- others


@router.get("/supporter")
def supporter_page(request: Request, s: DbSession, sco: CurrentScope, st: AppState) -> Response:
    deps = services.list_deployments(s, sco, include_final=True)
    return _render(request, st, "supporter.html", sco, deployments=deps)


@router.get("/audit")
def audit_page(request: Request, s: DbSession, sco: CurrentScope, st: AppState) -> Response:
    return _render(request, st, "audit.html", sco, entries=services.audit(s, sco, 200))
