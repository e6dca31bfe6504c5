"""The reading room's PACS link against a real Orthanc, behind the tests' fault-injecting proxy: one object
that fails (HTTP 500, a hang, a connection cut mid-body, its original gone) never holds up the others and
is set aside with its reason; a PACS refusing a compressed SC gets it uncompressed; a stopped PACS is shown
within a poll and work resumes after its restart with no attempt spent; films pushed over DICOM (storescu,
Orthanc) come in through the intake and get their results; a film that came another way gets its results
where the PACS holds it. Skipped where Orthanc (or, for the listener, dcmtk) is missing."""

from __future__ import annotations

import sqlite3
import time
from io import BytesIO
from pathlib import Path
from typing import NamedTuple

import pydicom
import pytest

from helpers.pacs import (
    copy_dicom,
    dcmtk_missing,
    push_to_modality,
    register_modality,
    start_orthanc,
    store_statuses,
    storescu,
    study_objects,
    tiny_run,
    upload_bytes,
    wait_for,
)
from helpers.pacs_faults import Fault, FaultProxy, Rule, pacs_down
from helpers.serve import csrf, free_port, uncompressed_phantom_dicoms, upload

WITHIN = 30.0  # "within the normal time": on the worklist, and results back, within 30 s


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> list[Path]:
    """Six phantom films, uncompressed (for storescu)."""
    return uncompressed_phantom_dicoms(tmp_path_factory.mktemp("link-phantom"), n=6, seed=41)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("link-run"))


@pytest.fixture
def orthanc(tmp_path):
    server = start_orthanc(tmp_path / "orthanc")
    yield server
    server.discard()


class Proxy(FaultProxy):
    """The fault proxy, plus: the next request to exactly ``refuse_once`` gets HTTP 409, once (a STOW-RS
    the PACS refuses)."""

    refuse_once: str | None = None

    def rule_for(self, path: str) -> Rule | None:
        with self.lock:
            if self.refuse_once is not None and path == self.refuse_once:
                self.refuse_once = None
                return Rule(path, Fault.CONFLICT, hits=1)
        return super().rule_for(path)


def _app(run: Path, data: Path, pacs_url: str | None, **options):
    from cxr_regions.serve import ServeConfig, create_app

    settings = dict(
        run=run, data=data, poll_seconds=0.1, pacs=pacs_url, pacs_poll=1.0, pacs_attempts=3,
        pacs_retry_base=0.2, pacs_max_backoff=0.5, pacs_connect_timeout=1.0, pacs_read_timeout=1.0,
    )  # fmt: skip
    return create_app(ServeConfig(**{**settings, **options}))


class Copy(NamedTuple):
    study: str
    sop: str
    data: bytes
    orthanc_id: str


def _film(server, source: Path, **attributes) -> Copy:
    """A copy of ``source`` under new UIDs stored in the PACS."""
    data = copy_dicom(source, **attributes)
    stored = upload_bytes(server, data)
    dataset = pydicom.dcmread(BytesIO(data), stop_before_pixels=True)
    return Copy(str(dataset.StudyInstanceUID), str(dataset.SOPInstanceUID), data, stored["ID"])


def _films(data: Path) -> dict[str, dict]:
    """SOP Instance UID -> id, status and source of the films on the worklist (read from the database)."""
    database = sqlite3.connect(data / "reading-room.sqlite")
    try:
        rows = database.execute("SELECT sop_instance_uid, id, status, source FROM films").fetchall()
    finally:
        database.close()
    return {sop: {"id": id_, "status": status, "source": source} for sop, id_, status, source in rows}


def _ready(data: Path, sops: list[str]):
    films = _films(data)
    return all(films.get(s, {}).get("status") == "ready" for s in sops) and films


def _set_aside(client) -> dict[str, dict]:
    return {j["sop_instance_uid"]: j for j in client.get("/api/pacs/jobs?state=set_aside").json()["jobs"]}


def _jobs(client, state: str, kind: str) -> list[dict]:
    return [j for j in client.get(f"/api/pacs/jobs?state={state}").json()["jobs"] if j["kind"] == kind]


