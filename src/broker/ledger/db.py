"""Connecting to the ledger: URL resolution, engine set-up and migrations on first use.

Where the ledger lives, in order: the ``--db`` value, the ``BROKER_DB`` environment
variable, else a SQLite file ``broker.db`` in the working folder. A value without
``://`` is a path to a SQLite file. PostgreSQL is used for
``postgresql+psycopg://user:password@host:port/dbname`` (``postgresql://`` is read
the same way).

SQLite connections use write-ahead logging, a busy timeout and foreign keys, and
every transaction starts with ``BEGIN IMMEDIATE`` so that writers queue instead of
failing half way. On PostgreSQL, writers queue on the ``ledger_state`` row lock
(see :func:`broker.ledger.repository.lock`).

The schema is created and upgraded with Alembic (``migrations/`` beside this file)
the first time a process opens a ledger; concurrent first uses are serialised.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from broker.errors import InputError

ENV_URL = "BROKER_DB"
DEFAULT_FILE = "broker.db"
BUSY_TIMEOUT_S = 60.0
MIGRATIONS = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x62726F6B  # "brok": advisory lock key held while migrating

_EXPECTED = (
    "expected a SQLite file path (e.g. broker.db), sqlite:///PATH, or "
    "postgresql+psycopg://USER:PASSWORD@HOST:PORT/DBNAME"
)


def resolve_url(url: str | None = None) -> str:
    """The database URL to use: ``url``, else ``$BROKER_DB``, else ``./broker.db``.

    Raises
    ------
    broker.errors.InputError
        For a URL of an unsupported kind, naming the value and the accepted forms.
    """
    where = "--db"
    if url is None or url == "":
        url = os.environ.get(ENV_URL) or ""
        where = f"environment variable {ENV_URL}"
    if url == "":
        return "sqlite:///" + str(Path.cwd() / DEFAULT_FILE)
    if "://" not in url:
        return "sqlite:///" + str(Path(url).expanduser().resolve())
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError.one(where, f"not a database URL; {_EXPECTED}", value=url) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return url
    if backend == "postgresql":
        if parsed.drivername != "postgresql+psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return parsed.render_as_string(hide_password=False)
    raise InputError.one(where, f"unsupported database {backend!r}; {_EXPECTED}", value=url)


def display_url(url: str) -> str:
    """``url`` with any password hidden, for messages and summaries."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    db = parsed.database or ""
    if db and db != ":memory:":
        folder = Path(db).parent
        if not folder.is_dir():
            raise InputError.one(
                "--db",
                f"folder {folder} does not exist; create it or choose another path",
                value=db,
            )
        if Path(db).is_file():
            _check_sqlite_file(Path(db), display_url(url))
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not the sqlite3 module) decide when transactions begin.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        if db and db != ":memory:":
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Take the write lock at the start: a transaction that reads and then
        # writes can never be refused half way because another writer got in first.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _check_sqlite_file(path: Path, label: str) -> None:
    """Refuse an existing file that is not an SQLite database, or holds no ledger.

    Runs before broker's own connection (which switches the file to write-ahead
    logging and creates the ledger's tables), through a read-only connection, so
    that a file given to ``--db`` by mistake is left exactly as it was.

    Raises
    ------
    broker.errors.InputError
        Naming the file and what it holds.
    """
    import sqlite3

    try:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S
        )
    except sqlite3.Error as exc:
        raise InputError.one(label, f"cannot open the ledger: {exc}; {_EXPECTED}") from None
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
    except sqlite3.DatabaseError as exc:
        raise InputError.one(
            label,
            f"cannot open the ledger: {exc}; expected a ledger written by broker, or a new "
            "file name",
        ) from None
    finally:
        conn.close()
    if tables and "alembic_version" not in tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise InputError.one(
            label,
            f"this SQLite file is not a broker ledger: it holds other tables ({shown}); "
            "broker leaves it as it is. Give --db a new file name or an existing ledger",
        )


def make_engine(url: str) -> Engine:
    """An engine for a resolved URL (see :func:`resolve_url`), set up for the ledger."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True)


def _alembic_config(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


SCHEMA_HEAD = "0002"
"""The newest migration's revision id (a test checks it against the migrations)."""


def head_revision() -> str:
    """The newest migration's revision id, from the migration scripts."""
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (``None`` for an empty database).

    Reads Alembic's version table with plain SQL, so that opening an up-to-date
    ledger does not import Alembic.
    """
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            conn.rollback()
            return None
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        conn.rollback()
    return None if rev is None else str(rev)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one transaction, one process at a time."""
    from alembic import command

    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        command.upgrade(_alembic_config(conn), revision)


@dataclass
class Ledger:
    """An open ledger: an engine and a session factory for one database URL."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self.sessions.begin() as s:
            yield s

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    def close(self) -> None:
        self.engine.dispose()


def open_ledger(url: str | None = None, *, migrate: bool = True, existing: bool = False) -> Ledger:
    """Open (and, the first time, create or upgrade) the ledger at ``url``.

    With ``existing``, an SQLite file that does not exist is an error instead of a
    new, empty ledger: the commands that read or move what a ledger holds
    (``deployments``, ``rounds``, ``stage``, ...) would otherwise leave an empty file
    behind a mistyped ``--db`` and report that there is nothing in it.

    Raises
    ------
    broker.errors.InputError
        If the database cannot be reached, is at a revision this broker does not
        know (written by a newer broker), or (with ``existing``) is an SQLite file
        that does not exist.
    """
    resolved = resolve_url(url)
    if existing and make_url(resolved).get_backend_name() == "sqlite":
        db = make_url(resolved).database or ""
        if db and db != ":memory:" and not Path(db).exists():
            raise InputError.one(
                display_url(resolved),
                "no ledger here: the file does not exist; expected the --db of a round "
                "recorded with 'broker run SCENARIO --db PATH' (or $BROKER_DB), so check "
                "the path",
            )
    engine = make_engine(resolved)
    try:
        if migrate:
            rev = current_revision(engine)
            if rev != SCHEMA_HEAD:
                known = _known_revisions()
                if rev is not None and rev not in known:
                    raise InputError.one(
                        display_url(resolved),
                        f"the ledger is at schema revision {rev}, which this broker does not "
                        "know (it was written by a newer broker); upgrade broker",
                    )
                upgrade(engine)
    except OperationalError as exc:
        engine.dispose()
        raise InputError.one(
            display_url(resolved), f"cannot open the ledger: {exc.orig}; {_EXPECTED}"
        ) from None
    except Exception:
        engine.dispose()
        raise
    return Ledger(resolved, engine, sessionmaker(engine, expire_on_commit=False))


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_alembic_config(None))
    return {r.revision for r in script.walk_revisions()}
