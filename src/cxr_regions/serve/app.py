"""The FastAPI application: ``create_app(config)`` makes the room's services (``serve/services.py``),
puts them on ``app.state.services`` for the typed dependencies (``serve/deps.py``), and wires the
middleware (``serve/middleware.py``; sessions kept by ``serve/auth.py``), the routers
(``serve/routers/``), the static files and the error page together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from cxr_regions.serve.configuration import FILES_PER_UPLOAD, ServeConfig, trusted_proxies
from cxr_regions.serve.middleware import BodySizeLimit, RequireLogin, SecurityHeaders, Sessions
from cxr_regions.serve.rendering import package_folder
from cxr_regions.serve.routers import ROUTERS
from cxr_regions.serve.services import Services


def create_app(config: ServeConfig) -> FastAPI:
    """The reading room for ``config`` (the model loads now; the worker starts with the app's lifespan)."""
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
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return services.pages.error(request, exc.status_code, exc.detail)

    return app
