"""The ledger database: URLs, migrations equal to the models, constraints, exact amounts.

Runs against SQLite and a real PostgreSQL server (see ``db_url`` in conftest.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from broker.errors import InputError
from broker.ledger import repository as repo
from broker.ledger.db import (
    SCHEMA_HEAD,
    current_revision,
    head_revision,
    make_engine,
    open_ledger,
    resolve_url,
    upgrade,
)
from broker.ledger.models import AuditEntry, Base, Deployment, StageChange, utcnow
from broker.ledger.stages import Stage
from ledger_helpers import count, record, table

# ---------------------------------------------------------------- URLs


def test_default_url_is_broker_db_in_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BROKER_DB", raising=False)
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'broker.db'}"


def test_environment_variable_then_option(tmp_path, monkeypatch):
    monkeypatch.setenv("BROKER_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert resolve_url(None).endswith("env.db")
    assert resolve_url(str(tmp_path / "opt.db")) == f"sqlite:///{tmp_path / 'opt.db'}"


def test_postgresql_url_uses_psycopg():
    assert resolve_url("postgresql://u:p@h:5/d") == "postgresql+psycopg://u:p@h:5/d"
    assert resolve_url("postgresql+psycopg://u@h/d") == "postgresql+psycopg://u@h/d"


@pytest.mark.parametrize("url", ["mysql://u@h/d", "http://example", "://"])
def test_unsupported_url_is_a_clear_error(url):
    with pytest.raises(InputError) as e:
        resolve_url(url)
    assert "postgresql+psycopg://" in str(e.value) and "--db" in str(e.value)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        open_ledger(str(tmp_path / "no" / "such" / "x.db"))


@pytest.mark.parametrize("data", [b"garbage\n", bytes(range(256)) * 20])
def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path, data):
    path = tmp_path / "notes.db"
    path.write_bytes(data)
    with pytest.raises(InputError, match="file is not a database"):
        open_ledger(str(path))
    assert path.read_bytes() == data


def test_another_programs_sqlite_file_is_refused_and_left_as_it_was(tmp_path):
    import sqlite3

    path = tmp_path / "contacts.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE people (name TEXT)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(InputError, match=r"not a broker ledger: it holds other tables \(people\)"):
        open_ledger(str(path))
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["contacts.db"]


def test_an_empty_file_becomes_a_ledger(tmp_path):
    path = tmp_path / "new.db"
    path.touch()
    open_ledger(str(path)).close()
    assert current_revision(make_engine(f"sqlite:///{path}")) == SCHEMA_HEAD


def test_a_ledger_that_must_exist_is_not_created_by_a_typo(tmp_path):
    typo = tmp_path / "ledgr.db"
    with pytest.raises(InputError, match="no ledger here: the file does not exist"):
        open_ledger(str(typo), existing=True)
    assert not typo.exists()  # nothing left behind
    open_ledger(str(tmp_path / "ledger.db")).close()  # a round creates one
    open_ledger(str(tmp_path / "ledger.db"), existing=True).close()


def test_unreachable_postgresql_is_a_clear_error():
    with pytest.raises(InputError, match="cannot open the ledger"):
        open_ledger("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")


# ------------------------------------------------------------ migrations


def test_upgrade_head_gives_exactly_the_models(empty_db_url):
    engine = make_engine(resolve_url(empty_db_url))
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diffs == []
        names = set(inspect(engine).get_table_names())
        assert set(Base.metadata.tables) | {"alembic_version"} == names
    finally:
        engine.dispose()


def test_schema_head_constant_is_the_newest_migration():
    assert SCHEMA_HEAD == head_revision()


def test_open_migrates_once_and_reopens(empty_db_url):
    first = open_ledger(empty_db_url)
    first.close()
    again = open_ledger(empty_db_url)
    with again.session() as s:
        assert repo.version(s) == 0
    again.close()


def test_unknown_revision_is_refused(db_url):
    ledger = open_ledger(db_url)
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'fffffff'"))
    ledger.close()
    with pytest.raises(InputError, match="newer broker"):
        open_ledger(db_url)


# ------------------------------------------------------- constraints


def test_audit_log_and_history_are_append_only(ledger):
    record(ledger, [("C1", "S1")])
    for sql in (
        "UPDATE audit_log SET action = 'x'",
        "DELETE FROM audit_log",
        "UPDATE stage_changes SET note = 'x'",
        "DELETE FROM stage_changes",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            with ledger.engine.begin() as conn:
                conn.execute(text(sql))
    assert count(ledger, AuditEntry) > 0


def test_one_current_deployment_per_client_and_role(ledger):
    record(ledger, [("C1", "S1")])
    with pytest.raises(IntegrityError):
        with ledger.session() as s:
            d = s.get(Deployment, 1)
            assert d is not None
            s.add(
                Deployment(
                    **{
                        c: getattr(d, c)
                        for c in (
                            "client_id",
                            "supporter_id",
                            "role",
                            "la_code",
                            "priority",
                            "days_per_week",
                            "weeks",
                            "cost_gbp",
                            "scenario_id",
                            "created_by",
                        )
                    },
                    stage="scoped",
                    is_open=True,
                    round_id=d.round_id,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
    # the same pair in a second round: also refused while the first is current
    assert len(table(ledger)) == 1


def test_stage_and_open_flag_must_agree(ledger):
    record(ledger, [("C1", "S1")])
    with pytest.raises(IntegrityError):
        with ledger.engine.begin() as conn:
            conn.execute(text("UPDATE deployments SET stage = 'closed'"))  # is_open still true
    with pytest.raises(IntegrityError):
        with ledger.engine.begin() as conn:
            conn.execute(text("UPDATE deployments SET stage = 'nonsense'"))


def test_a_run_is_recorded_once(ledger):
    record(ledger, [("C1", "S1")], run_id="abc")
    with pytest.raises(InputError, match="already recorded"):
        record(ledger, [("C2", "S1")], run_id="abc")
    assert len(table(ledger)) == 1
    with ledger.session() as s:
        assert len(repo.rounds(s)) == 1


# -------------------------------------------------------- exact amounts


def test_money_and_days_are_exact(ledger):
    record(
        ledger,
        [("C1", "S1", {"cost_gbp": 7407.4285, "days_per_week": 0.33, "distance_km": 12.34})],
    )
    t = table(ledger)
    assert t["cost_gbp"].iloc[0] == Decimal("7407.4285")
    assert t["days_per_week"].iloc[0] == Decimal("0.33")
    assert t["distance_km"].iloc[0] == Decimal("12.34")
    with ledger.engine.connect() as conn:
        raw = conn.execute(text("SELECT cost_gbp_x10000, days_per_week_x100 FROM deployments"))
        assert tuple(raw.one()) == (74074285, 33)


def test_scenario_files_are_stored_once_and_restored(ledger, tmp_path):
    files = repo.ScenarioFiles(
        "demo", (("clients.csv", b"client_id\nC1\n"), ("scenario.toml", b'name = "demo"\n'))
    )
    record(ledger, [("C1", "S1")], scenario=files)
    record(ledger, [("C2", "S1")], scenario=files)
    with ledger.session() as s:
        rounds = repo.rounds(s)
        assert rounds[0].scenario_id == rounds[1].scenario_id
        folder = repo.restore_scenario(s, rounds[0].scenario_id, tmp_path / "back")
    assert (folder / "clients.csv").read_bytes() == b"client_id\nC1\n"
    assert (folder / "scenario.toml").read_bytes() == b'name = "demo"\n'


def test_every_change_is_audited_with_its_user(ledger):
    record(ledger, [("C1", "S1"), ("C2", None)], user="alice")
    with ledger.session() as s:
        repo.move_stage(s, "C1", Stage.SCOPED, user="bob", note="call booked")
    with ledger.session() as s:
        actions = [(e.action, e.user) for e in repo.audit_entries(s)]
        hist = repo.stage_history(s, 1)
    assert actions == [
        ("scenario_stored", "alice"),
        ("deployment_proposed", "alice"),
        ("round_recorded", "alice"),
        ("stage_changed", "bob"),
    ]
    assert [(h.from_stage, h.to_stage, h.user, h.note) for h in hist] == [
        (None, "proposed", "alice", "proposed by round 1"),
        ("proposed", "scoped", "bob", "call booked"),
    ]
    assert count(ledger, StageChange) == 2


def test_user_from_option_environment_or_login(monkeypatch):
    monkeypatch.setenv("BROKER_USER", "carol")
    assert repo.current_user("dave") == "dave"
    assert repo.current_user(None) == "carol"
    monkeypatch.delenv("BROKER_USER")
    assert repo.current_user(None)  # the login name, never empty
