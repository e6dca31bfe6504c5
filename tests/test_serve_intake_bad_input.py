"""Bad input and faults at the door: truncated uploads, a client that goes away mid-upload, a full disk and
a database another process holds locked. Each gets a clear answer, and nothing is half-stored: after each
one the rows and the files of the data folder agree, and the same film is taken once the fault is gone."""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from helpers.serve import csrf, fault_driver, locked, make_phantom_dicoms, upload

DISK_FULL = "disk of the room's data folder is full"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return fault_driver().tiny_run(tmp_path_factory.mktemp("bad-input-model"))


@pytest.fixture(scope="module")
def dicoms(tmp_path_factory) -> list[Path]:
    return make_phantom_dicoms(tmp_path_factory.mktemp("bad-input-phantom") / "out", n=12, seed=4)[0]


def consistent(data: Path) -> list[str]:
    """The rows and the files agree: every row's file is there, no file without a row, nothing half-filed
    and nothing left in ``incoming`` (empty list when all is well)."""
    with contextlib.closing(sqlite3.connect(data / "reading-room.sqlite", timeout=30)) as db:
        rows = db.execute("SELECT png_path, full_depth_path, status FROM films").fetchall()
    problems = [f"half-filed row {p}" for p, _, status in rows if status == "receiving"]
    owned = {p for png, full, _ in rows for p in (png, full) if p}  # display PNG, full-depth PNG
    files = {f"films/{p.name}" for p in (data / "films").iterdir()}
    problems += [f"file without a row: {f}" for f in files - owned]
    problems += [f"row without a file: {p}" for p in owned if p not in files]
    problems += [f"left in incoming: {p.name}" for p in (data / "incoming").iterdir()]
    return problems


def _client(run: Path, data: Path, **options):
    from fastapi.testclient import TestClient

    from cxr_regions.serve import ServeConfig, create_app

    return TestClient(create_app(ServeConfig(run=run, data=data, poll_seconds=0.1, **options)))