def _results_in_pacs(server, study: str) -> tuple[int, int]:
    """(Secondary Captures, SRs) the study holds."""
    objects = study_objects(server, study)
    sc = [d for found in objects.values() for d in found if d.SOPClassUID.name.startswith("Second")]
    return len(sc), len(objects.get("SR", []))


def test_one_failing_object_never_holds_up_the_others_and_is_set_aside_with_its_reason(
    orthanc, phantom, run, tmp_path
):
    from fastapi.testclient import TestClient

    healthy = [_film(orthanc, phantom[i]) for i in range(3)]
    http500, hang, cut, gone = (_film(orthanc, phantom[i % len(phantom)]) for i in range(3, 7))
    reached = time.monotonic()
    with Proxy(orthanc.url, hang_seconds=3.0) as proxy:
        proxy.fail(f"/instances/{http500.sop}", Fault.ERROR_500)
        proxy.fail(f"/instances/{hang.sop}", Fault.HANG)
        proxy.fail(f"/instances/{cut.sop}", Fault.CUT)
        proxy.fail(f"/instances/{gone.sop}/metadata", Fault.NOT_FOUND)  # its original deleted since
        proxy.refuse_once = f"/dicom-web/studies/{healthy[0].study}"  # the first STOW of this film's results
        data = tmp_path / "room"
        app = _app(run, data, proxy.dicomweb, send_results=True)
        with TestClient(app) as client:
            wanted = [c.sop for c in (*healthy, gone)]
            films = wait_for(lambda: _ready(data, wanted), timeout=WITHIN, what="healthy films read")
            assert time.monotonic() - reached < WITHIN
            read = time.monotonic()
            wait_for(
                lambda: client.get("/api/pacs").json()["counts"]["sent_results"] == 3,
                timeout=WITHIN, what="the healthy films' results back",
            )  # fmt: skip
            assert time.monotonic() - read < WITHIN
            aside = wait_for(
                lambda: len(s := _set_aside(client)) == 4 and s, timeout=WITHIN, what="4 set aside"
            )
            assert {sop: (j["kind"], j["attempts"]) for sop, j in aside.items()} == {
                http500.sop: ("fetch", 3),
                hang.sop: ("fetch", 3),
                cut.sop: ("fetch", 3),
                gone.sop: ("results", 3),
            }
            assert "HTTP 500" in aside[http500.sop]["last_error"]
            assert "timed out waiting for the answer" in aside[hang.sop]["last_error"]
            assert "HTTP 404" in aside[gone.sop]["last_error"]
            status = client.get("/api/pacs").json()
            assert status["up"] and status["send"]["ok"] and not status["ok"]  # connected, work set aside
            page = client.get("/pacs").text
            for sop in (http500.sop, hang.sop, cut.sop, gone.sop):
                assert sop in page
            assert "4 set aside" in page and "HTTP 404" in page
            assert films[gone.sop]["status"] == "ready"  # on the worklist; only its results wait
            [job] = [j for j in _jobs(client, "done", "results") if j["sop_instance_uid"] == healthy[0].sop]
            assert "sent uncompressed" in job["note"]
            # the faults are mended; a person re-queues the set-aside work from the PACS page
            proxy.clear()
            assert client.post("/pacs/retry", data={"all": "1"}).status_code == 403  # no CSRF token
            token = csrf(client, "/pacs")
            answer = client.post("/pacs/retry", data={"csrf": token, "all": "1"}, follow_redirects=False)
            assert answer.status_code == 303 and answer.headers["location"] == "/pacs?retried=4"
            every = [c.sop for c in (*healthy, http500, hang, cut, gone)]
            wait_for(lambda: _ready(data, every), timeout=WITHIN, what="the mended films read")
            wait_for(
                lambda: client.get("/api/pacs").json()["counts"]["sent_results"] == 7,
                timeout=WITHIN, what="every film's results back",
            )  # fmt: skip
            assert _set_aside(client) == {}
    # nothing duplicated: each study holds its film and one SC and one SR
    named = {"healthy": healthy[0], "healthy 2": healthy[1], "healthy 3": healthy[2], "http500": http500}
    named.update(hang=hang, cut=cut, gone=gone)
    found = {name: _results_in_pacs(orthanc, c.study) for name, c in named.items()}
    assert found == dict.fromkeys(named, (1, 1))
    [sc] = [
        d for found in study_objects(orthanc, healthy[0].study).values() for d in found
        if d.SOPClassUID.name.startswith("Second")
    ]  # fmt: skip
    assert not sc.file_meta.TransferSyntaxUID.is_compressed  # the fallback after the refusal
    [other] = [
        d for found in study_objects(orthanc, healthy[1].study).values() for d in found
        if d.SOPClassUID.name.startswith("Second")
    ]  # fmt: skip
    assert other.file_meta.TransferSyntaxUID.is_compressed  # lossless JPEG 2000 where accepted


