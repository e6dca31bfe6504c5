"""Logging in and out (the session itself is kept by ``serve/auth.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from cxr_regions.serve import auth
from cxr_regions.serve.deps import CSRF_CHECKED, ConfigDep, PagesDep, ThrottleDep, UsersDep

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, config: ConfigDep, pages: PagesDep, next: str = "/worklist", error: str = ""
) -> Response:
    if not config.logins:
        return RedirectResponse("/worklist", status_code=303)
    return pages.render(request, "login.html", {"next": auth.local_path(next), "error": error})


@router.post("/login", dependencies=CSRF_CHECKED)
def login(
    request: Request, config: ConfigDep, users: UsersDep, throttle: ThrottleDep, pages: PagesDep,
    username: str = Form(""), password: str = Form(""), next: str = Form("/worklist"),
) -> Response:  # fmt: skip
    """Check the user's password (wrong ones are rate-limited per user name and client) and start a
    session; back to the page the user came for."""
    if not config.logins or users is None:
        return RedirectResponse("/worklist", status_code=303)
    target = auth.local_path(next)
    client = request.client.host if request.client else "?"
    wait = throttle.wait_seconds(username, client)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        error = f"too many wrong logins for this user; try again in about {minutes} minute(s)"
        return pages.render(request, "login.html", {"next": target, "error": error}, status_code=429)
    if not username or not users.verify(username, password):
        throttle.failed(username, client)
        error = "wrong user name or password"
        return pages.render(request, "login.html", {"next": target, "error": error}, status_code=401)
    throttle.succeeded(username, client)
    auth.start_session(request, username)
    return RedirectResponse(target, status_code=303)


@router.post("/logout", dependencies=CSRF_CHECKED)
def logout(request: Request, config: ConfigDep) -> RedirectResponse:
    auth.end_session(request)
    return RedirectResponse("/login" if config.logins else "/worklist", status_code=303)
