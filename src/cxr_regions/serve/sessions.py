"""Server-side login sessions: the ``sessions`` table and the data folder's ``session.secret``.

A login makes a row: the user, the client's address, a CSRF token, when it was made and last seen. The
browser's cookie carries a random 256-bit id; the table keeps only its HMAC under ``session.secret``, so
neither a copy of the database nor of the secret alone opens a session. A session ends when its row goes:
logout, a password change, the user's removal, ``idle`` seconds without a request, or ``lifetime``
seconds after the login. Visitors who are not logged in get a random cookie that is never stored; their
CSRF token is its HMAC (the login form needs one), so anonymous requests write nothing to the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
import string
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from typing import cast as cast_type

from sqlalchemy import Engine, String, cast, delete, inspect, select, update
from sqlalchemy.orm import Session

from cxr_regions.errors import UserError
from cxr_regions.serve.database import writer
from cxr_regions.serve.schema import LoginSession

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

SECRET_FILE = "session.secret"
SECRET_HEX = 64
TOUCH_EVERY_S = 30.0
log = logging.getLogger("cxr_regions.serve.sessions")


def session_secret(data: Path) -> bytes:
    """The data folder's session secret (64 hex characters, mode 0600), made atomically on first use.

    A damaged one (wrong length, not hex, readable by others) is a ``UserError`` saying what to do:
    nothing else depends on it, so deleting it only logs everyone out.
    """
    path = Path(data) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{SECRET_FILE}.", dir=path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(SECRET_HEX // 2))
                fh.flush()
                os.fsync(fh.fileno())
            with contextlib.suppress(FileExistsError):  # another process made it first: use theirs
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    fix = (
        f"stop the reading room, delete {path} and start it again: a new secret is made and everyone "
        "logs in again (films, verdicts and the audit trail are not affected)"
    )
    if not path.is_file():
        raise UserError(f"{path} is not a file; {fix}")
    if path.stat().st_mode & 0o077:
        raise UserError(
            f"{path} can be read by other users of this computer; make it private with `chmod 600 {path}`"
        )
    raw = path.read_bytes().strip()
    if len(raw) != SECRET_HEX or not all(chr(b) in string.hexdigits for b in raw):
        raise UserError(f"{path} is damaged (expected {SECRET_HEX} hexadecimal characters); {fix}")
    return bytes.fromhex(raw.decode("ascii"))


def check_tables(engine: Engine) -> None:
    """A ``UserError`` where the sessions or audit table is missing although the schema revision says
    it is there (the database was changed outside cxr-regions): the room would fail on every request."""
    missing = sorted({"sessions", "audit_events"} - set(inspect(engine).get_table_names()))
    if missing:
        raise UserError(
            f"{engine.url.database} has no table {' or '.join(missing)} although its schema says so: the "
            "database was changed outside cxr-regions; restore it from a backup (films, verdicts and the "
            "audit trail are in it)"
        )


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class SessionInfo:
    """A live session as a request sees it."""

    user: str
    csrf: str
    id_hash: str
    created_at: datetime
    last_seen: datetime


class SessionBook:
    """The ``sessions`` table under one secret, idle time-out and lifetime (both in seconds)."""

    def __init__(self, engine: Engine, secret: bytes, idle: float, lifetime: float) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self.secret = secret
        self.idle = timedelta(seconds=idle)
        self.lifetime = timedelta(seconds=lifetime)

    def _hash(self, session_id: str) -> str:
        return hmac.new(self.secret, b"session:" + session_id.encode(), hashlib.sha256).hexdigest()

    def anonymous_csrf(self, cookie: str) -> str:
        """The CSRF token of a visitor who is not logged in: an HMAC of their (unstored) cookie."""
        return hmac.new(self.secret, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._writer) as session, session.begin():
            yield session

    def start(self, user: str, client: str | None) -> tuple[str, str]:
        """A new session for ``user``: returns the cookie's session id and the CSRF token."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = _now()
        with self._write() as session:
            session.add(
                LoginSession(
                    id_hash=self._hash(session_id), user=user, csrf=csrf, client=(client or "")[:64],
                    created_at=now, last_seen=now,
                )
            )  # fmt: skip
        return session_id, csrf

    def _rows(self, session: Session, key: str | None = None) -> list[tuple[str, SessionInfo | None]]:
        """Rows as (key, info); info is None for a damaged row. Read as plain text and parsed here, so
        one bad value never fails a request."""
        query = select(
            LoginSession.id_hash, LoginSession.user, LoginSession.csrf,
            cast(LoginSession.created_at, String), cast(LoginSession.last_seen, String),
        )  # fmt: skip
        if key is not None:
            query = query.where(LoginSession.id_hash == key)
        rows: list[tuple[str, SessionInfo | None]] = []
        for id_hash, user, csrf, created, seen in session.execute(query).all():
            created_at, last_seen = _parse_time(created), _parse_time(seen)
            good = isinstance(user, str) and isinstance(csrf, str) and user and csrf
            if good and created_at is not None and last_seen is not None:
                rows.append((id_hash, SessionInfo(user, csrf, id_hash, created_at, last_seen)))
            else:
                rows.append((id_hash, None))
        return rows

    def resolve(self, session_id: str) -> SessionInfo | None:
        """The live session of this cookie, or None (unknown, timed out, or a damaged row, which goes
        with a warning). Its last-seen time is moved on at most every ``TOUCH_EVERY_S`` seconds."""
        key = self._hash(session_id)
        now = _now()
        with Session(self._engine) as session:
            rows = self._rows(session, key)
        if not rows:
            return None
        info = rows[0][1]
        if info is None:
            log.warning("a damaged session row was removed; its user logs in again")
        if info is None or self.expired(info, now):
            self._delete(key)
            return None
        if (now - info.last_seen).total_seconds() >= TOUCH_EVERY_S:
            with self._write() as session:
                session.execute(update(LoginSession).where(LoginSession.id_hash == key).values(last_seen=now))
        return info

    def _delete(self, key: str) -> None:
        with self._write() as session:
            session.execute(delete(LoginSession).where(LoginSession.id_hash == key))

    def expired(self, info: SessionInfo, now: datetime) -> bool:
        return now - info.last_seen > self.idle or now - info.created_at > self.lifetime

    def end(self, session_id: str) -> None:
        """End one session (logout)."""
        self._delete(self._hash(session_id))

    def end_user(self, user: str, keep: str | None = None) -> int:
        """End every session of ``user`` (but the one with cookie ``keep``); returns how many."""
        query = delete(LoginSession).where(LoginSession.user == user)
        if keep is not None:
            query = query.where(LoginSession.id_hash != self._hash(keep))
        with self._write() as session:
            result = cast_type("CursorResult[Any]", session.execute(query))  # a DELETE's result
            return int(result.rowcount or 0)

    def users(self) -> dict[str, int]:
        """How many sessions each user has open now."""
        with Session(self._engine) as session:
            users = session.scalars(select(LoginSession.user)).all()
        counts: dict[str, int] = {}
        for user in users:
            counts[user] = counts.get(user, 0) + 1
        return counts

    def sweep(self) -> int:
        """Delete timed-out and damaged sessions (at start and now and then); returns how many.

        A damaged row (e.g. a ``sessions`` table edited by hand) is deleted with a warning, never an
        error: a session only saves a login, so losing one costs its user a new login.
        """
        now = _now()
        with self._write() as session:
            rows = self._rows(session)
            damaged = [key for key, info in rows if info is None]
            gone = damaged + [key for key, info in rows if info is not None and self.expired(info, now)]
            for start in range(0, len(gone), 500):
                session.execute(
                    delete(LoginSession).where(LoginSession.id_hash.in_(gone[start : start + 500]))
                )
        if damaged:
            log.warning("%d damaged session row(s) removed; their users log in again", len(damaged))
        return len(gone)


def _parse_time(text: object) -> datetime | None:
    """A stored UTC time (``2026-12-07 01:02:03.456789``) as an aware datetime; None if unreadable."""
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
