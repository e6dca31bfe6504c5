"""Accounts and the audit trail: a user's own page (their password), and the admins' users page (add,
remove, role, full name, a new password) and audit export.

Every change goes through ``Accounts.change``: the same locked, atomic edit of the users file as
``serve-user``, in force at once (a removed user's sessions end, a changed password ends the user's
other sessions) and recorded in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from cxr_regions.errors import UserError
from cxr_regions.serve import auth
from cxr_regions.serve import users as users_file
from cxr_regions.serve.accounts import Accounts
from cxr_regions.serve.audit import Action, Actor, AuditTrail
from cxr_regions.serve.deps import (
    CSRF_CHECKED,
    AccountDep,
    AccountsDep,
    ActorDep,
    AdminDep,
    AuditDep,
    PagesDep,
    ThrottleDep,
)
from cxr_regions.serve.users import Role, Users

router = APIRouter()
RECENT_EVENTS = 50


@router.get("/account", response_class=HTMLResponse)
def account_page(
    request: Request,
    account: AccountDep,
    accounts: AccountsDep,
    pages: PagesDep,
    done: str = "",
    error: str = "",
) -> HTMLResponse:
    """The user's own account: name, full name, role, and a form to change their password."""
    return pages.render(request, "account.html", {"account": account, "done": done, "error": error})


@router.post("/account/password", dependencies=CSRF_CHECKED)
def change_own_password(
    request: Request, account: AccountDep, accounts: AccountsDep, throttle: ThrottleDep, actor: ActorDep,
    current: str = Form(""), new: str = Form(""), repeat: str = Form(""),
) -> Response:  # fmt: skip
    """Change one's own password (the current one first; wrong ones count as wrong logins). The
    user's other sessions end; this one goes on."""
    client = auth.client_address(request)

    def again(error: str) -> RedirectResponse:
        return RedirectResponse(f"/account?{urlencode({'error': error})}", status_code=303)

    if throttle.wait_seconds(account.name, client) > 0:
        return again("too many wrong passwords; try again later")
    if not accounts.verify(account.name, current):
        throttle.failed(account.name, client)
        return again("the current password is wrong")
    if new != repeat:
        return again("the new password and its repetition differ")
    try:
        edit = users_file.setting_password(account.name, new)
        accounts.change(actor, edit, keep_session=auth.session_cookie(request))
    except UserError as exc:
        return again(str(exc))
    return RedirectResponse("/account?done=password", status_code=303)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(
    request: Request, admin: AdminDep, accounts: AccountsDep, audit: AuditDep, pages: PagesDep,
    done: str = "", error: str = "",
) -> HTMLResponse:  # fmt: skip
    """The users (role, full name, open sessions), the forms to change them, and the latest events."""
    users = accounts.current()
    sessions = accounts.sessions.users()
    rows = [{"account": users.accounts[n], "sessions": sessions.get(n, 0)} for n in users.names]
    context: dict[str, Any] = {
        "rows": rows, "roles": [r.value for r in Role], "problem": accounts.problem, "done": done,
        "error": error, "events": audit.events(RECENT_EVENTS), "users_file": str(accounts.path),
    }  # fmt: skip
    return pages.render(request, "users.html", context)


def _admin_change(
    accounts: Accounts, actor: Actor, done: str, edit: Callable[..., Callable[[Users], Any]], *args: Any,
    **kwargs: Any,
) -> Response:  # fmt: skip
    """Make the edit ``edit(*args, **kwargs)`` (its checks included) and go back to the users page,
    saying what was done or what was wrong."""
    try:
        accounts.change(actor, edit(*args, **kwargs))
    except UserError as exc:
        return RedirectResponse(f"/admin/users?{urlencode({'error': str(exc)})}", status_code=303)
    return RedirectResponse(f"/admin/users?{urlencode({'done': done})}", status_code=303)


@router.post("/admin/users", dependencies=CSRF_CHECKED)
def add_user(
    admin: AdminDep, accounts: AccountsDep, actor: ActorDep, name: str = Form(""), password: str = Form(""),
    role: str = Form("reader"), full_name: str = Form(""),
) -> Response:  # fmt: skip
    """Add a user with a first password (they change it on their account page)."""
    done = f"added {name}"
    return _admin_change(
        accounts, actor, done, users_file.adding, name, password, role=role, full_name=full_name
    )


@router.post("/admin/users/{name}/role", dependencies=CSRF_CHECKED)
def set_role(
    name: str, admin: AdminDep, accounts: AccountsDep, actor: ActorDep, role: str = Form("")
) -> Response:
    """Make a user reader or admin (never the last admin a reader)."""
    return _admin_change(accounts, actor, f"{name} is now {role}", users_file.setting_role, name, role)


@router.post("/admin/users/{name}/full-name", dependencies=CSRF_CHECKED)
def set_full_name(
    name: str, admin: AdminDep, accounts: AccountsDep, actor: ActorDep, full_name: str = Form("")
) -> Response:
    """Set the full name the verdict reports to the PACS show as the observer."""
    done = f"full name of {name} set"
    return _admin_change(accounts, actor, done, users_file.setting_full_name, name, full_name)


@router.post("/admin/users/{name}/password", dependencies=CSRF_CHECKED)
def reset_password(
    name: str, admin: AdminDep, accounts: AccountsDep, actor: ActorDep, password: str = Form("")
) -> Response:
    """Give a user a new password; every session of theirs ends."""
    done = f"new password for {name}; their sessions ended"
    return _admin_change(accounts, actor, done, users_file.setting_password, name, password)


@router.post("/admin/users/{name}/remove", dependencies=CSRF_CHECKED)
def remove_user(name: str, admin: AdminDep, accounts: AccountsDep, actor: ActorDep) -> Response:
    """Remove a user (never the last admin); their sessions end at once."""
    return _admin_change(accounts, actor, f"removed {name}", users_file.removing, name)


@router.get("/admin/audit.csv")
def audit_export(admin: AdminDep, audit: AuditDep, actor: ActorDep) -> Response:
    """The whole audit trail as CSV (as ``cxr-regions audit export`` writes it), this export included."""
    audit.record(Action.EXPORT, actor, detail={"what": "audit", "rows": audit.count() + 1})
    return _csv_stream(audit)


def _csv_stream(audit: AuditTrail) -> StreamingResponse:
    return StreamingResponse(
        audit.csv_chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"', "Cache-Control": "no-store"},
    )
