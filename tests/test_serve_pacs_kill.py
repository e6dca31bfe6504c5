"""``cxr-regions serve --pacs URL --poll 5s --send-results`` as a real process, killed with SIGKILL between
fetching an instance and taking it in, then between sending results and recording them (the test-only
fault points named by ``CXR_FAULT_POINT``): the next start finishes the work, every film arrives once and
its results are in the PACS once. Skipped where Orthanc is missing."""

from __future__ import annotations

import signal
import sqlite3
import time
from io import BytesIO
from pathlib import Path

import pydicom
import pytest

from helpers.pacs import copy_dicom, start_orthanc, study_objects, tiny_run, upload_bytes, wait_for
from helpers.serve import free_port, make_phantom_dicoms, start_server, wait_server

WITHIN = 30.0


@pytest.fixture
def orthanc(tmp_path):
    server = start_orthanc(tmp_path / "orthanc")
    yield server
    server.discard()


def _rows(data: Path, query: str) -> list[tuple]:
    database = sqlite3.connect(data / "reading-room.sqlite")
    try:
        return database.execute(query).fetchall()
    finally:
        database.close()


def _killed_at(point: str, run: Path, data: Path, log: Path, options: list[str], monkeypatch) -> None:
    """Start serve with the fault point set; it must die there by SIGKILL."""
    monkeypatch.setenv("CXR_FAULT_POINT", point)
    process = start_server(run, data, free_port(), log, *options)
    try:
        code = process.wait(timeout=240)
    except BaseException:
        process.kill()
        process.wait()
        raise
    assert code == -signal.SIGKILL, (
        f"serve ended with {code}, not killed at {point}:\n{log.read_text()[-3000:]}"
    )


def test_serve_killed_between_fetch_and_store_and_between_send_and_record_loses_and_duplicates_nothing(
    orthanc, run_and_films, tmp_path, monkeypatch
):
    run, films = run_and_films
    copies = []
    for path in films:
        data = copy_dicom(path)
        upload_bytes(orthanc, data)
        copies.append(pydicom.dcmread(BytesIO(data), stop_before_pixels=True))
    room, log = tmp_path / "room", tmp_path / "serve.log"
    options = ["--pacs", orthanc.dicomweb, "--poll", "5s", "--send-results", "--pacs-jobs", "2"]
    _killed_at("pacs.fetched", run, room, log, options, monkeypatch)
    _killed_at("pacs.sent", run, room, log, options, monkeypatch)
    assert _rows(room, "SELECT count(*) FROM pacs_sent") == [(0,)]  # sent, never recorded
    monkeypatch.delenv("CXR_FAULT_POINT")
    port = free_port()
    process = start_server(run, room, port, log, *options)
    try:
        client = wait_server(port, process, log)
        started = time.monotonic()
        wait_for(
            lambda: len(_rows(room, "SELECT id FROM films WHERE status = 'ready'")) == len(copies),
            timeout=WITHIN, what="every film on the worklist",
        )  # fmt: skip
        wait_for(
            lambda: client.get("/api/pacs").json()["counts"]["sent_results"] == len(copies),
            timeout=WITHIN, what="every film's results back",
        )  # fmt: skip
        assert time.monotonic() - started < 2 * WITHIN
        assert client.get("/api/pacs").json()["jobs"]["set_aside"] == 0
    finally:
        process.terminate()
        process.wait(60)
    text = log.read_text()
    assert "queued again" in text and "PACS job(s) a previous server left unfinished" in text
    sops = [r[0] for r in _rows(room, "SELECT sop_instance_uid FROM films")]
    assert sorted(sops) == sorted(str(c.SOPInstanceUID) for c in copies)  # each film once
    assert len(_rows(room, "SELECT id FROM pacs_sent WHERE kind = 'results'")) == len(copies)
    for copy in copies:
        objects = study_objects(orthanc, str(copy.StudyInstanceUID))
        kinds = sorted(str(d.SOPClassUID.name) for found in objects.values() for d in found)
        assert len(kinds) == 3 and sum(k.startswith("Secondary") for k in kinds) == 1  # film, SC, SR
        assert len(objects["SR"]) == 1
    for copy in copies:  # the log names films by number, never a patient
        assert str(copy.PatientID) not in text and str(copy.PatientName) not in text
        assert str(copy.SOPInstanceUID) not in text
    # quiet: our own lines per film, none of the libraries' chatter
    for library in ("alembic", "highdicom", "pynetdicom", "dicomweb_client", "urllib3"):
        assert f" INFO {library}" not in text


@pytest.fixture
def run_and_films(tmp_path) -> tuple[Path, list[Path]]:
    dicoms, _ = make_phantom_dicoms(tmp_path / "phantom", n=3, seed=53)
    return tiny_run(tmp_path / "run"), dicoms
