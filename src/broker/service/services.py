"""What the service does, shared by the API (``routes/api_*``) and the pages.

Every function takes the caller's :class:`~broker.service.scope.Scope` and reads
through it; nothing here queries a table without it. Functions take an open
session and never commit (the caller's ``with ledger.session()`` is the
transaction), like :mod:`broker.ledger.repository`, whose rules they reuse.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import tempfile
import threading
import zipfile
import zlib
from collections import OrderedDict
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from broker.errors import InputError
from broker.ledger import repository as repo
from broker.ledger.diff import RoundView, diff, view_from_round
from broker.ledger.models import (
    AuditEntry,
    Deployment,
    Round,
    RoundOutcome,
    ScenarioFile,
    ScenarioRecord,
    StageChange,
    utcnow,
)
from broker.ledger.service_tables import ServiceJob
from broker.ledger.stages import Stage, legal_moves, parse_stage
from broker.scenario.model import Scenario
from broker.service import schemas as sc
from broker.service.jobs import JobRunner
from broker.service.scope import Forbidden, NotInScope, Scope

MAX_SCENARIO_FILES = 20


def _f(v: Decimal | float | None) -> float | None:
    return None if v is None else float(v)


# --------------------------------------------------------------------------- scenarios

_CACHE: OrderedDict[tuple[str, int], Scenario] = OrderedDict()
_CACHE_LOCK = threading.Lock()
_CACHE_SIZE = 8


def scenario_files(session: Session, scenario_id: int) -> list[tuple[str, bytes]]:
    """A stored scenario's files (no scope: callers reach a scenario through a scoped row)."""
    rows = session.execute(
        select(ScenarioFile.filename, ScenarioFile.content)
        .where(ScenarioFile.scenario_id == scenario_id)
        .order_by(ScenarioFile.filename)
    )
    return [(str(n), bytes(c)) for n, c in rows]


def stored_scenario(session: Session, scenario_id: int) -> Scenario:
    """A stored scenario, read and validated (kept in a small in-memory cache)."""
    from broker.scenario import read_scenario

    bind = session.get_bind()
    key = (str(getattr(bind, "url", "")), scenario_id)
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    folder = Path(tempfile.mkdtemp(prefix="broker-scenario-"))
    try:
        for name, content in scenario_files(session, scenario_id):
            (folder / name).write_bytes(content)
        scenario = read_scenario(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    with _CACHE_LOCK:
        _CACHE[key] = scenario
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return scenario


def list_scenarios(session: Session, scope: Scope) -> list[sc.ScenarioOut]:
    return [
        _scenario_out(r)
        for r in session.scalars(scope.select(ScenarioRecord).order_by(ScenarioRecord.id))
    ]


def get_scenario(session: Session, scope: Scope, scenario_id: int) -> sc.ScenarioOut:
    return _scenario_out(scope.get(session, ScenarioRecord, scenario_id))


def _scenario_out(r: ScenarioRecord) -> sc.ScenarioOut:
    return sc.ScenarioOut(
        id=r.id,
        name=r.name,
        sha256=r.sha256,
        recorded_at=r.recorded_at,
        recorded_by=r.recorded_by,
        files=[f.filename for f in r.files],
    )


def upload_scenario(
    session: Session, scope: Scope, data: bytes, filename: str, max_bytes: int
) -> sc.ScenarioOut:
    """Store a scenario uploaded as a zip of its folder, after reading and validating it.

    The zip may hold the files at its top or in one folder. Only ``*.toml`` and
    ``*.csv`` files are taken; paths are never used to write outside a fresh
    temporary folder.
    """
    from broker.scenario import read_scenario

    scope.require("upload_scenario")
    where = filename or "upload"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, ValueError):
        raise InputError.one(where, "not a zip file; expected a zip of a scenario folder") from None
    picked: dict[str, zipfile.ZipInfo] = {}
    for m in members:
        path = PurePosixPath(m.filename.replace("\\", "/"))
        if path.name.startswith(".") or "__MACOSX" in path.parts:
            continue
        if path.suffix.lower() not in repo.SCENARIO_SUFFIXES:
            continue
        if path.name in picked:
            raise InputError.one(
                where, "two files with this name; zip one scenario folder", value=path.name
            )
        picked[path.name] = m
    if "scenario.toml" not in picked:
        raise InputError.one(where, "no scenario.toml in the zip; zip a scenario folder")
    if len(picked) > MAX_SCENARIO_FILES:
        raise InputError.one(where, f"more than {MAX_SCENARIO_FILES} scenario files")
    total = sum(m.file_size for m in picked.values())
    if total > max_bytes:
        raise InputError.one(where, f"the files unpack to {total:,} bytes; at most {max_bytes:,}")
    folder = Path(tempfile.mkdtemp(prefix="broker-upload-"))
    try:
        for name, m in picked.items():
            try:
                data = archive.read(m)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, zlib.error) as exc:
                # a damaged member (bad CRC), a password or an unsupported compression
                raise InputError.one(
                    where,
                    f"cannot unpack it ({exc}); expected a zip of a scenario folder made "
                    "without a password, e.g. with 'Send to > Compressed folder'",
                    value=m.filename,
                ) from None
            (folder / name).write_bytes(data)
        try:
            scenario = read_scenario(folder)
        except InputError as exc:  # name the upload, not the temporary folder
            prefix = str(folder) + "/"
            raise InputError(
                [
                    dataclasses.replace(q, file=f"{where}, {q.file.removeprefix(prefix)}")
                    if q.file.startswith(prefix)
                    else (dataclasses.replace(q, file=where) if q.file == str(folder) else q)
                    for q in exc.problems
                ]
            ) from None
        files = repo.ScenarioFiles.from_folder(folder, scenario.name)
        files = repo.ScenarioFiles(files.name, files.files, source=f"upload:{where}"[:1000])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    repo.lock(session)
    rec = repo.store_scenario(session, files, scope.user)
    session.flush()
    return _scenario_out(rec)


