"""FastAPI dependencies: the service's state, a ledger session, the caller and its scope.

A request is authenticated by an ``Authorization: Bearer TOKEN`` header or by the
signed session cookie that signing in sets. A request that changes something and
is authenticated by the cookie must also carry the session's CSRF token: in the
``X-CSRF-Token`` header (API) or the ``csrf_token`` form field (pages), so another
site cannot make a signed-in browser act.

GET requests read through a session that never takes the write lock, so pages
stay quick while a round is being recorded; other methods use the ledger's
writing session (see :mod:`broker.ledger.db`). The caller is always looked up
through a reading session, so a change holds the write lock only for itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from broker.ledger.db import BUSY_TIMEOUT_S, Ledger
from broker.ledger.service_tables import ServiceUser
from broker.service import security, users
from broker.service.config import Settings
from broker.service.jobs import JobRunner
from broker.service.scope import Scope

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotSignedIn(Exception):
    """No valid token or session: 401 for the API, a redirect to the sign-in page otherwise."""


class BadCsrf(Exception):
    """A cookie-authenticated change without the session's CSRF token (403)."""


@dataclass
class State:
    """What the app holds while it runs."""

    settings: Settings
    ledger: Ledger
    reader: sessionmaker[Session]
    runner: JobRunner
    signer: security.Signer
    templates: Any
    writers: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(WRITERS))


WRITERS = 1
"""Requests that change something at once. The ledger serialises writers anyway (every write
transaction first locks ``ledger_state``); admitting them one at a time, first come first
served, replaces SQLite's busy-wait polling (unfair, with sleeps of up to 100 ms) with a
queue that takes no thread and no connection while it waits."""

POOL = {"pool_size": 10, "max_overflow": 20, "pool_timeout": 120}
"""Connections for reading: one per request in flight, within a default PostgreSQL
server's limit together with the writing engine's pool."""


def reader_engine(ledger: Ledger) -> Engine:
    """An engine for reads: on SQLite a deferred ``BEGIN`` (a WAL snapshot, no write lock)."""
    url = make_url(ledger.url)
    if url.get_backend_name() != "sqlite":
        return create_engine(ledger.url, pool_pre_ping=True, **POOL)  # type: ignore[arg-type]
    engine = create_engine(ledger.url, connect_args={"timeout": BUSY_TIMEOUT_S}, **POOL)  # type: ignore[arg-type]

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA query_only = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def state(request: Request) -> State:
    st: State = request.app.state.broker
    return st


AppState = Annotated[State, Depends(state)]


def reader_session(st: AppState) -> Iterator[Session]:
    """The request's reading session (no write lock); GET requests use it for everything."""
    s = st.reader()
    try:
        yield s
    finally:
        s.close()


ReaderSession = Annotated[Session, Depends(reader_session)]


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _release(request: Request, s: Session, user: ServiceUser) -> None:
    """On a change, end the lookup's read transaction: the connection goes back to the pool."""
    if request.method not in SAFE_METHODS:
        s.expunge(user)
        s.rollback()


def current_user(request: Request, s: ReaderSession, st: AppState) -> ServiceUser:
    """The signed-in user (token or session cookie), or :class:`NotSignedIn`."""
    token = _bearer(request)
    if token is not None:
        user = users.by_token(s, token)
        if user is None:
            raise NotSignedIn("unknown or revoked API token")
        _release(request, s, user)
        request.state.csrf = None
        return user
    data = st.signer.read_session(request.cookies.get(security.SESSION_COOKIE))
    user = users.by_id(s, data["uid"]) if data else None
    if user is None or data is None:
        raise NotSignedIn("sign in first")
    _release(request, s, user)
    request.state.csrf = data["csrf"]
    if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
        if not security.same(request.headers.get("x-csrf-token"), data["csrf"]):
            raise BadCsrf("missing or wrong X-CSRF-Token header")
    return user


CurrentUser = Annotated[ServiceUser, Depends(current_user)]


def scope(user: CurrentUser) -> Scope:
    """The caller's :class:`~broker.service.scope.Scope` (applied to every query)."""
    return Scope.of(user)


CurrentScope = Annotated[Scope, Depends(scope)]


async def session(
    request: Request, st: AppState, reader: ReaderSession, _user: CurrentUser
) -> AsyncIterator[Session]:
    """A session for this request; it commits when the request succeeds.

    GET requests get the reading session. Other requests get a writing session; a
    route may commit early (a job's row must be committed before its worker
    starts), and what follows runs in a new transaction.

    This dependency is ``async`` on purpose: its commit runs as soon as the route
    returns, on the event loop. As a plain function it would wait for a free worker
    thread while holding the ledger's write lock, and under load every thread can be
    taken by requests waiting for that lock. At most :data:`WRITERS` changes are
    in progress at once; the others wait here, without taking a thread. The caller
    is identified first (``_user``), so a change waits in this queue only for itself.
    """
    if request.method in SAFE_METHODS:
        yield reader
        return
    async with st.writers:
        s = st.ledger.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()


DbSession = Annotated[Session, Depends(session)]


def check_form_csrf(request: Request, token: str | None) -> None:
    """Refuse a page form whose ``csrf_token`` is not the session's."""
    if not security.same(token, getattr(request.state, "csrf", None)):
        raise BadCsrf("the form has expired or did not come from this site; reload the page")
