"""The reading room's middleware, one concern each: security headers on every response (refusals
included), the body-size limit on every POST before anything is read, and the login requirement; and
the parts of ``serve`` reaching the app's services only through the typed dependencies."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers.pacs import tiny_run

HEADERS = ("x-content-type-options", "x-frame-options", "referrer-policy", "content-security-policy")


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """A room with logins and a tiny upload limit (one file of 0.01 MB: about 1.2 MB per request)."""
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app
    from cxr_regions.serve.users import add_user

    folder = tmp_path_factory.mktemp("middleware")
    users = folder / "users.yaml"
    add_user(users, "dr_li", "correct horse battery")
    config = ServeConfig(
        run=tiny_run(folder), data=folder / "data", users=users, demo=False, max_upload_mb=0.01
    )
    with TestClient(create_app(config)) as client:
        yield client


def _secured(response) -> bool:
    return all(name in response.headers for name in HEADERS) and response.headers["x-frame-options"] == "DENY"


def test_one_middleware_per_concern_in_order(room):
    from cxr_regions.serve.middleware import BodySizeLimit, RequireLogin, SecurityHeaders, Sessions

    stack = [m.cls for m in room.app.user_middleware]  # outermost first
    assert stack == [SecurityHeaders, Sessions, BodySizeLimit, RequireLogin]


def test_every_response_carries_the_security_headers_refusals_too(room):
    room.cookies.clear()
    assert _secured(room.get("/healthz")) and _secured(room.get("/static/app.css"))
    refused = room.get("/api/worklist")
    assert refused.status_code == 401 and _secured(refused)
    redirected = room.get("/worklist", headers={"Accept": "text/html"}, follow_redirects=False)
    assert redirected.status_code == 303 and redirected.headers["location"] == "/login?next=/worklist"
    assert _secured(redirected)
    too_big = room.post("/upload", content=b"\0" * (2 << 20))
    assert too_big.status_code == 413 and _secured(too_big)
    assert _secured(room.get("/login")) and _secured(room.get("/films/999", headers={"Accept": "text/html"}))


def test_a_post_needs_a_length_within_the_limit_before_the_login_is_looked_at(room):
    room.cookies.clear()
    unsized = room.post("/upload", content=iter([b"part one", b"part two"]))  # chunked: no length
    assert unsized.status_code == 411 and "Content-Length" in unsized.json()["detail"]
    too_big = room.post("/upload", content=b"\0" * (2 << 20))
    assert too_big.status_code == 413 and "larger than" in too_big.json()["detail"]
    assert room.post("/upload", content=b"small").status_code == 401  # within the limit: log in first


def test_only_the_dependencies_read_the_app_state_and_no_module_takes_anothers_private_names():
    import cxr_regions.serve as serve

    package = Path(serve.__file__).parent
    state_readers, private_imports = [], []
    for path in sorted(package.rglob("*.py")):
        where = str(path.relative_to(package))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "state":
                owner = node.value
                if isinstance(owner, ast.Attribute) and owner.attr == "app":  # request.app.state
                    state_readers.append(where)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cxr_regions.serve"):
                private_imports += [f"{where}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert state_readers == ["deps.py"]
    assert not private_imports
