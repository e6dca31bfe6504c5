"""Logins on the reading room (``--users``): every page and API call needs one, sessions are
HttpOnly + SameSite=Strict cookies, the reader's name goes with each verdict, wrong logins are
rate-limited, and login itself is CSRF-protected."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.serve import csrf


@pytest.fixture(scope="module")
def room(trained_run, tmp_path_factory):
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app
    from cxr_regions.serve.users import add_user

    folder = tmp_path_factory.mktemp("auth")
    users = folder / "users.yaml"
    add_user(users, "dr_li", "correct horse battery")
    config = ServeConfig(run=trained_run, data=folder / "data", users=users, poll_seconds=0.1)
    with TestClient(create_app(config)) as client:
        yield client, config


def _login(client, name: str, password: str):
    token = csrf(client, "/login")
    return client.post(
        "/login", data={"csrf": token, "username": name, "password": password, "next": "/worklist"},
        follow_redirects=False,
    )  # fmt: skip


def test_without_login_every_page_and_api_is_refused(room):
    client, _ = room
    client.cookies.clear()
    page = client.get("/worklist", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    for path in ("/api/worklist", "/api/films/1", "/films/1/image.png", "/films/1/heatmaps/heart.png"):
        assert client.get(path).status_code == 401, path
    for path in ("/export/verdicts.csv", "/agreement", "/films/1"):
        assert client.get(path, follow_redirects=False).status_code == 401, path
    assert client.post("/upload", files=[("files", ("a.dcm", b"x"))]).status_code == 401
    assert client.get("/login").status_code == 200


def test_login_sets_a_strict_http_only_session_and_the_reader_name(room):
    client, _ = room
    client.cookies.clear()
    response = _login(client, "dr_li", "correct horse battery")
    assert response.status_code == 303 and response.headers["location"] == "/worklist"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/worklist")
    assert page.status_code == 200 and "dr_li" in page.text
    assert client.get("/api/worklist").status_code == 200


def test_login_without_csrf_token_is_refused(room):
    client, _ = room
    client.cookies.clear()
    client.get("/login")
    response = client.post("/login", data={"username": "dr_li", "password": "correct horse battery"})
    assert response.status_code == 403


def test_verdicts_carry_the_logged_in_reader(room):
    import cv2
    import numpy as np

    client, _ = room
    client.cookies.clear()
    _login(client, "dr_li", "correct horse battery")
    token = csrf(client)
    from cxr_regions.phantom import render_film
    from cxr_regions.regions import REGION_KEYS

    # a phantom chest film: the intake's picture check refuses pictures that do not look like one
    rendered = render_film(np.random.default_rng(0), dict.fromkeys(REGION_KEYS, "0"), size=256)
    film = cv2.imencode(".png", np.round(rendered.image * 255).astype(np.uint8))[1].tobytes()
    result = client.post(
        "/upload", files=[("files", ("f.png", film))], data={"csrf": token},
        headers={"Accept": "application/json"},
    ).json()["results"][0]  # fmt: skip
    form = {"csrf": token, **{f"v_{k}": "0" for k in ("thorax", "lungs", "aorta", "heart", "diaphragm")}}
    assert client.post(f"/films/{result['film_id']}/verdict", data=form).status_code == 200
    [verdict] = client.get(f"/api/films/{result['film_id']}").json()["verdicts"]
    assert verdict["reader"] == "dr_li"


def test_wrong_logins_are_rate_limited_per_user_and_client(room):
    client, _ = room
    client.cookies.clear()
    codes = [_login(client, "dr_wang", f"guess {i}").status_code for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    assert "try again" in _login(client, "dr_wang", "guess").text
    assert _login(client, "dr_li", "correct horse battery").status_code == 303  # another user is not locked


def test_logout_ends_the_session(room):
    client, _ = room
    client.cookies.clear()
    _login(client, "dr_li", "correct horse battery")
    token = csrf(client)
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/api/worklist").status_code == 401


def test_login_redirect_stays_on_this_site(room):
    client, _ = room
    client.cookies.clear()
    token = csrf(client, "/login")
    response = client.post(
        "/login",
        data={
            "csrf": token,
            "username": "dr_li",
            "password": "correct horse battery",
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_session_secret_is_private(room):
    _, config = room
    secret = Path(config.data) / "session.secret"
    assert secret.stat().st_mode & 0o077 == 0
