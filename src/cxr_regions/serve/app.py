"""The FastAPI application: ``create_app(config)`` makes the room's services (``serve/services.py``),
puts them on ``app.state.services`` for the typed dependencies (``serve/deps.py``), and wires the
middleware (``serve/middleware.py``; sessions kept by ``serve/auth.py``), the routers
(``serve/routers/``), the static files and the error page together.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from cxr_regions.redaction import install_log_redaction
from cxr_regions.serve.configuration import FILES_PER_UPLOAD, ServeConfig, trusted_proxies
from cxr_regions.serve.intake import fault_reason
from cxr_regions.serve.middleware import BodySizeLimit, RequireLogin, SecurityHeaders, Sessions
from cxr_regions.serve.rendering import package_folder
from cxr_regions.serve.routers import ROUTERS
from cxr_regions.serve.services import Services

log = logging.getLogger("cxr_regions.serve")
CUT_OFF = "the client went away before sending the whole request; nothing was stored: send it again"
MALFORMED = "the request's body is incomplete or malformed (a cut-off upload?); nothing was stored"


def create_app(config: ServeConfig) -> FastAPI:
    """The reading room for ``config`` (the model loads now; the worker starts with the app's lifespan).

    Every log record from here on passes the redaction filter (``cxr_regions.redaction``; the command
    line installs it too), library warnings included."""
    install_log_redaction()
    services = Services.build(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.start()
        try:
            yield
        finally:
            services.stop()

    app = FastAPI(title="cxr-regions reading room", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = services
    # added innermost first; from the outside: the trusted proxies' headers (the client's address and
    # scheme), SecurityHeaders, Sessions, BodySizeLimit, RequireLogin, then the routes
    if config.logins:
        app.add_middleware(RequireLogin)
    app.add_middleware(BodySizeLimit, limit=config.max_upload_bytes * FILES_PER_UPLOAD + (1 << 20))
    app.add_middleware(Sessions, keeper=services.keeper)
    app.add_middleware(SecurityHeaders)
    proxies = trusted_proxies(config.forwarded_allow_ips)
    if proxies:  # uvicorn's own middleware, applied here so that every server and test sees the same
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)
    app.mount("/static", StaticFiles(directory=str(package_folder("static"))), name="static")
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return answer(request, exc.status_code, exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def body_error(request: Request, exc: StarletteHTTPException) -> Response:
        """What FastAPI itself raises (a body it cannot parse, 404, 405): a cut-off or malformed upload
        is logged and answered plainly; everything else as FastAPI answers it."""
        if isinstance(exc.__cause__, ClientDisconnect):  # nobody is left to read the answer
            log.warning("%s %s: %s", request.method, request.url.path, CUT_OFF)
            return answer(request, 400, CUT_OFF)
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            log.warning("%s %s: %s", request.method, request.url.path, MALFORMED)
            return answer(request, 400, MALFORMED)
        return await http_exception_handler(request, exc)

    @app.exception_handler(OperationalError)
    async def database_error(request: Request, exc: OperationalError) -> Response:
        """A database another process holds locked longer than the busy timeout (or a full disk): the
        request changed nothing (every write is one transaction); the user may try again."""
        log.warning("%s %s: database error (%s)", request.method, request.url.path, exc.orig)
        return answer(request, 503, fault_reason(exc) or str(exc.orig), {"Retry-After": "5"})

    def answer(request: Request, status: int, detail: str, headers: dict | None = None) -> Response:
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": detail}, status_code=status, headers=headers)
        return services.pages.error(request, status, detail)

    return app
