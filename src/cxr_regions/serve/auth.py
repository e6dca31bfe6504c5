"""Logins, sessions and CSRF as a request sees them: the one module routes and pages ask about sessions.

The sessions are kept on the server (``serve/sessions.py``: the ``sessions`` table, ``DATA/session.secret``);
the browser's cookie (HttpOnly, SameSite=Strict, ``Secure`` whenever the request came over HTTPS, directly
or through a trusted proxy) carries only a random id. :class:`SessionKeeper` turns a request's cookie into
a :class:`RequestSession` (``middleware.Sessions`` does that once per request); everything else goes through
:func:`session_user`, :func:`account_of`, :func:`start_session`, :func:`end_session`, :func:`csrf_token`.
Every state-changing request carries the session's CSRF token (form field ``csrf`` or header
``X-CSRF-Token``), compared in constant time. Wrong logins are limited per user name and client.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import HTTPException, Request
from starlette.requests import HTTPConnection

from cxr_regions.serve.configuration import LOCAL_READER
from cxr_regions.serve.sessions import SessionBook, SessionInfo
from cxr_regions.serve.users import Account, Role

if TYPE_CHECKING:
    from cxr_regions.serve.accounts import Accounts

SESSION_COOKIE = "cxr_reading_room"
SCOPE_KEY = "cxr_regions.session"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
MAX_FAILURES = 5
FAILURE_WINDOW_S = 15 * 60
SWEEP_EVERY_S = 600.0
LOCAL_ACCOUNT = Account(LOCAL_READER, "", Role.ADMIN)
"""Who reads where the room has no users (loopback only): one person, who may do everything."""
_COOKIE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass
class RequestSession:
    """One request's session: the cookie it goes on with, and the login behind it (None if none)."""

    keeper: SessionKeeper
    cookie: str
    info: SessionInfo | None = None
    account: Account | None = None
    new_cookie: bool = False

    @property
    def user(self) -> str | None:
        return self.info.user if self.info is not None else None

    @property
    def csrf(self) -> str:
        return self.info.csrf if self.info is not None else self.keeper.book.anonymous_csrf(self.cookie)


class SessionKeeper:
    """Finds the session of a request's cookie, with its user checked against the users file now."""

    def __init__(self, book: SessionBook, accounts: Accounts | None) -> None:
        self.book = book
        self.accounts = accounts
        self._last_sweep = time.monotonic()

    def open(self, cookie: str | None) -> RequestSession:
        """The session of ``cookie`` (database work: call it from a worker thread)."""
        if cookie is None or not _COOKIE.match(cookie):
            return RequestSession(self, secrets.token_urlsafe(32), new_cookie=True)
        state = RequestSession(self, cookie)
        if self.accounts is None:
            return state
        if time.monotonic() - self._last_sweep > SWEEP_EVERY_S:
            self._last_sweep = time.monotonic()
            self.book.sweep()
        info = self.book.resolve(cookie)
        account = self.accounts.account(info.user) if info is not None else None
        if info is not None and account is None:  # no longer in the users file
            self.book.end_user(info.user)
            info = None
        state.info, state.account = info, account
        return state

    def cookie_header(self, state: RequestSession, https: bool) -> bytes:
        """The ``Set-Cookie`` value that gives the browser ``state``'s cookie."""
        secure = "; Secure" if https else ""
        return f"{SESSION_COOKIE}={state.cookie}; Path=/; HttpOnly; SameSite=Strict{secure}".encode("latin-1")


def request_session(connection: HTTPConnection) -> RequestSession:
    state: RequestSession | None = connection.scope.get(SCOPE_KEY)  # set by the Sessions middleware
    if state is None:
        raise RuntimeError("the reading room's Sessions middleware is not installed")
    return state


def session_user(connection: HTTPConnection) -> str | None:
    """The user logged in with this request's session, or None."""
    return request_session(connection).user


def account_of(connection: HTTPConnection, logins: bool) -> Account:
    """The account acting: the logged-in user's, or the local one without logins (401 if logins are
    on and nobody is logged in)."""
    if not logins:
        return LOCAL_ACCOUNT
    account = request_session(connection).account
    if account is None:
        raise HTTPException(401, "log in first")
    return account


def reader_of(request: Request, logins: bool) -> str:
    """Who is reading: the logged-in user, or ``local`` when the room runs without logins (401 if
    logins are on and nobody is logged in)."""
    return account_of(request, logins).name


def client_address(connection: HTTPConnection) -> str:
    """The client's address (from trusted proxies' ``X-Forwarded-For`` only: ``--forwarded-allow-ips``)."""
    return connection.client.host if connection.client else "?"


def start_session(request: Request, user: str) -> None:
    """Log ``user`` in: a new session with a new id and CSRF token (the old one, if any, ends)."""
    state = request_session(request)
    book = state.keeper.book
    if state.info is not None:
        book.end(state.cookie)
    session_id, _ = book.start(user, client_address(request))
    state.cookie, state.new_cookie = session_id, True
    state.info = book.resolve(session_id)
    state.account = state.keeper.accounts.account(user) if state.keeper.accounts is not None else None


def end_session(request: Request) -> None:
    """Log out: the session's row goes, so a copy of its cookie opens nothing any more."""
    state = request_session(request)
    if state.info is not None:
        state.keeper.book.end(state.cookie)
    state.cookie, state.new_cookie = secrets.token_urlsafe(32), True
    state.info = state.account = None


def session_cookie(request: Request) -> str:
    """This request's session id (to keep it when its user changes their own password)."""
    return request_session(request).cookie


def local_path(target: str) -> str:
    """A redirect target kept inside this site (no scheme, host or protocol-relative path)."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def csrf_token(request: Request) -> str:
    """The session's CSRF token."""
    return request_session(request).csrf


async def csrf_protect(request: Request) -> None:
    """Refuse (403) a state-changing request without the session's CSRF token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = csrf_token(request)
    given = request.headers.get(CSRF_HEADER)
    if not given:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(str(expected), str(given)):
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
        now = time.monotonic()
        with self._lock:
            self._failures[(user, client)].append(now)
            if len(self._failures) > 10_000:  # names sprayed from many clients: forget the stale ones
                for key in [k for k in self._failures if not self._recent(k, now)]:
                    del self._failures[key]

    def succeeded(self, user: str, client: str) -> None:
        with self._lock:
            self._failures.pop((user, client), None)
