"""Logins, sessions and CSRF: the one module that knows how a session is kept.

The session is Starlette's signed cookie (itsdangerous; HttpOnly, SameSite=Strict) with a secret
kept in ``DATA/session.secret`` (mode 0600, made once), so sessions survive a restart. Everything
else goes through :func:`install_sessions`, :func:`session_user`, :func:`start_session` and
:func:`end_session`, so another kind of session (e.g. a table on the server) changes this module only.
Every state-changing request carries the session's CSRF token (form field ``csrf`` or header
``X-CSRF-Token``), compared in constant time. Wrong logins are limited per user name and client.
"""

from __future__ import annotations

import hmac
import os
import secrets
import threading
import time
from collections import defaultdict, deque
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection

from cxr_regions.serve.configuration import LOCAL_READER

SECRET_FILE = "session.secret"
SESSION_COOKIE = "cxr_reading_room"
SESSION_MAX_AGE_S = 12 * 3600
USER_KEY = "user"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60


def session_secret(data: Path) -> str:
    """The data folder's session-signing secret, made on first use with owner-only permissions."""
    path = Path(data) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(32))
    return path.read_text(encoding="ascii").strip()


def install_sessions(app: FastAPI, data: Path) -> None:
    """Give every request a session: a signed HttpOnly, SameSite=Strict cookie, valid 12 hours."""
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret(data),
        session_cookie=SESSION_COOKIE,
        same_site="strict",
        https_only=False,
        max_age=SESSION_MAX_AGE_S,
    )


def session_user(connection: HTTPConnection) -> str | None:
    """The user logged in with this request's session, or None."""
    user = connection.session.get(USER_KEY)
    return str(user) if user else None


def start_session(request: Request, user: str) -> None:
    """Log ``user`` in: a fresh session (nothing carried over from before the login) with a CSRF token."""
    request.session.clear()
    request.session[USER_KEY] = user
    csrf_token(request)


def end_session(request: Request) -> None:
    """Log out: forget everything in the session."""
    request.session.clear()


def reader_of(request: Request, logins: bool) -> str:
    """Who is reading: the logged-in user, or ``local`` when the room runs without logins (401 if
    logins are on and nobody is logged in)."""
    if not logins:
        return LOCAL_READER
    user = session_user(request)
    if not user:
        raise HTTPException(401, "log in first")
    return user


def local_path(target: str) -> str:
    """A redirect target kept inside this site (no scheme, host or protocol-relative path)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        request.session[CSRF_FIELD] = token
    return token


async def csrf_protect(request: Request) -> None:
    """Refuse (403) a state-changing request without the session's CSRF token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = request.session.get(CSRF_FIELD)
    given = request.headers.get(CSRF_HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(str(expected), str(given)):
        raise HTTPException(403, "missing or wrong CSRF token; reload the page and try again")


class LoginThrottle:
    """At most ``MAX_FAILURES`` wrong logins per (user name, client) in ``FAILURE_WINDOW_S`` seconds."""

    def __init__(self, limit: int = MAX_FAILURES, window: float = FAILURE_WINDOW_S) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures[key]
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def wait_seconds(self, user: str, client: str) -> float:
        """Seconds until this user may try again from this client (0 when allowed now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent((user, client), now)
            return max(0.0, self.window - (now - times[0])) if len(times) >= self.limit else 0.0

    def failed(self, user: str, client: str) -> None:
        with self._lock:
            self._failures[(user, client)].append(time.monotonic())

    def succeeded(self, user: str, client: str) -> None:
        with self._lock:
            self._failures.pop((user, client), None)
