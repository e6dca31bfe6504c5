"""The reading room's middleware, one concern each (plain ASGI, so responses stream through untouched).

From the outside in (``app.py`` adds them): uvicorn's ``ProxyHeadersMiddleware`` where
``--forwarded-allow-ips`` names trusted proxies, :class:`SecurityHeaders` on every response,
:class:`Sessions` (the request's server-side session, ``auth.SessionKeeper``), :class:`BodySizeLimit` on
every POST, :class:`RequireLogin` where the room has users.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cxr_regions.serve import auth

SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    # The viewer needs nothing wider: its modules (script type=module) and its 16-bit PNG decoder are
    # same-origin files, inflating with the browser's own DecompressionStream (no eval, no wasm, no worker).
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'"
    ),
}
OPEN_PATHS = ("/login", "/static/", "/healthz", "/regions.css", "/favicon.ico")


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to every HTTP response that does not set them itself: no sniffing,
    no framing, no referrer, and only this site's own scripts, styles and images."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Sessions:
    """Finds each request's session (``auth.SessionKeeper.open``: the cookie's row in the sessions table,
    its user checked against the users file) for ``auth`` to answer from, and sends the browser a new
    cookie where the request got one (first visit, login, logout): HttpOnly, SameSite=Strict, and
    ``Secure`` when the request came over HTTPS (TLS here, or a trusted proxy's ``X-Forwarded-Proto``)."""

    def __init__(self, app: ASGIApp, keeper: auth.SessionKeeper) -> None:
        self.app = app
        self.keeper = keeper

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookie = HTTPConnection(scope).cookies.get(auth.SESSION_COOKIE)
        state = await run_in_threadpool(self.keeper.open, cookie)
        scope[auth.SCOPE_KEY] = state

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and state.new_cookie:
                header = self.keeper.cookie_header(state, https=scope.get("scheme") == "https")
                message.setdefault("headers", [])
                MutableHeaders(scope=message).append("set-cookie", header.decode("latin-1"))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


class BodySizeLimit:
    """Refuses a POST without a Content-Length (411) or larger than ``limit`` bytes (413) before any
    of its body is read."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            refusal = self.refusal(Headers(scope=scope).get("content-length"))
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, length: str | None) -> Response | None:
        if length is None or not length.isdigit():
            return JSONResponse({"detail": "a request body needs a Content-Length"}, status_code=411)
        if int(length) > self.limit:
            limit_mb = self.limit / (1 << 20)
            return JSONResponse({"detail": f"the request is larger than {limit_mb:g} MB"}, status_code=413)
        return None


class RequireLogin:
    """Without a logged-in user (``auth.session_user``), everything but ``OPEN_PATHS`` is refused: a
    page asked for by a browser is sent to the login page, anything else answers 401. Needs the
    session middleware outside it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            connection = HTTPConnection(scope)
            path = connection.url.path
            if not path.startswith(OPEN_PATHS) and auth.session_user(connection) is None:
                accept = connection.headers.get("accept", "")
                page = scope["method"] == "GET" and "text/html" in accept and not path.startswith("/api/")
                response: Response = (
                    RedirectResponse(f"/login?next={path}", status_code=303)
                    if page
                    else JSONResponse({"detail": "log in first"}, status_code=401)
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
