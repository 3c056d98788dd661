"""Every read and write of the ledger, with the business rules.

Functions take an open :class:`sqlalchemy.orm.Session` (see
:meth:`broker.ledger.db.Ledger.session`) and never commit themselves: the caller's
``with ledger.session()`` block is the transaction, so a change and its audit
rows are committed together or not at all.

Every function that writes starts with :func:`lock`, which increments the single
``ledger_state`` row. On PostgreSQL that takes a row lock; on SQLite the
transaction already holds the write lock (``BEGIN IMMEDIATE``). Writers therefore
queue, and each one reads the rows the previous one committed: two rounds
recorded at once, or a stage change during a round, never lose or duplicate a row.
Unique constraints back this up: a round's ``run_id`` is unique, and a client has
at most one current deployment per role.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from broker.errors import InputError
from broker.ledger.models import (
    AuditEntry,
    Deployment,
    LedgerState,
    Round,
    RoundOutcome,
    ScenarioFile,
    ScenarioRecord,
    StageChange,
    utcnow,
)
from broker.ledger.stages import (
    COMMITTED,
    OPEN,
    TERMINAL,
    Stage,
    check_transition,
    legal_moves,
    path_to,
)

ENV_USER = "BROKER_USER"
SCENARIO_SUFFIXES = (".toml", ".csv")


# ---------------------------------------------------------------------------
# users, locking, audit


def current_user(explicit: str | None = None) -> str:
    """Who is acting: ``--user``, else ``$BROKER_USER``, else the OS login name."""
    for candidate in (explicit, os.environ.get(ENV_USER)):
        if candidate and candidate.strip():
            return candidate.strip()[:100]
    try:
        return getpass.getuser()[:100] or "unknown"
    except (KeyError, OSError):  # no passwd entry (e.g. some containers)
        return "unknown"


def lock(session: Session) -> int:
    """Take the ledger's write lock for this transaction and return the new version."""
    session.execute(
        update(LedgerState).where(LedgerState.id == 1).values(version=LedgerState.version + 1)
    )
    return version(session)


def version(session: Session) -> int:
    """The ledger's version: how many write transactions have been committed."""
    v = session.scalar(select(LedgerState.version).where(LedgerState.id == 1))
    return int(v or 0)


