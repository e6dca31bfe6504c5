"""A killed reading room loses no saved verdict: ``cxr-regions serve`` as a real process on a free
port, a verdict saved over HTTP, SIGKILL, restart on the same data folder, the verdict is there."""

from __future__ import annotations

import signal
import time

from helpers.serve import csrf, free_port, make_phantom_dicoms, start_server, upload, wait_ready, wait_server


def test_a_saved_verdict_survives_sigkill_and_the_queue_is_picked_up(trained_run, tmp_path):
    dicoms, _ = make_phantom_dicoms(tmp_path / "phantom", n=3)
    data, log, port = tmp_path / "room", tmp_path / "serve.log", free_port()
    process = start_server(trained_run, data, port, log)
    try:
        client = wait_server(port, process, log)
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
    half = data / "incoming" / "killed-mid-upload.part"
    half.write_bytes(b"half a film")
    process = start_server(trained_run, data, port, log)
    try:
        client = wait_server(port, process, log)
        assert not half.exists()  # never stored, so not kept
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
    watch, data, log, port = tmp_path / "pacs", tmp_path / "room", tmp_path / "serve.log", free_port()
    watch.mkdir()
    process = start_server(trained_run, data, port, log, "--watch", str(watch))
    try:
        client = wait_server(port, process, log)
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
        text = log.read_text()  # the reason is logged with the file's short content hash, never its name
        assert "refused a file (watch, file " in text and "not a DICOM, PNG or JPEG file" in text
        assert "notes.txt" not in text and "incoming.tmp" not in text
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(30)