# --------------------------------------------------------------------------- rounds


def _round_counts(session: Session, scope: Scope, round_ids: list[int]) -> dict[int, tuple]:
    """Per round: clients, matched clients, priority matched and priority in all (visible rows)."""
    if not round_ids:
        return {}
    lead = RoundOutcome.role == "lead"
    matched = lead & RoundOutcome.supporter_id.is_not(None)
    q = (
        select(
            RoundOutcome.round_id,
            func.count(func.distinct(RoundOutcome.client_id)),
            func.sum(case((matched, 1), else_=0)),
            func.sum(case((matched, RoundOutcome.priority), else_=0)),
            func.sum(case((lead, RoundOutcome.priority), else_=0)),
        )
        .where(RoundOutcome.round_id.in_(round_ids), scope.aggregate_clause(RoundOutcome))
        .group_by(RoundOutcome.round_id)
    )
    return {int(r[0]): tuple(int(x or 0) for x in r[1:]) for r in session.execute(q)}


def _round_out(r: Round, counts: tuple) -> dict[str, Any]:
    clients, matched, prio, total = counts if counts else (0, 0, 0, 0)
    return dict(
        id=r.id,
        name=r.name,
        kind=r.kind,
        scenario_id=r.scenario_id,
        solver_status=r.solver_status,
        seed=r.seed,
        run_by=r.run_by,
        started_at=r.started_at,
        finished_at=r.finished_at,
        clients=clients,
        matched=matched,
        priority_matched=prio,
        priority_total=total,
    )


def list_rounds(session: Session, scope: Scope) -> list[sc.RoundOut]:
    rounds = list(session.scalars(scope.select(Round).order_by(Round.id.desc())))
    counts = _round_counts(session, scope, [r.id for r in rounds])
    return [sc.RoundOut(**_round_out(r, counts.get(r.id, ()))) for r in rounds]


def get_round(session: Session, scope: Scope, round_id: int) -> sc.RoundDetail:
    r = scope.get(session, Round, round_id)
    counts = _round_counts(session, scope, [r.id])
    outcomes = list(
        session.scalars(
            scope.select(RoundOutcome, RoundOutcome.round_id == r.id).order_by(
                RoundOutcome.client_id, RoundOutcome.role
            )
        )
    )
    reasons, fixes = _round_reasons(session, r.id)
    names_c: dict[str, str] = {}
    names_s: dict[str, str] = {}
    if outcomes:
        try:
            scen = stored_scenario(session, r.scenario_id)
            if "name" in scen.clients.columns:
                names_c = dict(zip(scen.clients["client_id"], scen.clients["name"], strict=True))
            if "name" in scen.supporters.columns:
                names_s = dict(
                    zip(scen.supporters["supporter_id"], scen.supporters["name"], strict=True)
                )
        except InputError:
            pass
    rows = [
        sc.OutcomeOut(
            client_id=o.client_id,
            client_name=_text(names_c.get(o.client_id)),
            role=o.role,
            supporter_id=o.supporter_id,
            supporter_name=_text(names_s.get(o.supporter_id or "")),
            status=o.status,
            la_code=o.la_code,
            priority=o.priority,
            need_days=float(o.need_days),
            days_per_week=float(o.days_per_week),
            cost_gbp=float(o.cost_gbp),
            distance_km=_f(o.distance_km),
            reason_code=o.reason_code,
            reason=reasons.get(f"{o.client_id}|{o.role}"),
            fixes=_visible_fixes(scope, fixes.get(f"{o.client_id}|{o.role}", [])),
            deployment_id=o.deployment_id,
        )
        for o in outcomes
    ]
    return sc.RoundDetail(**_round_out(r, counts.get(r.id, ())), outcomes=rows)


