"""Logging in and out (the session itself is kept by ``serve/auth.py``); every login, wrong login and
logout goes into the audit trail, wrong ones into the log too (user name and client address only)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxr_regions.serve import auth
from cxr_regions.serve.audit import Action, Actor
from cxr_regions.serve.deps import (
    CSRF_CHECKED,
    AccountsDep,
    ActorDep,
    AuditDep,
    ConfigDep,
    PagesDep,
    ThrottleDep,
)

router = APIRouter()
log = logging.getLogger("cxr_regions.serve.login")


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, config: ConfigDep, pages: PagesDep, next: str = "/worklist", error: str = ""
) -> Response:
    if not config.logins:
        return RedirectResponse("/worklist", status_code=303)
    return pages.render(request, "login.html", {"next": auth.local_path(next), "error": error})


@router.post("/login", dependencies=CSRF_CHECKED)
def login(
    request: Request, accounts: AccountsDep, throttle: ThrottleDep, pages: PagesDep, audit: AuditDep,
    username: str = Form(""), password: str = Form(""), next: str = Form("/worklist"),
) -> Response:  # fmt: skip
    """Check the user's password (wrong ones are rate-limited per user name and client) and start a
    session; back to the page the user came for."""
    target = auth.local_path(next)
    client = auth.client_address(request)
    name = username[:128]
    wait = throttle.wait_seconds(name, client)
    if wait > 0:
        log.warning("login refused for user %r from %s: too many wrong logins", name, client)
        audit.record(Action.LOGIN_FAILED, Actor(None, client), subject=name, detail={"reason": "throttled"})
        minutes = max(1, round(wait / 60))
        error = f"too many wrong logins for this user; try again in about {minutes} minute(s)"
        return pages.render(request, "login.html", {"next": target, "error": error}, status_code=429)
    if not name or not accounts.verify(name, password):
        throttle.failed(name, client)
        log.warning("wrong login for user %r from %s", name, client)
        audit.record(
            Action.LOGIN_FAILED, Actor(None, client), subject=name, detail={"reason": "wrong password"}
        )
        error = "wrong user name or password"
        return pages.render(request, "login.html", {"next": target, "error": error}, status_code=401)
    throttle.succeeded(name, client)
    auth.start_session(request, name)
    audit.record(Action.LOGIN, Actor(name, client))
    return RedirectResponse(target, status_code=303)


@router.post("/logout", dependencies=CSRF_CHECKED)
def logout(request: Request, config: ConfigDep, audit: AuditDep, actor: ActorDep) -> RedirectResponse:
    """End the session: its row goes, so a copy of its cookie opens nothing afterwards."""
    if auth.session_user(request) is not None:
        auth.end_session(request)
        audit.record(Action.LOGOUT, actor)
    return RedirectResponse("/login" if config.logins else "/worklist", status_code=303)
