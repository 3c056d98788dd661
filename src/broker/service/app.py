"""The FastAPI application: :func:`create_app`.

Errors become answers, never tracebacks:

=====================  ======  =============================================
raised                 status  body
=====================  ======  =============================================
``NotInScope``         404     ``{"detail": "not found"}`` (same as a missing id)
``Forbidden``          403     what the role may not do
``BadCsrf``            403     the form or header lacks the session's CSRF token
``NotSignedIn``        401     (pages: a redirect to the sign-in page)
``InputError``         400     the message naming where and what was expected
=====================  ======  =============================================
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import sessionmaker

from broker.errors import InputError
from broker.ledger.db import open_ledger
from broker.service import security
from broker.service.config import Settings
from broker.service.deps import BadCsrf, NotSignedIn, State, reader_engine
from broker.service.jobs import JobRunner
from broker.service.scope import Forbidden, NotInScope

HERE = Path(__file__).parent
THREADS = 100


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and request.url.path != "/openapi.json"


def create_app(settings: Settings | None = None) -> FastAPI:
    """The service on the ledger at ``settings.db`` (opened, and migrated, now)."""
    settings = settings or Settings()
    ledger = open_ledger(settings.db)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    st = State(
        settings=settings,
        ledger=ledger,
        reader=sessionmaker(reader_engine(ledger), expire_on_commit=False),
        runner=JobRunner(ledger, settings.max_jobs),
        signer=security.Signer(settings.secret),
        templates=templates,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        # Sync routes run in worker threads; enough of them that pages never wait behind
        # requests queued for the ledger's write lock.
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        st.runner.recover()
        yield
        st.runner.shutdown()

    app = FastAPI(
        title="broker",
        summary="School-to-school support: rounds, deployments, what-ifs, scoped by role.",
        version="1",
        lifespan=lifespan,
    )
    app.state.broker = st

    from broker.service.routes import (
        api_deployments,
        api_misc,
        api_rounds,
        api_scenarios,
        api_whatifs,
        pages,
    )

    for module in (api_scenarios, api_rounds, api_deployments, api_whatifs, api_misc, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def page_error(request: Request, status: int, message: str) -> Response:
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": status, "message": message, "user": None, "csrf": None},
            status_code=status,
        )

    @app.exception_handler(NotInScope)
    async def _not_found(request: Request, _exc: NotInScope) -> Response:
        if _wants_html(request):
            return page_error(request, 404, "Not found.")
        return JSONResponse({"detail": "not found"}, status_code=404)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if _wants_html(request):
            return page_error(request, 403, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(BadCsrf)
    async def _csrf(request: Request, exc: BadCsrf) -> Response:
        if _wants_html(request):
            return page_error(request, 403, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(NotSignedIn)
    async def _signin(request: Request, exc: NotSignedIn) -> Response:
        if _wants_html(request):
            return RedirectResponse("/login", status_code=303)
        return JSONResponse(
            {"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        if _wants_html(request):
            return page_error(request, 400, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=400)

    return app
