"""Sessions, users and TLS against a real ``cxr-regions serve`` process: a cookie copied before logout
reads nothing afterwards; users added, removed and broken in the users file while the room runs; HTTPS
with a self-signed certificate made here (``openssl``) and ``Secure`` cookies; a damaged session secret
and a users file with a bad line stop the start with what to do, and leave both files as they were."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from helpers.pacs import tiny_run
from helpers.serve import TOKEN, free_port, start_server
from helpers.sessions import COOKIE, PASSWORDS, make_users

pytestmark = pytest.mark.slow  # starts real serve processes


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return tiny_run(tmp_path_factory.mktemp("model"))


def _wait(url: str, process: subprocess.Popen, log: Path, timeout: float = 180.0, **client) -> httpx.Client:
    session = httpx.Client(base_url=url, timeout=30.0, **client)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if session.get("/healthz").status_code == 200:
                return session
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"serve did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def _login(session: httpx.Client, name: str, password: str | None = None) -> httpx.Response:
    token = TOKEN.search(session.get("/login").text).group(1)
    form = {
        "csrf": token,
        "username": name,
        "password": PASSWORDS.get(name, "") if password is None else password,
    }
    return session.post("/login", data=form)


def _until(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not seen within {timeout} s")


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(30)


def test_logout_and_users_file_edits_take_effect_at_once_on_a_running_server(run, tmp_path):
    from cxr_regions.serve.users import add_user, removing, update_users

    users = make_users(tmp_path / "users.yaml")
    port, log = free_port(), tmp_path / "serve.log"
    # 127.0.0.2 is still this computer, but not one of the names the room counts as loopback: it warns
    options = ("--users", str(users), "--host", "127.0.0.2", "--forwarded-allow-ips", "127.0.0.1")
    process = start_server(run, tmp_path / "room", port, log, *options)
    url = f"http://127.0.0.2:{port}"
    try:
        browser = _wait(url, process, log)
        assert _login(browser, "dr_li", "a wrong password").status_code == 401
        assert _login(browser, "dr_li").status_code == 303
        copied = browser.cookies[COOKIE]
        thief = httpx.Client(base_url=url, cookies={COOKIE: copied})
        assert thief.get("/api/worklist").status_code == 200  # the copy works while the session lives
        token = TOKEN.search(browser.get("/worklist").text).group(1)
        assert browser.post("/logout", data={"csrf": token}).status_code == 303
        assert thief.get("/api/worklist").status_code == 401  # ... and not after the logout
        assert httpx.Client(base_url=url, cookies={COOKIE: copied}).get("/worklist").status_code == 401

        add_user(users, "dr_new", "added while running")  # as `serve-user add` does
        newcomer = httpx.Client(base_url=url)
        assert _login(newcomer, "dr_new", "added while running").status_code == 303
        wang = httpx.Client(base_url=url)
        assert _login(wang, "dr_wang").status_code == 303
        update_users(users, removing("dr_wang"))  # as `serve-user remove` does
        assert wang.get("/api/worklist").status_code == 401

        good = users.read_text(encoding="utf-8")
        users.write_text(good + "dr_broken: [unclosed\n", encoding="utf-8")  # a hand edit gone wrong
        assert _login(httpx.Client(base_url=url), "dr_li").status_code == 303  # the room keeps its users
        assert newcomer.get("/api/worklist").status_code == 200
        _until(lambda: "users file changed but not taken" in log.read_text(), "the refusal in the log")
        line = len(good.splitlines()) + 1
        assert f"line {line}" in log.read_text()
        users.write_text(good.replace("dr_new:", "dr_renamed:"), encoding="utf-8")  # fixed, and a change
        assert newcomer.get("/api/worklist").status_code == 401

        # X-Forwarded-For counts from the trusted proxy (127.0.0.1) only, never from another client
        for source in ("127.0.0.1", "127.0.0.3"):
            proxy = httpx.Client(base_url=url, transport=httpx.HTTPTransport(local_address=source))
            https = proxy.get("/login", headers={"X-Forwarded-Proto": "https"})
            assert ("secure" in https.headers["set-cookie"].lower()) == (source == "127.0.0.1")
            proxy.cookies.clear()  # (a Secure cookie would not go back over plain HTTP)
            proxy.headers["X-Forwarded-For"] = "203.0.113.5"
            assert _login(proxy, "dr_li").status_code == 303
        logins = "SELECT client FROM audit_events WHERE action = 'login' ORDER BY id DESC LIMIT 2"
        with sqlite3.connect(tmp_path / "room" / "reading-room.sqlite") as db:
            assert [c for (c,) in db.execute(logins)] == ["127.0.0.3", "203.0.113.5"]

        admin = httpx.Client(base_url=url)
        assert _login(admin, "dr_admin").status_code == 303
        with sqlite3.connect(tmp_path / "room" / "reading-room.sqlite") as db:  # a damaged sessions table
            db.execute("UPDATE sessions SET created_at = 'garbage' WHERE user = 'dr_admin'")
        assert admin.get("/api/worklist").status_code == 401  # logs in again; never a server error
        assert _login(admin, "dr_admin").status_code == 303 and admin.get("/api/worklist").status_code == 200
    finally:
        _stop(process)
    text = log.read_text()
    assert "without TLS" in text  # the warning at start: beyond loopback without TLS
    assert "damaged session row was removed" in text and "Traceback" not in text
    assert "wrong login for user 'dr_li' from 127.0.0." in text  # user name and address, no password
    for password in (*PASSWORDS.values(), "added while running", "a wrong password"):
        assert password not in text


def _certificate(folder: Path, name: str) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (Debian: apt-get install openssl)")
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_with_a_self_signed_certificate_and_secure_cookies(run, tmp_path):
    from cxr_regions.errors import UserError
    from cxr_regions.serve import ServeConfig

    cert, key = _certificate(tmp_path, "room")
    other_cert, other_key = _certificate(tmp_path, "other")
    users = make_users(tmp_path / "users.yaml")
    mismatched = ServeConfig(run=run, data=tmp_path / "x", users=users, tls_cert=cert, tls_key=other_key)
    with pytest.raises(UserError, match="do not load"):
        mismatched.validate()
    with pytest.raises(UserError, match="go together"):
        ServeConfig(run=run, data=tmp_path / "x", users=users, tls_cert=cert).validate()

    port, log = free_port(), tmp_path / "serve.log"
    options = ("--users", str(users), "--tls-cert", str(cert), "--tls-key", str(key))
    process = start_server(run, tmp_path / "room", port, log, *options)
    try:
        browser = _wait(
            f"https://127.0.0.1:{port}", process, log, verify=ssl.create_default_context(cafile=cert)
        )
        response = _login(browser, "dr_li")
        assert response.status_code == 303
        cookie = response.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
        assert browser.get("/api/worklist").status_code == 200  # the Secure cookie goes back over HTTPS
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)  # no plain HTTP on this port
        with pytest.raises(httpx.ConnectError):
            httpx.get(
                f"https://127.0.0.1:{port}/healthz", verify=ssl.create_default_context(cafile=other_cert)
            )
    finally:
        _stop(process)
    assert "without TLS" not in log.read_text()


def test_a_damaged_secret_or_a_bad_users_line_stops_the_start_with_what_to_do(run, tmp_path):
    users = make_users(tmp_path / "users.yaml")
    data = tmp_path / "room"
    data.mkdir()
    secret = data / "session.secret"
    secret.write_bytes(b"\x00\xffhalf a secret")
    secret.chmod(0o600)

    def serve() -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "cxr_regions.cli", "serve", str(run), "--data", str(data)]
        command += ["--users", str(users), "--port", str(free_port())]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src"), "COLUMNS": "1000"}
        return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)

    damaged = serve()
    said = damaged.stdout + damaged.stderr
    assert damaged.returncode == 2 and "Traceback" not in said, said
    assert "session.secret is damaged" in said and "delete" in said
    assert secret.read_bytes() == b"\x00\xffhalf a secret"  # left for the operator to look at

    secret.unlink()
    good = users.read_text(encoding="utf-8")
    bad = good.replace("  role: reader\n", "  role: superuser\n", 1)
    users.write_text(bad, encoding="utf-8")
    refused = serve()
    said = refused.stdout + refused.stderr
    line = bad.splitlines().index("  role: superuser") + 1
    assert refused.returncode == 2 and "Traceback" not in said, said
    assert f"line {line}" in said and "superuser" in said and "reader, admin" in said
    assert users.read_text(encoding="utf-8") == bad  # never rewritten by the room
