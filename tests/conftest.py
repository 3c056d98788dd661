import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile(
    "default",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "ci",
    max_examples=120,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile("ci" if os.environ.get("CI") else "default")


# ---------------------------------------------------------------------------
# Ledger databases: SQLite always, PostgreSQL when the server binaries exist.

import itertools  # noqa: E402
import shutil  # noqa: E402

import pytest  # noqa: E402

_PG_DBS = itertools.count()
PG_SKIP = (
    "PostgreSQL ledger tests skipped: no PostgreSQL server binaries (initdb, pg_ctl, "
    "postgres) on PATH or in /usr/lib/postgresql/*/bin; install the Debian package "
    "'postgresql' (.ci/run does)"
)


@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server started for this test session, stopped at the end."""
    from pgserver import find_bin_dir, start_server

    if find_bin_dir() is None:
        pytest.skip(PG_SKIP)
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """A migrated, empty SQLite ledger that tests copy (faster than migrating each time)."""
    from broker.ledger.db import open_ledger

    path = tmp_path_factory.mktemp("template") / "ledger.db"
    open_ledger(f"sqlite:///{path}").close()
    return path


@pytest.fixture(scope="session")
def pg_database(pg_server):
    """One PostgreSQL database for the session; each test gets its own schema in it."""
    return pg_server.create_database("ledger_tests")


def _new_db(request, tmp_path, *, migrated: bool) -> str:
    if request.param == "sqlite":
        path = tmp_path / "ledger.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    import psycopg

    url = request.getfixturevalue("pg_database")
    server = request.getfixturevalue("pg_server")
    schema = f"t{next(_PG_DBS)}"
    with psycopg.connect(
        host="127.0.0.1", port=server.port, user="broker", dbname="ledger_tests", autocommit=True
    ) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{url}?options=-csearch_path%3D{schema}"
    if migrated:
        from broker.ledger.db import open_ledger

        open_ledger(url).close()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """URL of a new, migrated ledger: a SQLite file, or a schema of a PostgreSQL database."""
    return _new_db(request, tmp_path, migrated=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db_url(request, tmp_path):
    """URL of a new, empty ledger (no tables): a SQLite file, or a PostgreSQL schema."""
    return _new_db(request, tmp_path, migrated=False)


@pytest.fixture
def ledger(db_url):
    """An open ledger on a new database (closed after the test)."""
    from broker.ledger.db import open_ledger

    opened = open_ledger(db_url)
    yield opened
    opened.close()


# ---------------------------------------------------------------------------
# A real headless browser: Debian's Chromium driven by Playwright.

BROWSER_SKIP = (
    "browser tests skipped: no Chromium at /usr/bin/chromium (or $BROKER_CHROMIUM); "
    "install the Debian package 'chromium' (.ci/run does)"
)


def chromium_path() -> str | None:
    """The system Chromium to drive, or None when the machine has none."""
    for candidate in (os.environ.get("BROKER_CHROMIUM"), "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session; fails (not skips) when CI requires it."""
    path = chromium_path()
    if path is None:
        if os.environ.get("BROKER_REQUIRE_BROWSER"):
            pytest.fail(BROWSER_SKIP.replace("skipped", "required"))
        pytest.skip(BROWSER_SKIP)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=path, headless=True)
        try:
            yield instance
        finally:
            instance.close()
