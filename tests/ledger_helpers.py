"""Helpers for ledger tests: record rounds with hand-written outcomes, no solver needed."""

from __future__ import annotations

import uuid
from typing import Any

import pandas as pd

from broker.ledger import repository as repo
from broker.ledger.models import utcnow


def outcomes(rows: list[tuple], **defaults: Any) -> pd.DataFrame:
    """Outcome rows from (client_id, supporter_id or None[, overrides dict]) tuples."""
    base = {
        "role": "lead",
        "la_code": "855",
        "priority": 1,
        "need_days": 1.0,
        "days_per_week": 1.0,
        "cost_gbp": 1000.0,
        "distance_km": 5.0,
        "reason_code": "",
        "weeks": 39,
        "supporter_kind": "nle",
        "supporter_la_code": "855",
        "mode": None,
        "start_term": None,
        "end_term": None,
        **defaults,
    }
    records = []
    for r in rows:
        cid, sid = r[0], r[1]
        extra = r[2] if len(r) > 2 else {}
        rec = {**base, "client_id": cid, "supporter_id": sid, **extra}
        rec["status"] = "matched" if sid else "unmatched"
        if not sid:
            rec.update(days_per_week=0.0, cost_gbp=0.0, distance_km=None, supporter_kind=None)
        records.append(rec)
    return pd.DataFrame(records, columns=list(repo.OUTCOME_FIELDS))


def round_input(rows: list[tuple], *, kind: str = "plain", user: str = "tester", **kw: Any):
    table = kw.pop("outcomes", None)
    if table is None:
        table = outcomes(rows, **kw.pop("defaults", {}))
    files = kw.pop(
        "scenario",
        repo.ScenarioFiles("test", (("scenario.toml", b'name = "test"\n'),)),
    )
    now = utcnow()
    return repo.RoundInput(
        run_id=kw.pop("run_id", uuid.uuid4().hex),
        kind=kind,
        name=kw.pop("name", None),
        scenario=files,
        base_scenario=None,
        parameters={"solver": "test"},
        seed=0,
        solver="test",
        solver_status="optimal",
        stopped_by="optimal",
        priority_matched=int(table.loc[table["supporter_id"].notna(), "priority"].sum()),
        priority_bound=int(table["priority"].sum()),
        level2_value=0,
        level2_bound=0,
        summary={},
        outcomes=table,
        started_at=now,
        finished_at=now,
        user=user,
        ledger_version=kw.pop("ledger_version", 0),
        **kw,
    )


def record(ledger, rows: list[tuple], **kw: Any) -> repo.Recorded:
    with ledger.session() as s:
        return repo.record_round(s, round_input(rows, **kw))


def table(ledger, **kw: Any) -> pd.DataFrame:
    with ledger.session() as s:
        return repo.deployments_frame(s, **kw)


def count(ledger, model) -> int:
    from sqlalchemy import func, select

    with ledger.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


def concurrent_worker(url: str, tag: str, rounds: int, movers: list[str], start) -> None:  # type: ignore[no-untyped-def]
    """Record ``rounds`` plain rounds over the shared clients Q0..Q9 and move ``movers``.

    Run in a separate process by the concurrency test; ``start`` is an event both
    processes wait on so that they really overlap.
    """
    from broker.ledger.db import open_ledger
    from broker.ledger.stages import Stage

    ledger = open_ledger(url)
    start.wait(30)
    shared = [(f"Q{k}", f"S{k % 3}") for k in range(10)]
    for r in range(rounds):
        record(ledger, shared, user=tag, run_id=f"{tag}-{r}")
        if r < len(movers):
            with ledger.session() as s:
                repo.move_stage(s, movers[r], Stage.SCOPED, user=tag)
            with ledger.session() as s:
                repo.move_stage(s, movers[r], Stage.DUE_DILIGENCE, user=tag)
    ledger.close()