def _text(v: Any) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) else str(v)


def _round_reasons(
    session: Session, round_id: int
) -> tuple[dict[str, str], dict[str, list[dict[str, Any]]]]:
    """Reason sentences and fixes kept by the service job that ran the round (if it ran here)."""
    result = session.scalar(
        select(ServiceJob.result).where(ServiceJob.round_id == round_id, ServiceJob.kind == "round")
    )
    result = result or {}
    return dict(result.get("reasons") or {}), dict(result.get("fixes") or {})


def _visible_fixes(scope: Scope, fixes: list[dict[str, Any]]) -> list[str]:
    """Fix sentences the caller may read: a fix that displaces other schools names them,
    so only programme users see those."""
    return [
        str(f["fix_text"]) for f in fixes if scope.everything or f.get("fix_kind") != "displace"
    ]


def round_map(session: Session, scope: Scope, detail: sc.RoundDetail) -> dict[str, Any]:
    """Points and lines for the round page's SVG map (only what the caller may see).

    Clients are the round's visible outcomes; supporters only those matched to them.
    Coordinates are British National Grid metres, scaled into a 600 x 520 box.
    """
    empty = {"clients": [], "supporters": [], "lines": [], "width": 600, "height": 520}
    if not detail.outcomes:
        return empty
    try:
        scen = stored_scenario(session, detail.scenario_id)
    except InputError:  # a scenario this broker can no longer read: no map, the tables stay
        return empty
    cli = scen.clients.drop_duplicates("client_id").set_index("client_id")
    sup = scen.supporters.drop_duplicates("supporter_id").set_index("supporter_id")
    cids = sorted({o.client_id for o in detail.outcomes if o.client_id in cli.index})
    sids = sorted(
        {o.supporter_id for o in detail.outcomes if o.supporter_id and o.supporter_id in sup.index}
    )
    xs = list(cli.loc[cids, "easting"]) + list(sup.loc[sids, "easting"])
    ys = list(cli.loc[cids, "northing"]) + list(sup.loc[sids, "northing"])
    w, h, pad = 600, 520, 20
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0, 1000.0)
    k = min((w - 2 * pad) / span, (h - 2 * pad) / span)

    def pt(e: float, n: float) -> tuple[float, float]:
        return round(pad + (e - x0) * k, 1), round(h - pad - (n - y0) * k, 1)

    matched = {o.client_id for o in detail.outcomes if o.supporter_id}
    clients = [
        {
            "id": c,
            "xy": pt(float(cli.at[c, "easting"]), float(cli.at[c, "northing"])),
            "matched": c in matched,
        }
        for c in cids
    ]
    sxy = {s: pt(float(sup.at[s, "easting"]), float(sup.at[s, "northing"])) for s in sids}
    cxy = {c["id"]: c["xy"] for c in clients}
    lines = [
        {"from": sxy[o.supporter_id], "to": cxy[o.client_id], "role": o.role}
        for o in detail.outcomes
        if o.supporter_id in sxy and o.client_id in cxy
    ]
    return {
        "clients": clients,
        "supporters": [{"id": s, "xy": sxy[s]} for s in sids],
        "lines": lines,
        "width": w,
        "height": h,
    }


# --------------------------------------------------------------------------- deployments


def _dep_out(d: Deployment) -> dict[str, Any]:
    return dict(
        id=d.id,
        client_id=d.client_id,
        role=d.role,
        supporter_id=d.supporter_id,
        supporter_kind=d.supporter_kind,
        la_code=d.la_code,
        priority=d.priority,
        stage=d.stage,
        days_per_week=float(d.days_per_week),
        weeks=d.weeks,
        cost_gbp=float(d.cost_gbp),
        distance_km=_f(d.distance_km),
        round_id=d.round_id,
        replaces_id=d.replaces_id,
        updated_at=d.updated_at,
    )