def test_truncated_files_are_refused_with_a_reason(tiny, dicoms, tmp_path):
    import cv2
    import numpy as np

    picture = np.tile(np.linspace(0, 255, 128, dtype=np.uint8), (128, 1))
    png = cv2.imencode(".png", picture)[1].tobytes()
    jpeg = cv2.imencode(".jpg", picture)[1].tobytes()
    dicom = dicoms[0].read_bytes()
    data = tmp_path / "room"
    with _client(tiny, data) as client:
        results = upload(
            client, csrf(client), ("a.dcm", dicom[: len(dicom) // 2]), ("b.dcm", dicom[:300]),
            ("c.png", png[: len(png) // 2]), ("d.jpg", jpeg[: len(jpeg) // 2]),
        )  # fmt: skip
        assert [r["status"] for r in results] == ["refused"] * 4, results  # (the second: no Modality left)
        reasons = [r["reason"] for r in results]
        assert "truncated or damaged" in reasons[0], reasons
        assert "PNG file is truncated" in reasons[2] and "JPEG file is truncated" in reasons[3], reasons
        assert client.get("/api/worklist").json()["total"] == 0
        [whole] = upload(client, csrf(client), ("a.dcm", dicom))
        assert whole["status"] == "stored"
    assert consistent(data) == []


@pytest.mark.parametrize("point", ["intake.decoded", "intake.write_film", "intake.row_added"])
def test_a_full_disk_at_any_step_fails_the_upload_cleanly_and_it_is_taken_later(
    point, tiny, dicoms, tmp_path, monkeypatch
):
    data = tmp_path / "room"
    with _client(tiny, data) as client:
        token = csrf(client)
        monkeypatch.setenv("CXR_FAULT_POINT", f"{point}:enospc")
        [failed] = upload(client, token, ("a.dcm", dicoms[1].read_bytes()))
        assert failed["status"] == "failed" and DISK_FULL in failed["reason"], failed
        assert "nothing was stored" in failed["reason"] and consistent(data) == []
        assert client.get("/api/worklist").json()["total"] == 0
        monkeypatch.delenv("CXR_FAULT_POINT")
        [stored] = upload(client, token, ("a.dcm", dicoms[1].read_bytes()))
        assert stored["status"] == "stored"
    assert consistent(data) == []


# --- a real server: a client that goes away, a database locked by another process, a real full disk ----


def _cut_off_upload(port: int, token: str, cookie: str, film: bytes) -> None:
    """Send the headers and half the body of an upload, then close the connection."""
    boundary = "cutoffboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="x.dcm"\r\n'
            "Content-Type: application/dicom\r\n\r\n"
        ).encode()
        + film
        + f"\r\n--{boundary}--\r\n".encode()
    )
    head = (
        f"POST /upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nCookie: {cookie}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + body[: len(body) // 2])


def _wait_for(condition, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout} s")


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "6m"):
    """A tmpfs of ``size`` at ``folder`` (mounting needs root; skipped where it is not allowed)."""
    folder.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({done.stderr.strip() or 'mount failed'}); "
                    "the injected full disk of the test above covers the code path")  # fmt: skip
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.mark.slow  # a serve process
def test_a_real_server_takes_a_cut_off_upload_a_locked_database_and_a_full_disk(tiny, dicoms, tmp_path):
    from helpers.serve import free_port, start_server, wait_server

    log, port = tmp_path / "serve.log", free_port()
    with small_disk(tmp_path / "disk") as data:
        process = start_server(tiny, data, port, log, "--db-busy-timeout", "0.5")
        try:
            client = wait_server(port, process, log)
            token = csrf(client)
            cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
            [first] = upload(client, token, ("a.dcm", dicoms[2].read_bytes()))
            assert first["status"] == "stored"

            # a client that goes away mid-upload: logged, nothing stored, the server goes on
            _cut_off_upload(port, token, cookie, dicoms[3].read_bytes())
            _wait_for(lambda: "went away before sending the whole request" in log.read_text(), "not logged")
            assert client.get("/api/worklist").json()["total"] == 1 and consistent(data) == []

            # another process holds the database: the upload fails fast and clearly, pages still read
            with locked(data / "reading-room.sqlite"):
                started = time.monotonic()
                [busy] = upload(client, token, ("b.dcm", dicoms[3].read_bytes()))
                assert busy["status"] == "failed" and "locked by another process" in busy["reason"], busy
                assert time.monotonic() - started < 20
                verdict = {"csrf": token, **{f"v_{k}": "0" for k in ("thorax", "lungs", "aorta", "heart")}}
                saved = client.post(
                    f"/films/{first['film_id']}/verdict", data={**verdict, "v_diaphragm": "1"}
                )
                assert saved.status_code == 503 and "locked by another process" in saved.json()["detail"]
                assert client.get("/api/worklist").status_code == 200
            assert consistent(data) == []
            [later] = upload(client, token, ("b.dcm", dicoms[3].read_bytes()))
            assert later["status"] == "stored"

            # the disk fills up: each upload is stored whole or fails with the reason, never half-stored
            ballast = data / "ballast"
            with open(ballast, "wb") as out, contextlib.suppress(OSError):
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            outcomes = []
            for step, i in enumerate(range(4, 12)):
                [result] = upload(client, token, (f"{i}.dcm", dicoms[i].read_bytes()))
                outcomes.append(result["status"])
                assert result["status"] in ("stored", "failed"), result
                assert result["status"] == "stored" or DISK_FULL in result["reason"], result
                assert consistent(data) == [], outcomes
                if result["status"] == "stored":
                    break
                os.truncate(ballast, max(0, ballast.stat().st_size - 8192 * 2**step))  # more room each time
            assert outcomes[0] == "failed" and outcomes[-1] == "stored", outcomes
            ballast.unlink()
            assert client.get("/api/worklist").json()["total"] == 3
        finally:
            process.kill()
            process.wait(30)
        assert consistent(data) == []
    text = log.read_text()
    assert "Traceback" not in text, text[text.index("Traceback") - 500 :][:4000]
