"""The FastAPI application: ``create_app(config)`` wires the store, the model, the worker, the
intake (uploads and the watch folder), sessions and the pages together.

Everything the pages need (templates, CSS, JavaScript) ships inside the package; nothing is
fetched at run time.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from cxr_regions.regions import REGIONS
from cxr_regions.serve import auth
from cxr_regions.serve.configuration import FILES_PER_UPLOAD, ServeConfig

log = logging.getLogger("cxr_regions.serve")

OPEN_PATHS = ("/login", "/static/", "/healthz", "/regions.css", "/favicon.ico")


def package_folder(name: str) -> Path:
    return Path(str(resources.files("cxr_regions.serve") / name))


def templates() -> Jinja2Templates:
    """The page templates, with the region names and the CSRF token at hand."""
    env = Jinja2Templates(directory=str(package_folder("templates")))
    env.env.globals["REGIONS"] = REGIONS
    env.env.globals["csrf_token"] = auth.csrf_token
    return env


def create_app(config: ServeConfig) -> FastAPI:
    """The reading room for ``config`` (the model loads and the worker starts with the app's lifespan)."""
    from cxr_regions.serve import actions, pages
    from cxr_regions.serve.intake import Intake
    from cxr_regions.serve.model import FilmModel, Thresholds
    from cxr_regions.serve.reports import ReportBook
    from cxr_regions.serve.store import Store
    from cxr_regions.serve.worker import InferenceWorker

    config.validate()
    config.save()
    data = Path(config.data)
    store = Store(data)
    model = FilmModel(Path(config.run), config.method, config.device)
    thresholds = Thresholds.load(config.thresholds)
    worker = InferenceWorker(store, model, thresholds, data, config.workers, config.poll_seconds)
    reports = ReportBook(config.reports)
    intake = Intake(store, data, reports, on_new=worker.wake)
    link = None
    if config.pacs is not None:
        from cxr_regions.pacs import Pacs, parse_query, read_auth
        from cxr_regions.serve.pacs_link import PacsLink

        link = PacsLink(
            Pacs(config.pacs, read_auth(config.pacs_auth)), parse_query(config.pacs_query), store, intake,
            worker, thresholds, config.pacs_poll, config.send_results, config.pacs_max_backoff,
        )  # fmt: skip
    users = None
    if config.users is not None:
        from cxr_regions.serve.users import Users

        users = Users.load(config.users)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        worker.start()
        watcher = None
        if config.demo:
            from cxr_regions.serve.demo_films import seed_demo

            seed_demo(Path(config.run), intake)
        if config.watch is not None:
            from cxr_regions.serve.watch import FolderWatcher

            watcher = FolderWatcher(Path(config.watch), intake)
            watcher.start()
        if link is not None:
            link.start()
        log.info("reading room ready: %s films", store.counts()["total"])
        try:
            yield
        finally:
            if link is not None:
                link.stop()
            if watcher is not None:
                watcher.stop()
            worker.stop()
            store.close()

    app = FastAPI(title="cxr-regions reading room", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.config = config
    app.state.store = store
    app.state.model = model
    app.state.thresholds = thresholds
    app.state.worker = worker
    app.state.intake = intake
    app.state.users = users
    app.state.pacs_link = link
    app.state.throttle = auth.LoginThrottle()
    app.state.templates = templates()

    body_limit = config.max_upload_bytes * FILES_PER_UPLOAD + (1 << 20)

    @app.middleware("http")
    async def require_login(request: Request, call_next):
        path = request.url.path
        if request.method == "POST":
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                return JSONResponse({"detail": "a request body needs a Content-Length"}, status_code=411)
            if int(length) > body_limit:
                limit_mb = body_limit / (1 << 20)
                return JSONResponse(
                    {"detail": f"the request is larger than {limit_mb:g} MB"}, status_code=413
                )
        if config.logins and not request.session.get("user") and not path.startswith(OPEN_PATHS):
            page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
            if not page or path.startswith("/api/"):
                return JSONResponse({"detail": "log in first"}, status_code=401)
            return RedirectResponse(f"/login?next={path}", status_code=303)
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'",
        )
        return response

    app.add_middleware(
        SessionMiddleware,
        secret_key=auth.session_secret(data),
        session_cookie=auth.SESSION_COOKIE,
        same_site="strict",
        https_only=False,
        max_age=12 * 3600,
    )
    app.mount("/static", StaticFiles(directory=str(package_folder("static"))), name="static")
    app.include_router(pages.router)
    app.include_router(actions.router)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return app.state.templates.TemplateResponse(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code,
        )

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"ok": True}

    return app
