"""The audit trail: who did what in the reading room, when, and from which address.

One append-only table (``audit_events``; triggers refuse updates and deletes) in the room's database:
logins and failed logins (the user name tried and the client's address, never a password), logouts,
films opened, verdicts saved or changed (old and new values, written in the verdict's own transaction),
exports, and users added, removed or changed (through the users page, ``serve-user`` or an edit of the
users file). ``cxr-regions audit export`` and the admins' ``/admin/audit.csv`` write it as CSV.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from cxr_regions.fileio import atomic_path
from cxr_regions.serve.database import writer
from cxr_regions.serve.schema import AuditEvent

CSV_COLUMNS = ("id", "at", "actor", "action", "client", "film_id", "subject", "detail")
OPENED_AGAIN_S = 60.0
USERS_FILE_ACTOR = "users file"
"""The actor of a change found in the users file (``serve-user`` or an editor): no user name has a space."""


class Action(StrEnum):
    """What an audit event records."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    FILM_OPENED = "film_opened"
    VERDICT_SAVED = "verdict_saved"
    VERDICT_CHANGED = "verdict_changed"
    EXPORT = "export"
    USER_ADDED = "user_added"
    USER_REMOVED = "user_removed"
    USER_CHANGED = "user_changed"
    USERS_FILE_REFUSED = "users_file_refused"


@dataclass(frozen=True)
class Actor:
    """Who acts (a user name, ``local``, ``users file`` or a command-line user) and from where."""

    name: str | None
    client: str | None = None


def _now() -> datetime:
    return datetime.now(timezone.utc)


def event(
    action: Action, actor: Actor, *, film_id: int | None = None, subject: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:  # fmt: skip
    """A new audit row (for a caller that adds it to its own transaction, as the verdict save does)."""
    return AuditEvent(
        at=_now(), actor=(actor.name or "")[:128] or None, action=str(action),
        client=(actor.client or "")[:64] or None, film_id=film_id, subject=subject,
        detail=dict(detail) if detail else None,
    )  # fmt: skip


def verdict_event(
    film_id: int, actor: Actor, old: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> AuditEvent:
    """The audit row of a verdict saved for the first time (``old`` None) or changed."""
    action = Action.VERDICT_SAVED if old is None else Action.VERDICT_CHANGED
    return event(action, actor, film_id=film_id, detail={"old": dict(old) if old else None, "new": dict(new)})


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``= + - @`` (a formula) gets a ``'``."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class AuditTrail:
    """Writes and reads the ``audit_events`` table of one database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self._opened: dict[tuple[str | None, int, str], float] = {}
        self._lock = threading.Lock()

    def record(
        self, action: Action, actor: Actor, *, film_id: int | None = None, subject: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """Append one event (committed before this returns)."""
        with Session(self._writer) as session, session.begin():
            session.add(event(action, actor, film_id=film_id, subject=subject, detail=detail))

    def film_opened(self, actor: Actor, film_id: int, via: str) -> None:
        """Record that ``actor`` opened a film (``via`` the page, the image or the API); the same film
        by the same way again within ``OPENED_AGAIN_S`` seconds (a reload, the page's polling) once."""
        key, now = (actor.name, film_id, via), time.monotonic()
        with self._lock:
            if now - self._opened.get(key, -OPENED_AGAIN_S) < OPENED_AGAIN_S:
                return
            self._opened[key] = now
            if len(self._opened) > 10_000:
                self._opened = {k: t for k, t in self._opened.items() if now - t < OPENED_AGAIN_S}
        self.record(Action.FILM_OPENED, actor, film_id=film_id, detail={"via": via})

    def events(self, limit: int = 100, action: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` events (of one ``action``), newest first, as plain dicts."""
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if action:
            query = query.where(AuditEvent.action == action)
        with Session(self._engine) as session:
            return [_as_dict(row) for row in session.scalars(query).all()]

    def count(self) -> int:
        with Session(self._engine) as session:
            return int(session.scalar(select(func.count(AuditEvent.id))) or 0)

    def _batches(self, batch: int) -> Iterator[list[dict[str, Any]]]:
        last = 0
        while True:
            with Session(self._engine) as session:
                rows = session.scalars(
                    select(AuditEvent).where(AuditEvent.id > last).order_by(AuditEvent.id).limit(batch)
                ).all()
                events = [_as_dict(row) for row in rows]
            if not events:
                return
            last = events[-1]["id"]
            yield events

    def csv_chunks(self, batch: int = 2000) -> Iterator[str]:
        """The whole trail as CSV text (header first), oldest first, read in batches."""
        yield _csv_line(CSV_COLUMNS)
        for events in self._batches(batch):
            yield "".join(_csv_line(e.values()) for e in events)

    def export_csv(self, path: str | Path) -> int:
        """Write the whole trail to ``path`` as CSV (atomically); returns the number of events."""
        rows = 0
        with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(_csv_line(CSV_COLUMNS))
            for events in self._batches(2000):
                fh.write("".join(_csv_line(e.values()) for e in events))
                rows += len(events)
        return rows


def _as_dict(row: AuditEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(timespec="seconds"),
        "actor": row.actor,
        "action": row.action,
        "client": row.client,
        "film_id": row.film_id,
        "subject": row.subject,
        "detail": json.dumps(row.detail, ensure_ascii=False, sort_keys=True) if row.detail else "",
    }


def _csv_line(values: Any) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([_cell(v) for v in values])
    return out.getvalue()
