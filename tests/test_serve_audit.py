"""The audit trail (TestClient on the real app, real SQLite, the real command line): logins and failed
logins with the client's address and never the password, films opened, verdicts saved and changed with
old and new values, exports, users changed (on the page and in the file); append-only; the CSV export
through the web (admins) and ``cxr-regions audit export``."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from helpers.pacs import tiny_run
from helpers.serve import upload
from helpers.sessions import PASSWORDS, login, make_users, rows, token_of

pytestmark = pytest.mark.slow  # a room with a model and logins: argon2 at its production cost


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp("model"))


@pytest.fixture
def room(run, tmp_path):
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app

    users = make_users(tmp_path / "users.yaml")
    config = ServeConfig(run=run, data=tmp_path / "data", users=users, demo=False)
    app = create_app(config)
    with TestClient(app):
        yield (lambda: TestClient(app, client=("192.0.2.8", 1234))), config


def _events(data) -> list[dict]:
    names = ("id", "at", "actor", "action", "client", "film_id", "subject", "detail")
    found = rows(data, f"SELECT {', '.join(names)} FROM audit_events ORDER BY id")
    return [
        {**dict(zip(names, r, strict=True)), "detail": json.loads(r[-1]) if r[-1] else None} for r in found
    ]


def _png() -> bytes:
    import cv2

    from cxr_regions.phantom import render_film
    from cxr_regions.regions import REGION_KEYS

    # a phantom chest film: the intake's picture check refuses pictures that do not look like one
    rendered = render_film(np.random.default_rng(0), dict.fromkeys(REGION_KEYS, "0"), size=256)
    return cv2.imencode(".png", np.round(rendered.image * 255).astype(np.uint8))[1].tobytes()


def test_logins_films_verdicts_and_exports_are_recorded(room):
    client, config = room
    browser = client()
    assert login(browser, "dr_li", "a wrong secret").status_code == 401
    assert login(browser, "nobody", "another wrong secret").status_code == 401
    assert login(browser, "dr_li").status_code == 303
    token = token_of(browser, "/worklist")
    [stored] = upload(browser, token, ("film.png", _png()))
    film = stored["film_id"]
    assert browser.get(f"/films/{film}").status_code == 200
    assert browser.get(f"/films/{film}").status_code == 200  # a reload within a minute: one event
    assert browser.get(f"/films/{film}/image.png").status_code == 200
    first = {"csrf": token, **{f"v_{k}": "0" for k in ("thorax", "lungs", "aorta", "heart", "diaphragm")}}
    assert browser.post(f"/films/{film}/verdict", data={**first, "note": "clear"}).status_code == 200
    second = {**first, "v_heart": "1", "note": "cardiomegaly after all", "mark_read": "1"}
    assert browser.post(f"/films/{film}/verdict", data=second).status_code == 200
    assert browser.get("/export/verdicts.csv").status_code == 200
    browser.post("/logout", data={"csrf": token})

    events = _events(config.data)
    actions = [e["action"] for e in events]
    assert actions == [
        "login_failed", "login_failed", "login", "film_opened", "film_opened",
        "verdict_saved", "verdict_changed", "export", "logout",
    ]  # fmt: skip
    failed = events[0]
    assert (failed["actor"], failed["subject"], failed["client"]) == (None, "dr_li", "192.0.2.8")
    assert events[1]["subject"] == "nobody"
    assert all(e["client"] == "192.0.2.8" for e in events)
    assert [e["detail"]["via"] for e in events if e["action"] == "film_opened"] == ["page", "image"]
    saved, changed = events[5], events[6]
    assert saved["film_id"] == film and saved["actor"] == "dr_li" and saved["detail"]["old"] is None
    assert saved["detail"]["new"]["note"] == "clear"
    assert changed["detail"]["old"]["heart"] == "0" and changed["detail"]["new"]["heart"] == "1"
    assert changed["detail"]["old"]["read"] is False and changed["detail"]["new"]["read"] is True
    assert changed["detail"]["new"]["note"] == "cardiomegaly after all"
    assert events[7]["detail"] == {"what": "verdicts", "rows": 1}
    # never a password: not in the database file, its WAL, or anywhere in the trail
    for file in config.data.glob("reading-room.sqlite*"):
        content = file.read_bytes()
        for secret in ("a wrong secret", "another wrong secret", PASSWORDS["dr_li"]):
            assert secret.encode() not in content, (file.name, secret)


def test_the_trail_is_append_only(room):
    client, config = room
    login(client(), "dr_li")
    with sqlite3.connect(config.data / "reading-room.sqlite") as db:
        for statement in ("UPDATE audit_events SET actor = 'someone else'", "DELETE FROM audit_events"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(statement)
    assert [e["actor"] for e in _events(config.data)] == ["dr_li"]


def test_users_changed_on_the_page_and_in_the_file_are_recorded(room):
    from cxr_regions.serve.users import add_user, setting_full_name, update_users

    client, config = room
    admin = client()
    login(admin, "dr_admin")
    token = token_of(admin, "/admin/users")
    admin.post("/admin/users/dr_li/role", data={"csrf": token, "role": "admin"})
    add_user(config.users, "dr_file", "added in the file")  # as `serve-user add` does, the room running
    update_users(config.users, setting_full_name("dr_wang", "Wang Fang"))
    page = admin.get("/admin/users").text  # the room notices the file's change on this request
    assert "dr_file" in page and "Wang Fang" in page
    changes = [(e["actor"], e["action"], e["subject"], e["detail"]) for e in _events(config.data)][1:]
    assert changes == [
        ("dr_admin", "user_changed", "dr_li", {"role": {"old": "reader", "new": "admin"}}),
        ("users file", "user_added", "dr_file", {"role": "reader", "full_name": ""}),
        ("users file", "user_changed", "dr_wang", {"full_name": {"old": "", "new": "Wang Fang"}}),
    ]


def test_admins_export_the_trail_through_the_web_and_formulas_are_defused(room):
    client, _ = room
    login(client(), '=HYPERLINK("http://evil")', "x")  # a failed login whose "name" is a formula
    admin = client()
    login(admin, "dr_admin")
    response = admin.get("/admin/audit.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["action"] for r in table] == ["login_failed", "login", "export"]
    assert table[0]["subject"].startswith("'=HYPERLINK")
    assert json.loads(table[2]["detail"]) == {"what": "audit", "rows": 3}


def test_audit_export_on_the_command_line(room, tmp_path):
    from cxr_regions.errors import UserError
    from cxr_regions.serve import admin_commands

    client, config = room
    login(client(), "dr_li")
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """Test app."""

    admin_commands.register(app)
    runner = CliRunner()
    out = tmp_path / "out" / "audit.csv"
    missing = runner.invoke(app, ["audit", "export", "--data", str(tmp_path / "nowhere"), "-o", str(out)])
    assert isinstance(missing.exception, UserError) and "not found" in str(missing.exception)
    result = runner.invoke(app, ["audit", "export", "--data", str(config.data), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 audit event(s)" in result.output
    table = list(csv.DictReader(out.open(encoding="utf-8")))
    assert (table[0]["actor"], table[0]["action"]) == ("dr_li", "login")
    assert table[1]["action"] == "export" and table[1]["actor"].endswith("(command line)")
    assert table[1]["client"] == "cli"