def test_a_stopped_pacs_is_shown_within_a_poll_and_work_resumes_after_its_restart_and_corrections_come_in(
    orthanc, phantom, run, tmp_path
):
    from fastapi.testclient import TestClient

    from cxr_regions.serve.users import add_user

    study, sop, _, _ = _film(orthanc, phantom[0])
    data, users = tmp_path / "room", tmp_path / "users.yaml"
    add_user(users, "dr.wang", "a long enough password", full_name="Wang Xiaoming")
    app = _app(run, data, orthanc.dicomweb, send_results=True, pacs_poll=2.0, users=users)
    with TestClient(app) as client:
        token = csrf(client, "/login")
        form = {
            "csrf": token,
            "username": "dr.wang",
            "password": "a long enough password",
            "next": "/worklist",
        }
        assert client.post("/login", data=form, follow_redirects=False).status_code == 303
        films = wait_for(lambda: _ready(data, [sop]), timeout=WITHIN, what="the first film read")
        wait_for(lambda: client.get("/api/pacs").json()["counts"]["sent_results"] == 1, timeout=WITHIN)
        with pacs_down(orthanc):
            stopped = time.monotonic()
            down = wait_for(
                lambda: not (s := client.get("/api/pacs").json())["up"] and s, timeout=2.0 + 5.0, every=0.1,
                what="the PACS shown down within one poll interval + 5 s",
            )  # fmt: skip
            assert time.monotonic() - stopped <= 2.0 + 5.0
            assert not down["ok"] and not down["poll"]["ok"] and not down["send"]["ok"]
            assert "is the PACS running?" in down["poll"]["message"]
            assert "does not answer" in down["send"]["message"]
            page = client.get("/pacs").text
            assert 'class="error">the PACS does not answer' in page
            # a verdict saved meanwhile waits for the PACS without spending its attempts
            token = csrf(client)
            form = {"csrf": token, "v_heart": "1", "mark_read": "1"}
            film_id = films[sop]["id"]
            assert (
                client.post(f"/films/{film_id}/verdict", data=form, follow_redirects=False).status_code == 303
            )
            waiting = wait_for(
                lambda: _jobs(client, "pending,failed", "verdict"),
                timeout=WITHIN,
                what="the verdict job queued",
            )
            assert client.get("/healthz").json() == {"ok": True}
        back = time.monotonic()
        wait_for(lambda: client.get("/api/pacs").json()["counts"]["sent_verdicts"] == 1, timeout=WITHIN)
        assert time.monotonic() - back < WITHIN
        [done] = _jobs(client, "done", "verdict")
        assert done["id"] == waiting[0]["id"] and done["attempts"] == 0
        # and a film that reaches the restarted PACS comes in as usual
        study2, sop2, _, _ = _film(orthanc, phantom[1])
        wait_for(lambda: _ready(data, [sop2]), timeout=WITHIN, what="a film after the restart")
        wait_for(lambda: client.get("/api/pacs").json()["counts"]["sent_results"] == 2, timeout=WITHIN)
        wait_for(lambda: client.get("/api/pacs").json()["ok"], timeout=WITHIN, what="the link green again")
        # an instance refused as it first came (marked ABDOMEN) is corrected in the PACS under the same
        # UID: the change feed tells, and the corrected film comes onto the worklist
        wrong = copy_dicom(phantom[2], BodyPartExamined="ABDOMEN")
        upload_bytes(orthanc, wrong)
        corrected_sop = str(pydicom.dcmread(BytesIO(wrong), stop_before_pixels=True).SOPInstanceUID)
        wait_for(lambda: client.get("/api/pacs").json()["counts"]["refused"] == 1, timeout=WITHIN)
        dataset = pydicom.dcmread(BytesIO(wrong))
        dataset.BodyPartExamined = "CHEST"
        fixed = BytesIO()
        dataset.save_as(fixed, enforce_file_format=True)
        upload_bytes(orthanc, fixed.getvalue())  # Orthanc here overwrites instances stored again
        wait_for(lambda: _ready(data, [corrected_sop]), timeout=WITHIN, what="the corrected film read")
        assert client.get("/api/pacs").json()["counts"]["refused"] == 0
    assert _results_in_pacs(orthanc, study) == (1, 2) and _results_in_pacs(orthanc, study2) == (1, 1)
    [verdict_sr] = [d for d in study_objects(orthanc, study)["SR"] if d.SeriesNumber == 9903]
    observers = [str(item.PersonName) for item in verdict_sr.ContentSequence if "PersonName" in item]
    assert observers == ["Wang Xiaoming^"]  # the reader's full name from the users file


