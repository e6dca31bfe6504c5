"""A killed reading room loses no saved verdict: ``cxr-regions serve`` as a real process on a free
port, a verdict saved over HTTP, SIGKILL, restart on the same data folder, the verdict is there."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from serve_helpers import csrf, make_phantom_dicoms, upload, wait_ready

httpx = pytest.importorskip("httpx")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(run: Path, data: Path, port: int, log: Path, watch: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    command = [
        sys.executable,
        "-m",
        "cxr_regions.cli",
        "serve",
        str(run),
        "--data",
        str(data),
        "--port",
        str(port),
    ]
    if watch is not None:
        command += ["--watch", str(watch)]
    return subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _client(port: int, process: subprocess.Popen, log: Path, timeout: float = 180.0) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if client.get("/healthz").status_code == 200:
                return client
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"serve did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def test_a_saved_verdict_survives_sigkill_and_the_queue_is_picked_up(trained_run, tmp_path):
    dicoms, _ = make_phantom_dicoms(tmp_path / "phantom", n=3)
    data, log, port = tmp_path / "room", tmp_path / "serve.log", _free_port()
    process = _start(trained_run, data, port, log)
    try:
        client = _client(port, process, log)
        token = csrf(client)
        [result] = upload(client, token, (dicoms[0].name, dicoms[0].read_bytes()))
        film = wait_ready(client, result["film_id"])
        form = {"csrf": token, "v_heart": "1", "v_lungs": "u", "note": "before the kill", "mark_read": "1"}
        saved = client.post(f"/films/{film['id']}/verdict", data=form, follow_redirects=True)
        assert saved.status_code == 200 and "Verdict saved" in saved.text
        # a second film is still waiting or being processed when the server dies
        [pending] = upload(client, token, (dicoms[1].name, dicoms[1].read_bytes()))
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    process = _start(trained_run, data, port, log)
    try:
        client = _client(port, process, log)
        after = client.get(f"/api/films/{film['id']}").json()
        [verdict] = after["verdicts"]
        assert verdict["labels"]["heart"] == "1" and verdict["labels"]["lungs"] == "u"
        assert verdict["note"] == "before the kill" and after["read"] is True
        assert wait_ready(client, pending["film_id"])["status"] == "ready"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    assert "PatientName" not in log.read_text()


def test_the_watch_folder_takes_dropped_dicom_files(trained_run, tmp_path):
    dicoms, _ = make_phantom_dicoms(tmp_path / "phantom", n=2, seed=5)
    watch, data, log, port = tmp_path / "pacs", tmp_path / "room", tmp_path / "serve.log", _free_port()
    watch.mkdir()
    process = _start(trained_run, data, port, log, watch=watch)
    try:
        client = _client(port, process, log)
        (watch / "incoming.tmp").write_bytes(dicoms[0].read_bytes()[:200])  # a file still being written
        time.sleep(0.3)
        with (watch / "incoming.tmp").open("ab") as fh:
            fh.write(dicoms[0].read_bytes()[200:])
        (watch / "notes.txt").write_text("not a film")
        deadline = time.monotonic() + 120
        rows = []
        while time.monotonic() < deadline and not rows:
            rows = [r for r in client.get("/api/worklist").json()["rows"] if r["source"] == "watch"]
            time.sleep(0.3)
        assert len(rows) == 1 and wait_ready(client, rows[0]["id"])["status"] == "ready"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(watch.iterdir()):
            time.sleep(0.3)
        assert not any(watch.iterdir())  # taken or refused (the reason is in the log), then removed
        assert "refused notes.txt (watch): not a DICOM, PNG or JPEG file" in log.read_text()
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