def list_deployments(
    session: Session,
    scope: Scope,
    *,
    stages: list[str] | None = None,
    la_code: str | None = None,
    client_id: str | None = None,
    round_id: int | None = None,
    include_final: bool = False,
    limit: int = 1000,
) -> list[sc.DeploymentOut]:
    where: list[Any] = []
    if stages:
        where.append(Deployment.stage.in_([parse_stage(s, column="stage").value for s in stages]))
    elif not include_final:
        where.append(Deployment.is_open.is_not(None))
    if la_code:
        where.append(Deployment.la_code == la_code)
    if client_id:
        where.append(Deployment.client_id == client_id)
    if round_id is not None:
        where.append(Deployment.round_id == round_id)
    q = scope.select(Deployment, *where).order_by(Deployment.id).limit(limit)
    return [sc.DeploymentOut(**_dep_out(d)) for d in session.scalars(q)]


def get_deployment(session: Session, scope: Scope, deployment_id: int) -> sc.DeploymentDetail:
    d = scope.get(session, Deployment, deployment_id)
    history = session.scalars(
        scope.select(StageChange, StageChange.deployment_id == d.id).order_by(StageChange.id)
    )
    moves = [m.value for m in legal_moves(Stage(d.stage))] if scope.can("move_stage") else []
    return sc.DeploymentDetail(
        **_dep_out(d),
        history=[
            sc.StageChangeOut(
                from_stage=h.from_stage, to_stage=h.to_stage, at=h.at, user=h.user, note=h.note
            )
            for h in history
        ],
        legal_moves=moves,
    )


def move_stage(
    session: Session,
    scope: Scope,
    deployment_id: int,
    stage: str,
    *,
    note: str | None = None,
    reason: str | None = None,
) -> sc.DeploymentDetail:
    """Move one deployment to its next stage (the ledger's stage machine decides what is legal)."""
    d = scope.get(session, Deployment, deployment_id)
    scope.require("move_stage")
    target = parse_stage(stage, column="stage")
    if d.is_open is None:
        raise InputError.one(
            "<request>",
            f"deployment #{d.id} is {d.stage}, a final stage (legal moves: none)",
            column="stage",
            value=stage,
        )
    repo.move_stage(
        session,
        d.client_id,
        target,
        user=scope.user,
        note=note or None,
        reason=reason or None,
        round_id=d.round_id,
        role=d.role,
    )
    session.flush()
    return get_deployment(session, scope, deployment_id)


def summary(session: Session, scope: Scope) -> sc.SummaryOut:
    q = (
        select(Deployment.la_code, Deployment.stage, func.count(Deployment.id))
        .where(scope.aggregate_clause(Deployment))
        .group_by(Deployment.la_code, Deployment.stage)
        .order_by(Deployment.la_code, Deployment.stage)
    )
    n = session.scalar(select(func.count()).select_from(scope.select(Round).subquery()))
    return sc.SummaryOut(
        rounds=int(n or 0),
        by_stage=[
            sc.StageCount(la_code=a, stage=b, deployments=int(c)) for a, b, c in session.execute(q)
        ],
    )


# --------------------------------------------------------------------------- jobs