def audit(
    session: Session,
    user: str,
    action: str,
    *,
    round_id: int | None = None,
    deployment_id: int | None = None,
    client_id: str | None = None,
    **detail: Any,
) -> None:
    """Append one audit row (in the caller's transaction)."""
    session.add(
        AuditEntry(
            at=utcnow(),
            user=user,
            action=action,
            round_id=round_id,
            deployment_id=deployment_id,
            client_id=client_id,
            detail=_jsonable(detail),
        )
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


# ---------------------------------------------------------------------------
# scenarios


@dataclass(frozen=True)
class ScenarioFiles:
    """A scenario's input files, in name order, as bytes."""

    name: str
    files: tuple[tuple[str, bytes], ...]
    source: str | None = None

    @property
    def sha256(self) -> str:
        """Hash of the file names and contents (the scenario's identity)."""
        h = hashlib.sha256()
        for fname, content in self.files:
            h.update(fname.encode() + b"\0" + hashlib.sha256(content).digest())
        return h.hexdigest()

    @classmethod
    def from_folder(cls, folder: str | Path, name: str) -> ScenarioFiles:
        """The scenario files (``*.toml``, ``*.csv``) at the top of ``folder``."""
        root = Path(folder)
        files = tuple(
            (p.name, p.read_bytes())
            for p in sorted(root.iterdir())
            if p.is_file() and p.suffix.lower() in SCENARIO_SUFFIXES
        )
        return cls(name=name, files=files, source=str(root.resolve()))


def store_scenario(session: Session, scenario: ScenarioFiles, user: str) -> ScenarioRecord:
    """The stored scenario with these files, storing it if it is new (call under :func:`lock`)."""
    sha = scenario.sha256
    found = session.scalar(select(ScenarioRecord).where(ScenarioRecord.sha256 == sha))
    if found is not None:
        return found
    rec = ScenarioRecord(
        sha256=sha,
        name=scenario.name[:300],
        source=scenario.source,
        recorded_at=utcnow(),
        recorded_by=user,
    )
    session.add(rec)
    session.flush()
    for fname, content in scenario.files:
        session.add(
            ScenarioFile(
                scenario_id=rec.id,
                filename=fname,
                sha256=hashlib.sha256(content).hexdigest(),
                size_bytes=len(content),
                content=content,
            )
        )
    audit(session, user, "scenario_stored", scenario_id=rec.id, sha256=sha, name=rec.name)
    return rec


def restore_scenario(session: Session, scenario_id: int, folder: str | Path) -> Path:
    """Write a stored scenario's files into ``folder`` (created) so a round can be re-run."""
    rec = session.get(ScenarioRecord, scenario_id)
    if rec is None:
        raise InputError.one("<arguments>", "no scenario with this id", value=scenario_id)
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    for f in rec.files:
        (root / f.filename).write_bytes(f.content)
    return root


# ---------------------------------------------------------------------------
# rounds


OUTCOME_FIELDS = (
    "client_id",
    "role",
    "supporter_id",
    "status",
    "la_code",
    "priority",
    "need_days",
    "days_per_week",
    "cost_gbp",
    "distance_km",
    "reason_code",
    "weeks",
    "supporter_kind",
    "supporter_la_code",
    "mode",
    "start_term",
    "end_term",
)
"""Columns of the outcomes table :func:`record_round` takes (one row per client and role)."""


@dataclass(frozen=True)
class Base:
    """A client's current deployment as a top-up round saw it when it was derived."""

    deployment_id: int
    stage: str
    supporter_id: str


@dataclass(frozen=True)
class RoundInput:
    """Everything needed to record a round.

    Attributes
    ----------
    kind
        ``"plain"``: a fresh answer for its scenario's clients; their proposals
        still at ``proposed`` are replaced. ``"top_up"``: derived from the ledger
        (see :mod:`broker.ledger.topup`); ``base`` says what each client's current
        deployment was when the round was derived, and ``changes`` why a
        proposal was changed.
    outcomes
        One row per client and role, with :data:`OUTCOME_FIELDS`.
    clients
        Every client the round covered (a top-up may also hold clients it left out
        of its scenario: those are in ``held`` and not touched).
    """

    run_id: str
    kind: str
    name: str | None
    scenario: ScenarioFiles
    base_scenario: ScenarioFiles | None
    parameters: dict[str, Any]
    seed: int
    solver: str
    solver_status: str
    stopped_by: str
    priority_matched: int
    priority_bound: int
    level2_value: int
    level2_bound: int
    summary: dict[str, Any]
    outcomes: pd.DataFrame
    started_at: Any
    finished_at: Any
    user: str
    ledger_version: int
    out_dir: str | None = None
    base: dict[tuple[str, str], Base | None] = field(default_factory=dict)
    changes: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass
class Recorded:
    """What recording a round did."""

    round_id: int
    created: int = 0
    kept: int = 0
    replaced: int = 0
    withdrawn: int = 0
    pinned: int = 0
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    """(client_id, role, why) of clients left as they were because the ledger changed."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "round_id": self.round_id,
            "deployments_created": self.created,
            "proposals_kept": self.kept,
            "proposals_replaced": self.replaced,
            "proposals_withdrawn": self.withdrawn,
            "pinned": self.pinned,
            "skipped": [{"client_id": c, "role": r, "why": w} for c, r, w in self.skipped],
        }


def open_deployments(
    session: Session, client_ids: Iterable[str] | None = None
) -> dict[tuple[str, str], Deployment]:
    """Current (not final) deployments by (client_id, role), optionally for some clients."""
    q = select(Deployment).where(Deployment.is_open.is_not(None))
    if client_ids is None:
        rows = list(session.scalars(q))
    else:
        ids = sorted(set(client_ids))
        rows = []
        for chunk in range(0, len(ids), 500):
            part = ids[chunk : chunk + 500]
            rows += list(session.scalars(q.where(Deployment.client_id.in_(part))))
    return {(d.client_id, d.role): d for d in rows}


def plain_round_blockers(session: Session, client_ids: Iterable[str]) -> list[Deployment]:
    """Current deployments past ``proposed`` for these clients (a plain round must not run)."""
    return sorted(
        (d for d in open_deployments(session, client_ids).values() if d.stage != Stage.PROPOSED),
        key=lambda d: (d.client_id, d.role),
    )


def record_round(session: Session, data: RoundInput) -> Recorded:
    """Record a round, its outcomes and the deployment changes it implies, atomically.

    Plain rounds: each client's proposal still at ``proposed`` is withdrawn
    ("replaced by round N") and every matched pair becomes a new ``proposed``
    deployment. A client whose current deployment has moved past ``proposed`` is
    left untouched and reported in :attr:`Recorded.skipped`.

    Top-up rounds: committed deployments are kept (they were pinned); a proposal
    the round kept stays as it is; a proposal the round changed is withdrawn with
    the reason from ``data.changes`` and its replacement is proposed. If a
    client's current deployment changed after the round was derived (a stage change
    or another round in between), that client is left untouched and reported.

    Raises
    ------
    broker.errors.InputError
        If a round with the same ``run_id`` is already recorded.
    """
    lock(session)
    if session.scalar(select(Round.id).where(Round.run_id == data.run_id)) is not None:
        raise InputError.one(
            "<ledger>", "this run is already recorded; a round is recorded once", value=data.run_id
        )
    user = data.user
    scen = store_scenario(session, data.scenario, user)
    base_scen = store_scenario(session, data.base_scenario, user) if data.base_scenario else None
    now = utcnow()
    out = data.outcomes
    rnd = Round(
        run_id=data.run_id,
        name=data.name,
        kind=data.kind,
        scenario_id=scen.id,
        base_scenario_id=base_scen.id if base_scen else None,
        parameters=_jsonable(data.parameters),
        seed=int(data.seed),
        solver=data.solver,
        solver_status=data.solver_status,
        stopped_by=data.stopped_by,
        priority_matched=int(data.priority_matched),
        priority_bound=int(data.priority_bound),
        level2_value=int(data.level2_value),
        level2_bound=int(data.level2_bound),
        matched=int((out["supporter_id"].fillna("") != "").sum()),
        ledger_version=int(data.ledger_version),
        summary=_jsonable(data.summary),
        out_dir=data.out_dir,
        started_at=data.started_at,
        finished_at=data.finished_at,
        recorded_at=now,
        run_by=user,
    )
    session.add(rnd)
    session.flush()
    result = Recorded(round_id=rnd.id)
    rows = {(str(r["client_id"]), str(r["role"])): r for r in out.to_dict("records")}
    current = open_deployments(session, {c for c, _ in rows} | {c for c, _ in data.base})
    keys = sorted(set(rows) | {k for k in current if k[0] in {c for c, _ in rows}})
    links: dict[tuple[str, str], int] = {}
    new_rows: list[tuple[tuple[str, str], dict[str, Any], int | None]] = []
    for key in keys:
        row = rows.get(key)
        cur = current.get(key)
        want = _supporter(row)
        if data.kind == "plain":
            if cur is not None and cur.stage != Stage.PROPOSED:
                result.skipped.append(
                    (
                        *key,
                        f"deployment #{cur.id} is at stage {cur.stage}; a plain round "
                        "replaces only proposals at stage proposed (use --top-up)",
                    )
                )
                continue
            if cur is not None:
                _move(session, cur, Stage.WITHDRAWN, user, f"replaced by round {rnd.id}", rnd.id)
                result.replaced += 1
            if want is not None:
                new_rows.append((key, row, cur.id if cur is not None else None))  # type: ignore[arg-type]
            continue
        # top-up
        base = data.base.get(key)
        if (base is None) != (cur is None) or (
            base is not None and cur is not None and base.deployment_id != cur.id
        ):
            was = f"deployment #{base.deployment_id}" if base else "no current deployment"
            now_ = f"deployment #{cur.id} ({cur.stage})" if cur else "no current deployment"
            result.skipped.append(
                (
                    *key,
                    f"changed while the round ran: it had {was}, now {now_}; "
                    "run the top-up again to revisit it",
                )
            )
            continue
        if cur is None:
            if want is not None:
                new_rows.append((key, row, None))  # type: ignore[arg-type]
            continue
        if want == cur.supporter_id:
            if cur.stage in COMMITTED:
                result.pinned += 1
            else:
                result.kept += 1
            links[key] = cur.id
            continue
        if base is not None and cur.stage != base.stage:
            result.skipped.append(
                (
                    *key,
                    f"deployment #{cur.id} moved from {base.stage} to {cur.stage} while "
                    "the round ran; the round's change to it was not applied",
                )
            )
            continue
        if cur.stage in COMMITTED:  # a pinned deployment the round did not keep: a bug
            raise AssertionError(
                f"round {rnd.id} would change committed deployment #{cur.id} (a bug in broker)"
            )
        why = data.changes.get(key) or "changed by a top-up round to match more priority"
        _move(session, cur, Stage.WITHDRAWN, user, f"round {rnd.id}: {why}", rnd.id)
        result.withdrawn += 1
        if want is not None:
            new_rows.append((key, row, cur.id))  # type: ignore[arg-type]
    session.flush()  # withdrawals first: a client has one current deployment per role
    made = [
        (key, _new_deployment(session, row, rnd, scen.id, user, replaces), replaces)
        for key, row, replaces in new_rows
    ]
    session.flush()  # one batch of inserts gives every new deployment its id
    for key, dep, replaces in made:
        _proposed_history(session, dep, rnd, user, replaces)
        links[key] = dep.id
        result.created += 1
    for key in rows:
        r = rows[key]
        session.add(
            RoundOutcome(
                round_id=rnd.id,
                client_id=key[0],
                role=key[1],
                supporter_id=_supporter(r),
                status=str(r["status"]),
                la_code=str(r["la_code"]),
                priority=int(r["priority"]),
                need_days=_dec(r["need_days"], 2),
                days_per_week=_dec(r["days_per_week"], 2),
                cost_gbp=_dec(r["cost_gbp"], 4),
                distance_km=_dec(r["distance_km"], 2),
                reason_code=(str(r["reason_code"]) or None) if _present(r["reason_code"]) else None,
                deployment_id=links.get(key),
            )
        )
    audit(
        session,
        user,
        "round_recorded",
        round_id=rnd.id,
        run_id=data.run_id,
        kind=data.kind,
        name=data.name,
        scenario_id=scen.id,
        base_scenario_id=base_scen.id if base_scen else None,
        seed=int(data.seed),
        solver_status=data.solver_status,
        priority_matched=int(data.priority_matched),
        **{k: v for k, v in result.as_dict().items() if k != "round_id"},
    )
    return result


def _present(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and v != v) and str(v) != ""


def _supporter(row: dict[str, Any] | None) -> str | None:
    if row is None or not _present(row.get("supporter_id")):
        return None
    return str(row["supporter_id"])


def _dec(v: Any, places: int) -> Decimal | None:
    if not _present(v):
        return None
    d = Decimal(repr(float(v))) if isinstance(v, float) else Decimal(str(v))
    return d.quantize(Decimal(1).scaleb(-places))


def _opt_int(v: Any) -> int | None:
    return int(v) if _present(v) else None


def _new_deployment(
    session: Session,
    row: dict[str, Any],
    rnd: Round,
    scenario_id: int,
    user: str,
    replaces: int | None,
) -> Deployment:
    now = utcnow()
    dep = Deployment(
        client_id=str(row["client_id"]),
        supporter_id=str(row["supporter_id"]),
        role=str(row["role"]),
        supporter_kind=str(row["supporter_kind"]) if _present(row.get("supporter_kind")) else None,
        mode=str(row["mode"]) if _present(row.get("mode")) else None,
        la_code=str(row["la_code"]),
        supporter_la_code=(
            str(row["supporter_la_code"]) if _present(row.get("supporter_la_code")) else None
        ),
        priority=int(row["priority"]),
        days_per_week=_dec(row["days_per_week"], 2),
        weeks=int(row["weeks"]),
        start_term=_opt_int(row.get("start_term")),
        end_term=_opt_int(row.get("end_term")),
        cost_gbp=_dec(row["cost_gbp"], 4),
        distance_km=_dec(row.get("distance_km"), 2),
        stage=Stage.PROPOSED.value,
        is_open=True,
        round_id=rnd.id,
        scenario_id=scenario_id,
        replaces_id=replaces,
        created_at=now,
        created_by=user,
        updated_at=now,
    )
    session.add(dep)
    return dep


def _proposed_history(
    session: Session, dep: Deployment, rnd: Round, user: str, replaces: int | None
) -> None:
    """History and audit rows of a new deployment (after a flush gave it an id)."""
    now = dep.created_at
    session.add(
        StageChange(
            deployment_id=dep.id,
            from_stage=None,
            to_stage=Stage.PROPOSED.value,
            at=now,
            user=user,
            note=f"proposed by round {rnd.id}"
            + (f", replacing deployment #{replaces}" if replaces else ""),
            round_id=rnd.id,
        )
    )
    audit(
        session,
        user,
        "deployment_proposed",
        round_id=rnd.id,
        deployment_id=dep.id,
        client_id=dep.client_id,
        supporter_id=dep.supporter_id,
        role=dep.role,
        replaces=replaces,
        cost_gbp=dep.cost_gbp,
        days_per_week=dep.days_per_week,
    )


def _move(
    session: Session,
    dep: Deployment,
    target: Stage,
    user: str,
    note: str | None,
    round_id: int | None = None,
) -> None:
    """Apply one legal stage change with its history and audit rows (no checks)."""
    now = utcnow()
    before = dep.stage
    dep.stage = target.value
    dep.is_open = None if target in TERMINAL else True
    dep.updated_at = now
    session.add(
        StageChange(
            deployment_id=dep.id,
            from_stage=before,
            to_stage=target.value,
            at=now,
            user=user,
            note=note,
            round_id=round_id,
        )
    )
    audit(
        session,
        user,
        "stage_changed",
        round_id=round_id,
        deployment_id=dep.id,
        client_id=dep.client_id,
        supporter_id=dep.supporter_id,
        role=dep.role,
        from_stage=before,
        to_stage=target.value,
        note=note,
    )


# ---------------------------------------------------------------------------
# stage changes


def move_stage(
    session: Session,
    client_id: str,
    target: Stage,
    *,
    user: str,
    note: str | None = None,
    reason: str | None = None,
    round_id: int | None = None,
    role: str = "lead",
    through: bool = False,
) -> tuple[Deployment, list[tuple[str, str]]]:
    """Move a client's current deployment to ``target``; return it and the moves made.

    With ``through``, a forward move several stages ahead records every stage in
    between (each in the history and the audit log).

    Raises
    ------
    broker.errors.InputError
        If the client has no current deployment (for that role), if ``round_id`` is
        given and the deployment is from another round, if the move is illegal (the
        message lists the legal moves), or if ``withdrawn`` has no reason.
    """
    lock(session)
    dep = session.scalar(
        select(Deployment).where(
            Deployment.client_id == client_id,
            Deployment.role == role,
            Deployment.is_open.is_not(None),
        )
    )
    if dep is None:
        raise InputError.one(
            "<arguments>",
            _no_current_text(session, client_id, role),
            column="CLIENT_ID",
            value=client_id,
        )
    if round_id is not None and dep.round_id != round_id:
        raise InputError.one(
            "<arguments>",
            f"client {client_id}'s current deployment #{dep.id} ({dep.stage}, supporter "
            f"{dep.supporter_id}) is from round {dep.round_id}, not round {round_id}",
            column="--round",
            value=round_id,
        )
    current = Stage(dep.stage)
    steps = path_to(current, target) if through else ()
    if not steps:
        steps = (target,)
    what = f"client {client_id}'s deployment #{dep.id} (supporter {dep.supporter_id})"
    moves = []
    for step in steps:
        check_transition(current, step, reason=reason, what=what)
        text = note
        if step.value == Stage.WITHDRAWN and reason:
            text = reason if not note else f"{reason} ({note})"
        elif step == Stage.DECLINED and reason:
            text = reason if not note else f"{reason} ({note})"
        _move(session, dep, step, user, text)
        moves.append((current.value, step.value))
        current = step
    return dep, moves


def _no_current_text(session: Session, client_id: str, role: str) -> str:
    last = session.scalar(
        select(Deployment)
        .where(Deployment.client_id == client_id, Deployment.role == role)
        .order_by(Deployment.id.desc())
        .limit(1)
    )
    if last is None:
        n = session.scalar(select(func.count(Deployment.id)))
        return (
            f"no deployment has ever been recorded for this client (role {role}); "
            f"the ledger holds {n} deployment(s): check the id with 'broker deployments'"
        )
    return (
        f"this client has no current deployment (role {role}); its last one, "
        f"#{last.id} with supporter {last.supporter_id}, is {last.stage}, a final stage "
        "(legal moves: none). A new deployment comes from a round"
    )


def stage_moves_text(stage: Stage) -> str:
    """The legal moves from ``stage`` as text."""
    return ", ".join(s.value for s in legal_moves(stage)) or "none (final)"


# ---------------------------------------------------------------------------
# queries


DEPLOYMENT_COLUMNS = [
    "deployment_id",
    "client_id",
    "role",
    "supporter_id",
    "supporter_kind",
    "mode",
    "la_code",
    "supporter_la_code",
    "priority",
    "stage",
    "days_per_week",
    "weeks",
    "start_term",
    "end_term",
    "cost_gbp",
    "distance_km",
    "round_id",
    "replaces_id",
    "created_at",
    "updated_at",
]


def deployments_frame(
    session: Session,
    *,
    stages: Sequence[Stage] | None = None,
    la_code: str | None = None,
    client_id: str | None = None,
    round_id: int | None = None,
    include_final: bool = True,
) -> pd.DataFrame:
    """Deployments as a table (:data:`DEPLOYMENT_COLUMNS`), ordered by id.

    Money and days are :class:`decimal.Decimal`.
    """
    q = select(Deployment).order_by(Deployment.id)
    if stages:
        q = q.where(Deployment.stage.in_([s.value for s in stages]))
    elif not include_final:
        q = q.where(Deployment.is_open.is_not(None))
    if la_code:
        q = q.where(Deployment.la_code == la_code)
    if client_id:
        q = q.where(Deployment.client_id == client_id)
    if round_id is not None:
        q = q.where(Deployment.round_id == round_id)
    rows = [
        (
            d.id,
            d.client_id,
            d.role,
            d.supporter_id,
            d.supporter_kind,
            d.mode,
            d.la_code,
            d.supporter_la_code,
            d.priority,
            d.stage,
            d.days_per_week,
            d.weeks,
            d.start_term,
            d.end_term,
            d.cost_gbp,
            d.distance_km,
            d.round_id,
            d.replaces_id,
            d.created_at,
            d.updated_at,
        )
        for d in session.scalars(q)
    ]
    return pd.DataFrame(rows, columns=DEPLOYMENT_COLUMNS)


def stage_history(session: Session, deployment_id: int) -> list[StageChange]:
    return list(
        session.scalars(
            select(StageChange)
            .where(StageChange.deployment_id == deployment_id)
            .order_by(StageChange.id)
        )
    )


def rounds(session: Session) -> list[Round]:
    return list(session.scalars(select(Round).order_by(Round.id)))


def get_round(session: Session, round_id: int) -> Round:
    rnd = session.get(Round, round_id)
    if rnd is None:
        known = [r for (r,) in session.execute(select(Round.id).order_by(Round.id))]
        raise InputError.one(
            "<arguments>",
            "no round with this id in the ledger; known rounds: "
            + (", ".join(map(str, known)) if known else "none yet"),
            value=round_id,
        )
    return rnd


OUTCOME_COLUMNS = [*OUTCOME_FIELDS[:11], "deployment_id"]
"""Columns of :func:`round_outcomes`."""


def round_outcomes(session: Session, round_id: int) -> pd.DataFrame:
    """A recorded round's outcomes (:data:`OUTCOME_COLUMNS`), by client and role."""
    get_round(session, round_id)
    q = (
        select(RoundOutcome)
        .where(RoundOutcome.round_id == round_id)
        .order_by(RoundOutcome.client_id, RoundOutcome.role)
    )
    rows = [
        (
            o.client_id,
            o.role,
            o.supporter_id,
            o.status,
            o.la_code,
            o.priority,
            o.need_days,
            o.days_per_week,
            o.cost_gbp,
            o.distance_km,
            o.reason_code,
            o.deployment_id,
        )
        for o in session.scalars(q)
    ]
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS)


def audit_entries(session: Session, *, limit: int | None = None) -> list[AuditEntry]:
    q = select(AuditEntry).order_by(AuditEntry.id.desc())
    if limit:
        q = q.limit(limit)
    return list(reversed(list(session.scalars(q))))


def open_stages() -> frozenset[Stage]:
    return OPEN
