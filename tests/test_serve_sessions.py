"""Server-side sessions, roles and accounts in the reading room (FastAPI's TestClient on the real app, real
SQLite): logout, a password change and a removed user end sessions at once; the idle time-out; readers
and admins; a user changes their own password; trusted proxies' headers only; damaged session rows."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from helpers.pacs import tiny_run
from helpers.sessions import COOKIE, PASSWORDS, login, make_users, rows, token_of

pytestmark = pytest.mark.slow  # a room with a model and logins: argon2 at its production cost


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp("model"))


@pytest.fixture
def room(run, tmp_path):
    """A room with three users (one admin) and no demo films; yields (client factory, config)."""
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app

    users = make_users(tmp_path / "users.yaml")
    config = ServeConfig(
        run=run, data=tmp_path / "data", users=users, demo=False,
        forwarded_allow_ips="10.9.8.7",
    )  # fmt: skip
    app = create_app(config)

    def client(address: str = "127.0.0.1"):
        """A browser of its own (its own cookies) at ``address``."""
        return TestClient(app, client=(address, 40000))

    with TestClient(app):  # runs the app's lifespan (worker, session sweep) around the test
        yield client, config


def test_a_login_is_a_row_and_logout_ends_it_for_every_copy_of_the_cookie(room):
    client, config = room
    browser = client()
    response = login(browser, "dr_li")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert (
        "httponly" in cookie.lower()
        and "samesite=strict" in cookie.lower()
        and "secure" not in cookie.lower()
    )
    [(user, client_address)] = rows(config.data, "SELECT user, client FROM sessions")
    assert (user, client_address) == ("dr_li", "127.0.0.1")
    copied = browser.cookies[COOKIE]
    assert copied not in str(rows(config.data, "SELECT * FROM sessions"))  # only its keyed hash is stored
    assert browser.get("/api/worklist").status_code == 200
    assert browser.post("/logout", data={"csrf": token_of(browser, "/worklist")}).status_code == 200
    assert rows(config.data, "SELECT * FROM sessions") == []
    thief = client()
    thief.cookies.set(COOKIE, copied)
    assert thief.get("/api/worklist").status_code == 401


def test_a_new_login_gets_a_new_session_id(room):
    client, _ = room
    browser = client()
    browser.get("/login")
    before = browser.cookies[COOKIE]  # an anonymous visitor's cookie, never stored
    login(browser, "dr_li")
    assert browser.cookies[COOKIE] != before  # no session fixation


def test_the_idle_time_out_ends_a_session(room):
    client, config = room
    assert config.session_idle_minutes == 30  # the default
    browser = client()
    login(browser, "dr_li")
    assert browser.get("/api/worklist").status_code == 200
    idle = (datetime.now(timezone.utc) - timedelta(minutes=31)).replace(tzinfo=None)
    with sqlite3.connect(config.data / "reading-room.sqlite") as db:
        db.execute("UPDATE sessions SET last_seen = ?", (idle.isoformat(sep=" "),))
    assert browser.get("/api/worklist").status_code == 401
    assert rows(config.data, "SELECT * FROM sessions") == []


def test_a_damaged_session_row_means_logging_in_again_not_an_error(room, caplog):
    client, config = room
    browser = client()
    login(browser, "dr_li")
    with sqlite3.connect(config.data / "reading-room.sqlite") as db:
        db.execute("UPDATE sessions SET last_seen = 'not a time', csrf = ''")
    with caplog.at_level(logging.WARNING):
        assert browser.get("/api/worklist").status_code == 401
    assert "damaged session row was removed" in caplog.text
    assert rows(config.data, "SELECT * FROM sessions") == []
    assert login(browser, "dr_li").status_code == 303


def test_a_missing_sessions_table_stops_the_start_with_what_to_do(run, tmp_path):
    from cxr_regions.errors import UserError
    from cxr_regions.serve import ServeConfig, create_app
    from cxr_regions.serve.store import Store

    Store(tmp_path / "data").close()
    with sqlite3.connect(tmp_path / "data" / "reading-room.sqlite") as db:
        db.execute("DROP TABLE sessions")
    config = ServeConfig(run=run, data=tmp_path / "data", users=make_users(tmp_path / "u.yaml"), demo=False)
    with pytest.raises(UserError, match=r"has no table sessions .* restore it from a backup"):
        create_app(config)


def test_readers_read_and_give_verdicts_admins_also_manage_users_and_the_audit(room):
    client, _ = room
    reader, admin = client(), client()
    login(reader, "dr_li")
    login(admin, "dr_admin")
    token = token_of(reader, "/worklist")
    assert "nav-users" not in reader.get("/worklist").text and "nav-users" in admin.get("/worklist").text
    for path in ("/admin/users", "/admin/audit.csv"):
        assert reader.get(path).status_code == 403, path
        assert admin.get(path).status_code == 200, path
    add = {"csrf": token, "name": "dr_x", "password": "a long password", "role": "admin"}
    assert reader.post("/admin/users", data=add).status_code == 403
    assert reader.post("/admin/users/dr_wang/remove", data={"csrf": token}).status_code == 403
    assert reader.get("/account").status_code == 200 and "Li Wei" in reader.get("/account").text


def test_an_admin_adds_changes_and_removes_users_and_it_takes_effect_at_once(room):
    from cxr_regions.serve.users import Users

    client, config = room
    admin, wang = client(), client()
    login(admin, "dr_admin")
    login(wang, "dr_wang")
    token = token_of(admin, "/admin/users")
    form = {
        "csrf": token,
        "name": "dr_new",
        "password": "first password",
        "role": "reader",
        "full_name": "New 王",
    }
    assert "added dr_new" in admin.post("/admin/users", data=form).text
    assert Users.load(config.users).get("dr_new").full_name == "New 王"
    assert login(client(), "dr_new", "first password").status_code == 303
    page = admin.post("/admin/users/dr_wang/role", data={"csrf": token, "role": "admin"})
    assert "dr_wang is now admin" in page.text
    assert wang.get("/admin/users").status_code == 200  # the role counts from the next request
    assert admin.post("/admin/users/dr_wang/remove", data={"csrf": token}).status_code == 200
    assert wang.get("/api/worklist").status_code == 401  # removed: the session is gone at once
    assert "dr_wang" not in Users.load(config.users)
    bad = admin.post("/admin/users", data={**form, "name": "dr bad"})
    assert "not allowed" in bad.text and "dr bad" not in Users.load(config.users)


def test_the_last_admin_can_be_neither_removed_nor_demoted(room):
    client, _ = room
    admin = client()
    login(admin, "dr_admin")
    token = token_of(admin, "/admin/users")
    assert "only admin" in admin.post("/admin/users/dr_admin/remove", data={"csrf": token}).text
    assert (
        "only admin" in admin.post("/admin/users/dr_admin/role", data={"csrf": token, "role": "reader"}).text
    )
    assert admin.get("/admin/users").status_code == 200


def test_a_user_changes_their_own_password_and_their_other_sessions_end(room):
    client, _ = room
    here, elsewhere = client(), client()
    login(here, "dr_li")
    login(elsewhere, "dr_li")
    token = token_of(here, "/account")
    wrong = here.post(
        "/account/password", data={"csrf": token, "current": "guess", "new": "x" * 10, "repeat": "x" * 10}
    )
    assert "current password is wrong" in wrong.text
    new = "a brand new password"
    form = {"csrf": token, "current": PASSWORDS["dr_li"], "new": new, "repeat": new}
    assert "Password changed" in here.post("/account/password", data=form).text
    assert here.get("/api/worklist").status_code == 200  # this session goes on
    assert elsewhere.get("/api/worklist").status_code == 401  # the other one ended
    assert login(client(), "dr_li").status_code == 401  # the old password no longer works
    assert login(client(), "dr_li", new).status_code == 303


def test_an_admins_password_reset_ends_every_session_of_that_user(room):
    client, _ = room
    admin, li = client(), client()
    login(admin, "dr_admin")
    login(li, "dr_li")
    token = token_of(admin, "/admin/users")
    admin.post("/admin/users/dr_li/password", data={"csrf": token, "password": "reset by admin"})
    assert li.get("/api/worklist").status_code == 401


def test_forwarded_headers_count_from_trusted_proxies_only(room):
    client, config = room
    proxy, stranger = client("10.9.8.7"), client("192.0.2.50")
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    through_proxy = login(proxy, "dr_li", **https)
    assert "secure" in through_proxy.headers["set-cookie"].lower()
    spoofed = login(stranger, "dr_wang", **{**https, "X-Forwarded-For": "198.51.100.1"})
    assert "secure" not in spoofed.headers["set-cookie"].lower()
    sessions = dict(rows(config.data, "SELECT user, client FROM sessions"))
    assert sessions == {"dr_li": "203.0.113.9", "dr_wang": "192.0.2.50"}
    # the login throttle counts per real client: a spoofed X-Forwarded-For gives no fresh tries
    codes = [
        login(stranger, "dr_admin", "wrong", **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(6)
    ]
    assert codes == [401] * 5 + [429]


def test_the_pacs_link_names_a_verdicts_observer_by_the_full_name(run, tmp_path):
    """The verdict SR's observer is the reader's full name from the users file (the login name where
    the file has none); the room is built, not started, so no PACS is needed."""
    from cxr_regions.serve import ServeConfig
    from cxr_regions.serve.services import Services
    from cxr_regions.serve.users import setting_full_name, update_users

    users = make_users(tmp_path / "users.yaml")
    config = ServeConfig(
        run=run, data=tmp_path / "data", users=users, demo=False, pacs="http://127.0.0.1:9/dicom-web",
        send_results=True,
    )  # fmt: skip
    services = Services.build(config)
    try:
        assert services.pacs_link.observer_name("dr_li") == "Li Wei"
        assert services.pacs_link.observer_name("dr_wang") == "dr_wang"
        update_users(users, setting_full_name("dr_wang", "Wang Fang"))
        assert services.pacs_link.observer_name("dr_wang") == "Wang Fang"  # the file's change counts
    finally:
        services.engine.dispose()
        services.store.close()