def _job_out(job: ServiceJob, runner: JobRunner | None) -> dict[str, Any]:
    return dict(
        id=job.id,
        kind=job.kind,
        name=job.name,
        status=job.status,
        la_code=job.la_code,
        scenario_id=job.scenario_id,
        base_round_id=job.base_round_id,
        round_id=job.round_id,
        message=job.message,
        error=job.error,
        progress=runner.progress(job.id) if runner else [],
        created_at=job.created_at,
        created_by=job.created_by,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def start_round(
    session: Session,
    scope: Scope,
    runner: JobRunner,
    body: sc.RoundStartIn,
    *,
    default_time_s: float,
    max_time_s: float,
) -> ServiceJob:
    """Queue a round on a stored scenario; it is solved and recorded by a worker process."""
    rec = scope.get(session, ScenarioRecord, body.scenario_id)
    scope.require("start_round")
    params = {
        "name": body.name,
        "top_up": body.top_up,
        "fixes": body.fixes,
        "time_limit_s": min(body.time_limit_s or default_time_s, max_time_s),
        "seed": body.seed,
        "solver": "cpsat",
        "workers": 1,
    }
    job = _new_job(session, scope, "round", rec.id, params, name=body.name)
    files = scenario_files(session, rec.id)
    session.commit()
    runner.submit(job.id, "round", files, params, scope.user)
    return job


def _new_job(
    session: Session,
    scope: Scope,
    kind: str,
    scenario_id: int,
    params: dict[str, Any],
    *,
    name: str | None,
    la_code: str | None = None,
    base_round_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> ServiceJob:
    job = ServiceJob(
        kind=kind,
        name=name,
        status="queued",
        la_code=la_code,
        scenario_id=scenario_id,
        base_round_id=base_round_id,
        parameters=params,
        changes=changes or {},
        message="waiting for a worker",
        created_at=utcnow(),
        created_by=scope.user,
    )
    session.add(job)
    session.flush()
    repo.audit(
        session,
        scope.user,
        f"{kind}_started",
        round_id=base_round_id,
        job_id=job.id,
        scenario_id=scenario_id,
        la_code=la_code,
        name=name,
    )
    return job


def list_jobs(session: Session, scope: Scope, runner: JobRunner, kind: str) -> list[dict[str, Any]]:
    q = scope.select(ServiceJob, ServiceJob.kind == kind).order_by(ServiceJob.id.desc())
    return [_job_out(j, runner) | {"changes": j.changes} for j in session.scalars(q)]


def get_job(
    session: Session, scope: Scope, runner: JobRunner, job_id: int, kind: str
) -> dict[str, Any]:
    job = scope.get(session, ServiceJob, job_id)
    if job.kind != kind:
        raise NotInScope(f"no {kind} {job_id}")
    return _job_out(job, runner) | {"changes": job.changes}


def cancel_job(
    session: Session, scope: Scope, runner: JobRunner, job_id: int, kind: str
) -> dict[str, Any]:
    job = scope.get(session, ServiceJob, job_id)
    if job.kind != kind:
        raise NotInScope(f"no {kind} {job_id}")
    scope.require("cancel_job")
    session.commit()  # release the write lock: the runner writes the job's row
    outcome = runner.cancel(job.id, scope.user)
    if outcome == "recording":
        raise InputError.one(
            "<request>", "the round is being recorded in the ledger; it can no longer be cancelled"
        )
    session.expire_all()
    return get_job(session, scope, runner, job_id, kind)


# --------------------------------------------------------------------------- what-ifs


def start_whatif(
    session: Session,
    scope: Scope,
    runner: JobRunner,
    body: sc.WhatIfIn,
    *,
    default_time_s: float,
    max_time_s: float,
) -> ServiceJob:
    """Queue a what-if: the base round's scenario with ``body.changes``, solved again.

    An ``la`` user's what-if belongs to one of its authorities; it may change that
    authority's budget and rule, and the capacity and reach of supporters of its
    authorities or matched to its clients in the base round.
    """
    rnd = scope.get(session, Round, body.base_round_id)
    scope.require("whatif")
    la = body.la_code
    changes = body.changes
    if scope.role == "la":
        if la is None:
            la = scope.la_codes[0]
        if la not in scope.la_codes:
            raise NotInScope(f"no authority {la}")
        foreign = sorted(
            (set(changes.authority_budgets) | set(changes.cross_la)) - set(scope.la_codes)
        )
        if foreign:
            raise InputError.one(
                "<request>",
                "you may change only your own authority's budget and rule",
                column="changes",
                value=foreign[0],
            )
        if changes.supporters:
            allowed = _supporters_for(session, scope, rnd)
            other = sorted(set(changes.supporters) - allowed)
            if other:
                raise InputError.one(
                    "<request>",
                    "you may change only supporters of your authority or matched to your "
                    "clients in the base round",
                    column="changes.supporters",
                    value=other[0],
                )
    wanted: dict[str, Any] = changes.model_dump(exclude_none=True)
    params = {
        "changes": wanted,
        "time_limit_s": min(body.time_limit_s or default_time_s, max_time_s),
        "seed": body.seed,
    }
    job = _new_job(
        session,
        scope,
        "whatif",
        rnd.scenario_id,
        params,
        name=body.name,
        la_code=la,
        base_round_id=rnd.id,
        changes=wanted,
    )
    files = scenario_files(session, rnd.scenario_id)
    session.commit()
    runner.submit(job.id, "whatif", files, params, scope.user)
    return job


def _supporters_for(session: Session, scope: Scope, rnd: Round) -> set[str]:
    scen = stored_scenario(session, rnd.scenario_id)
    own = scen.supporters.loc[scen.supporters["la_code"].isin(scope.la_codes), "supporter_id"]
    matched = session.scalars(
        select(RoundOutcome.supporter_id).where(
            RoundOutcome.round_id == rnd.id,
            RoundOutcome.supporter_id.is_not(None),
            scope.clause(RoundOutcome),
        )
    )
    return set(own) | {s for s in matched if s}


def whatif_diff(session: Session, scope: Scope, job_id: int) -> sc.DiffOut:
    """A finished what-if against its base round, limited to what the caller may see."""
    job = scope.get(session, ServiceJob, job_id)
    if job.kind != "whatif":
        raise NotInScope(f"no what-if {job_id}")
    if job.status != "done" or not job.result or job.base_round_id is None:
        raise InputError.one(
            "<request>", f"the what-if is {job.status}; its diff exists once it is done"
        )
    before = view_from_round(session, job.base_round_id)
    after = RoundView(f"what-if {job.id}", pd.DataFrame(job.result["view"]))
    after.table["supporter_id"] = after.table["supporter_id"].fillna("")
    d = diff(before, after)
    clients = d.clients
    auth = d.authorities
    if not scope.everything:
        clients = clients[clients["la_code"].isin(scope.la_codes)]
        auth = auth[auth["la_code"].isin(scope.la_codes)]
    return sc.DiffOut(
        whatif_id=job.id,
        base_round_id=job.base_round_id,
        counts={
            k: int((clients["change"] == k).sum()) for k in ("gained", "lost", "changed", "same")
        },
        clients=[
            sc.DiffRow(**r) for r in clients[list(sc.DiffRow.model_fields)].to_dict("records")
        ],
        authorities=[
            sc.AuthorityRow(**r)
            for r in auth[list(sc.AuthorityRow.model_fields)].to_dict("records")
        ],
    )


# --------------------------------------------------------------------------- recommend, audit


def recommend(session: Session, scope: Scope, body: sc.RecommendIn) -> sc.RecommendOut:
    """The best supporters for one urgent request of a client in a round's scenario.

    Proposals of other authorities that would be displaced are counted, not named,
    for an ``la`` user.
    """
    from broker.ledger.recommend import recommend as best

    rnd = scope.get(session, Round, body.round_id)
    visible = session.scalar(
        scope.select(
            RoundOutcome, RoundOutcome.round_id == rnd.id, RoundOutcome.client_id == body.client_id
        ).limit(1)
    )
    if visible is None and not scope.everything:
        raise NotInScope(f"no client {body.client_id}")
    scope.require("recommend")
    scen = stored_scenario(session, rnd.scenario_id)
    deployments = repo.deployments_frame(session)
    r = best(scen, deployments, body.client_id, top=body.top)
    seen = set(session.scalars(select(Deployment.client_id).where(scope.clause(Deployment))))
    rows = []
    for t in r.table.to_dict("records"):
        displaces = str(t["displaces"] or "")
        if not scope.everything and displaces:
            parts = [p.strip() for p in displaces.split(";")]
            shown = [p for p in parts if p.split(" ")[0] in seen]
            hidden = len(parts) - len(shown)
            displaces = "; ".join(
                shown + ([f"{hidden} proposal(s) of other authorities"] if hidden else [])
            )
        days = t["days_free_after"]
        rows.append(
            sc.RecommendRow(
                rank=int(t["rank"]),
                supporter_id=str(t["supporter_id"]),
                name=str(t["name"]),
                kind=str(t["kind"]),
                la_code=str(t["la_code"]),
                cost_gbp=float(t["cost_gbp"]),
                distance_km=float(t["distance_km"]),
                days_free_after=None if days != days else float(days),
                displaces=displaces,
                displaced_priority=int(t["displaced_priority"]),
            )
        )
    return sc.RecommendOut(
        client_id=r.client_id,
        priority=r.priority,
        la_code=r.la_code,
        need_days=r.need_days,
        considered=r.considered,
        notes=[n for n in r.notes],
        supporters=rows,
    )


def audit(session: Session, scope: Scope, limit: int = 100) -> list[sc.AuditOut]:
    scope.require("audit")
    q = scope.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    return [
        sc.AuditOut(
            id=e.id,
            at=e.at,
            user=e.user,
            action=e.action,
            round_id=e.round_id,
            deployment_id=e.deployment_id,
            client_id=e.client_id,
            detail=e.detail if scope.everything else {},
        )
        for e in session.scalars(q)
    ]


__all__ = ["Forbidden", "NotInScope"]