@pytest.mark.skipif(dcmtk_missing() is not None, reason=dcmtk_missing() or "")
def test_films_pushed_over_dicom_come_in_through_the_intake_and_get_their_results(
    orthanc, phantom, run, tmp_path
):
    from fastapi.testclient import TestClient

    port = free_port()
    pushed = [_film(orthanc, phantom[i]) for i in range(2)]  # Orthanc sends these to its modality
    by_storescu = _film(orthanc, phantom[2])  # a PACS sending with dcmtk's storescu
    by_hand = _film(orthanc, phantom[3])  # in the PACS, and reaching the worklist as an upload
    (tmp_path / "lateral.dcm").write_bytes(copy_dicom(phantom[4], ViewPosition="LL"))
    (tmp_path / "film.dcm").write_bytes(by_storescu.data)
    data = tmp_path / "room"
    app = _app(
        run, data, orthanc.dicomweb, send_results=True, dicom_port=port,
        calling_aets=["ORTHANC", "STORESCU"],
    )  # fmt: skip
    with TestClient(app) as client:
        status = client.get("/api/pacs").json()
        assert not status["polling"] and "listening as CXR-REGIONS" in status["listener"]["message"]
        register_modality(orthanc, "reading-room", "CXR-REGIONS", port)
        answer = push_to_modality(orthanc, "reading-room", [c.orthanc_id for c in pushed])
        assert answer.status_code == 200, answer.text
        sent = storescu(port, [tmp_path / "lateral.dcm", tmp_path / "film.dcm"], "CXR-REGIONS")
        assert store_statuses(sent) == ["Success", "Success"]  # the lateral refused on purpose: no resending
        stranger = storescu(port, [tmp_path / "film.dcm"], "CXR-REGIONS", "INTRUDER")
        assert (
            stranger.returncode != 0
            and "Calling AE Title Not Recognized" in stranger.stdout + stranger.stderr
        )
        again = storescu(port, [tmp_path / "film.dcm"], "CXR-REGIONS")
        assert store_statuses(again) == ["Success"]  # a duplicate, on purpose
        [uploaded] = upload(client, csrf(client), ("by-hand.dcm", by_hand.data))
        assert uploaded["status"] == "stored"
        sops = [c.sop for c in (*pushed, by_storescu, by_hand)]
        films = wait_for(lambda: _ready(data, sops), timeout=WITHIN, what="the pushed films read")
        assert len(films) == 4 and {films[c.sop]["source"] for c in (*pushed, by_storescu)} == {"dicom"}
        wait_for(
            lambda: client.get("/api/pacs").json()["counts"]["sent_results"] == 4,
            timeout=WITHIN, what="the results of the pushed films and of the one uploaded by hand",
        )  # fmt: skip
        counts = client.get("/api/pacs").json()["listener"]["counts"]
        assert counts == {"stored": 3, "refused": 2, "no_space": 0, "failed": 0}
    for copy in (*pushed, by_storescu, by_hand):
        assert _results_in_pacs(orthanc, copy.study) == (1, 1)
