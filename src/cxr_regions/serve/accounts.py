"""The running reading room's users: the users file, read again whenever it changes.

The file stays the one place users are kept (an administrator can read, back up and manage it with the
usual tools; ``serve-user`` edits it without the room's data folder). Every request looks at the file's
identity (inode, modification time, size: one ``stat``) and reads it again when it changed, so a user
added or removed with ``serve-user`` or an editor takes effect without a restart. Each difference goes
into the audit trail; a removed user's sessions and the sessions of a user whose password changed end
at once. A file changed into something unreadable is refused (logged with its line, recorded in the audit
trail, shown on the users page) and the users stay as they were until it is fixed.

Changes made on the users page go through the same locked, atomic edit of the file as ``serve-user``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from cxr_regions.errors import UserError
from cxr_regions.serve import users as users_file
from cxr_regions.serve.audit import USERS_FILE_ACTOR, Action, Actor, AuditTrail
from cxr_regions.serve.sessions import SessionBook
from cxr_regions.serve.users import Account, Users

log = logging.getLogger("cxr_regions.serve.accounts")
T = TypeVar("T")
Signature = tuple[int, int, int] | None


def _signature(path: Path) -> Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class Accounts:
    """The users of a running room (from ``path``), kept in step with the file, the sessions and the
    audit trail. A bad file at start is a ``UserError`` (the room does not start)."""

    def __init__(self, path: Path, sessions: SessionBook, audit: AuditTrail) -> None:
        self.path = Path(path)
        self.sessions = sessions
        self.audit = audit
        self._lock = threading.RLock()
        self._signature = _signature(self.path)
        self._users = Users.load(self.path)
        self.problem: str | None = None
        """Why the file as it is now was not taken (None when it was)."""

    def current(self) -> Users:
        """The users now (the file read again first if it changed)."""
        if _signature(self.path) != self._signature:
            with self._lock:
                self._refresh()
        return self._users

    def account(self, name: str | None) -> Account | None:
        return self.current().get(name) if name else None

    def display_name(self, name: str) -> str:
        """The user's full name where the users file has one, else the login name (e.g. the observer
        of a verdict in the SR sent to the PACS)."""
        account = self.account(name)
        return account.display_name if account is not None else name

    def verify(self, name: str, password: str) -> bool:
        return self.current().verify(name, password)

    def _refresh(self) -> None:
        signature = _signature(self.path)
        if signature == self._signature:
            return
        try:
            new = Users.load(self.path)
        except UserError as exc:
            self._signature = signature
            if str(exc) != self.problem:
                self.problem = str(exc)
                log.error("users file changed but not taken: %s; the users stay as they were", exc)
                self.audit.record(
                    Action.USERS_FILE_REFUSED, Actor(USERS_FILE_ACTOR), detail={"error": str(exc)}
                )
            return
        self.problem = None
        self._take(new, Actor(USERS_FILE_ACTOR))
        self._signature = signature

    def _take(self, new: Users, actor: Actor, keep_session: str | None = None) -> None:
        """Make ``new`` the users: audit each difference, end the sessions it makes invalid."""
        old = self._users
        for name in sorted(set(old.names) | set(new.names)):
            before, after = old.get(name), new.get(name)
            if before is None and after is not None:
                detail: dict[str, Any] = {"role": after.role.value, "full_name": after.full_name}
                self.audit.record(Action.USER_ADDED, actor, subject=name, detail=detail)
            elif after is None and before is not None:
                ended = self.sessions.end_user(name)
                self.audit.record(Action.USER_REMOVED, actor, subject=name, detail={"sessions_ended": ended})
            elif before is not None and after is not None and before != after:
                detail = {}
                if before.role != after.role:
                    detail["role"] = {"old": before.role.value, "new": after.role.value}
                if before.full_name != after.full_name:
                    detail["full_name"] = {"old": before.full_name, "new": after.full_name}
                if before.password_hash != after.password_hash:
                    keep = keep_session if actor.name == name else None
                    detail["password"] = "changed"
                    detail["sessions_ended"] = self.sessions.end_user(name, keep=keep)
                self.audit.record(Action.USER_CHANGED, actor, subject=name, detail=detail)
        self._users = new

    def change(self, actor: Actor, edit: Callable[[Users], T], keep_session: str | None = None) -> T:
        """Apply ``edit`` to the users file (under its lock, as ``serve-user`` does) and take the result
        at once, recorded as done by ``actor``; changes made in the file meanwhile are recorded first,
        as made there. A broken file is a ``UserError`` with its line, and nothing changes."""

        def loaded(users: Users) -> None:
            if _signature(self.path) != self._signature:
                self.problem = None
                self._take(users, Actor(USERS_FILE_ACTOR))

        def saved(users: Users) -> None:
            self._take(users, actor, keep_session)
            self._signature = _signature(self.path)

        with self._lock:
            return users_file.update_users(self.path, edit, on_loaded=loaded, on_saved=saved)
