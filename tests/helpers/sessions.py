"""Helpers of the sessions and audit tests: a room with users of both roles, logging in, the cookie."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from helpers.serve import TOKEN

COOKIE = "cxr_reading_room"
PASSWORDS = {"dr_admin": "admin password 1", "dr_li": "correct horse battery", "dr_wang": "wang password 2"}


_USERS_TEXT: list[str] = []


def make_users(path: Path) -> Path:
    """A users file: dr_admin (admin, full name Admin Zhang), dr_li (reader, Li Wei), dr_wang (reader).

    Made with ``add_user`` once per test process, then copied (argon2 hashing is slow on purpose)."""
    from cxr_regions.serve.users import add_user

    if not _USERS_TEXT:
        first = path.with_name(".users-template.yaml")
        add_user(first, "dr_admin", PASSWORDS["dr_admin"], role="admin", full_name="Admin Zhang")
        add_user(first, "dr_li", PASSWORDS["dr_li"], full_name="Li Wei")
        add_user(first, "dr_wang", PASSWORDS["dr_wang"])
        _USERS_TEXT.append(first.read_text(encoding="utf-8"))
        first.unlink()
    path.write_text(_USERS_TEXT[0], encoding="utf-8")
    path.chmod(0o600)
    return path


def token_of(client, page: str = "/login") -> str:
    response = client.get(page)
    assert response.status_code == 200, response.text[:300]
    return TOKEN.search(response.text).group(1)


def login(client, name: str, password: str | None = None, **headers: str):
    """POST the login form (with the CSRF token of the login page); the response, not followed."""
    token = token_of(client)
    form = {
        "csrf": token,
        "username": name,
        "password": PASSWORDS.get(name, "") if password is None else password,
    }
    return client.post("/login", data={**form, "next": "/worklist"}, headers=headers, follow_redirects=False)


def rows(data: Path, sql: str, *args) -> list[tuple]:
    """Rows of the room's database, read with the sqlite3 module (as an auditor would)."""
    with sqlite3.connect(data / "reading-room.sqlite") as db:
        return db.execute(sql, args).fetchall()
