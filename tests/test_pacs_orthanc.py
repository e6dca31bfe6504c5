"""The reading room with a real PACS (a local Orthanc over DICOMweb): films in, results back, restarts,
and a PACS that goes away. Skipped where Orthanc or its DICOMweb plugin is not installed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pydicom
import pytest

from cxr_regions.regions import REGION_KEYS
from helpers.pacs import sr_values, study_objects, tiny_run, wait_for
from helpers.serve import csrf, make_phantom_dicoms


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> list[Path]:
    dicoms, _ = make_phantom_dicoms(tmp_path_factory.mktemp("pacs-phantom") / "out", n=5, seed=23)
    return dicoms


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return tiny_run(tmp_path_factory.mktemp("pacs-run"))


def _lateral_copy(source: Path, out: Path) -> Path:
    """A lateral view of the same patient (new UIDs): the link must leave it in the PACS."""
    ds = pydicom.dcmread(source)
    ds.ViewPosition = "LL"
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.save_as(out)
    return out


def _app(run: Path, data: Path, server, **options):
    from cxr_regions.serve import ServeConfig, create_app

    config = ServeConfig(
        run=run, data=data, poll_seconds=0.1, pacs=server.dicomweb, pacs_poll=0.5, pacs_max_backoff=1.0,
        **options,
    )  # fmt: skip
    return create_app(config)


def _films(client) -> list[dict]:
    rows = client.get("/api/worklist?sort=received").json()["rows"]
    return [client.get(f"/api/films/{r['id']}").json() for r in rows]


def _all_ready(client, n: int):
    films = _films(client)
    return films if len(films) == n and all(f["status"] == "ready" for f in films) else None


def test_pacs_films_come_in_results_go_back_and_a_restart_duplicates_nothing(orthanc, phantom, run, tmp_path):
    from fastapi.testclient import TestClient

    lateral = _lateral_copy(phantom[0], tmp_path / "lateral.dcm")
    for path in [*phantom[:3], lateral]:
        orthanc.upload(path)
    data = tmp_path / "room"
    with TestClient(_app(run, data, orthanc, send_results=True)) as client:
        films = wait_for(lambda: _all_ready(client, 3), what="3 PACS films read")
        assert {f["source"] for f in films} == {"pacs"}
        # results back: one SC and one SR per film, in the film's own study, carrying its patient module
        sent = wait_for(lambda: (s := client.get("/api/pacs").json())["counts"]["sent_results"] == 3 and s)
        assert sent["ok"] and sent["counts"]["lateral"] == 1 and sent["counts"]["stored"] == 3
        for path in phantom[:3]:
            original = pydicom.dcmread(path)
            film = next(f for f in films if f["accession"] == str(original.AccessionNumber))
            objects = study_objects(orthanc, str(original.StudyInstanceUID))
            [sr] = objects["SR"]
            [sc] = [
                d for m, found in objects.items() for d in found if d.SOPClassUID.name.startswith("Second")
            ]
            for made in (sr, sc):
                assert made.StudyInstanceUID == original.StudyInstanceUID
                assert made.SeriesInstanceUID != original.SeriesInstanceUID
                assert made.SOPInstanceUID != original.SOPInstanceUID
                assert (made.PatientName, made.PatientID) == (original.PatientName, original.PatientID)
            assert "not for diagnosis alone" in sc.SeriesDescription and sc.BurnedInAnnotation == "YES"
            assert sc.pixel_array.ndim == 3 and sc.pixel_array.shape[2] == 3
            values = sr_values(sr)
            assert list(values) == list(REGION_KEYS)
            for key in REGION_KEYS:
                probability, finding = values[key]
                assert probability == pytest.approx(film["probabilities"][key], abs=1e-6)
                assert finding == ("Abnormal" if key in film["flags"] else "Normal")
        # the radiologist's verdict follows as a second SR that lists the model's SR as evidence
        token = csrf(client)
        first = films[0]
        form = {"csrf": token, "v_heart": "1", "v_lungs": "u", "mark_read": "1"}
        assert (
            client.post(f"/films/{first['id']}/verdict", data=form, follow_redirects=False).status_code == 303
        )
        wait_for(lambda: client.get("/api/pacs").json()["counts"]["sent_verdicts"] == 1, what="verdict sent")
        # the reader changes their mind: the new verdict SR replaces the first in the same series
        form = {**form, "v_aorta": "1"}
        assert (
            client.post(f"/films/{first['id']}/verdict", data=form, follow_redirects=False).status_code == 303
        )
        wait_for(lambda: client.get("/api/pacs").json()["counts"]["sent_verdicts"] == 2, what="new verdict")
        [saved] = client.get(f"/api/films/{first['id']}").json()["verdicts"]
        page = client.get("/worklist").text
        assert "PACS http://127.0.0.1:" in page and "films in: connected" in page
    study = next(
        str(pydicom.dcmread(p).StudyInstanceUID) for p in phantom[:3]
        if str(pydicom.dcmread(p).AccessionNumber) == first["accession"]
    )  # fmt: skip
    reports = study_objects(orthanc, study)["SR"]
    assert len(reports) == 3
    model_sr = next(r for r in reports if r.SeriesNumber == 9902)
    verdicts = sorted((r for r in reports if r.SeriesNumber == 9903), key=lambda r: r.InstanceNumber)
    earlier, verdict_sr = verdicts
    assert earlier.SeriesInstanceUID == verdict_sr.SeriesInstanceUID  # one series of this reader's verdicts
    [replaced] = verdict_sr.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence
    assert replaced.ReferencedSOPInstanceUID == earlier.SOPInstanceUID
    evidence = {
        item.ReferencedSOPInstanceUID
        for study_item in verdict_sr.CurrentRequestedProcedureEvidenceSequence
        for series in study_item.ReferencedSeriesSequence
        for item in series.ReferencedSOPSequence
    }
    assert model_sr.SOPInstanceUID in evidence
    meaning = {"1": "Abnormal", "u": "Uncertain", "0": "Normal"}
    assert saved["labels"]["heart"] == "1" and saved["labels"]["lungs"] == "u"
    assert {k: v[1] for k, v in sr_values(verdict_sr).items()} == {
        k: meaning[saved["labels"][k]] for k in REGION_KEYS
    }

    # a restart: nothing fetched twice, nothing sent twice, and the film added meanwhile comes in
    orthanc.upload(phantom[3])
    with TestClient(_app(run, data, orthanc, send_results=True)) as client:
        wait_for(lambda: _all_ready(client, 4), what="the 4th film after the restart")
        wait_for(lambda: client.get("/api/pacs").json()["counts"]["sent_results"] == 4, what="4 results sent")
        client.get("/api/pacs")  # one more poll round has passed by now
    database = sqlite3.connect(data / "reading-room.sqlite")
    sops = [r[0] for r in database.execute("SELECT sop_instance_uid FROM films")]
    fetched = [r[0] for r in database.execute("SELECT sop_instance_uid FROM pacs_fetched")]
    assert len(sops) == len(set(sops)) == 4 and len(fetched) == len(set(fetched)) == 5
    assert database.execute("SELECT count(*) FROM pacs_sent WHERE kind = 'results'").fetchone() == (4,)
    database.close()
    assert len(study_objects(orthanc, study)["SR"]) == 3
    # the worklist and the database stay de-identified
    raw = (data / "reading-room.sqlite").read_bytes()
    for path in phantom[:4]:
        original = pydicom.dcmread(path)
        assert str(original.PatientID).encode() not in raw
        assert str(original.PatientName).encode() not in raw


def test_a_pacs_that_goes_away_is_retried_and_shown_never_a_crash(orthanc, phantom, run, tmp_path):
    from fastapi.testclient import TestClient

    orthanc.upload(phantom[0])
    with TestClient(_app(run, tmp_path / "room", orthanc)) as client:
        wait_for(lambda: _all_ready(client, 1), what="the first film")
        orthanc.stop()
        down = wait_for(lambda: (s := client.get("/api/pacs").json()) and not s["ok"] and s, what="PACS down")
        assert "is the PACS running?" in down["poll"]["message"]
        assert "trying again" in client.get("/worklist").text
        assert client.get("/healthz").json() == {"ok": True}
        orthanc.start()
        orthanc.upload(phantom[1])
        wait_for(lambda: _all_ready(client, 2), what="the film sent while the link was recovering")
        assert wait_for(lambda: client.get("/api/pacs").json()["ok"], what="link ok again")


def test_the_serve_command_polls_the_pacs(orthanc, phantom, run, tmp_path):
    """``cxr-regions serve RUN --pacs URL --poll 1s`` as a real process: a film pushed into the PACS
    appears on the worklist within the poll interval."""
    from helpers.serve import free_port, start_server, wait_server

    port, log = free_port(), tmp_path / "serve.log"
    process = start_server(run, tmp_path / "room", port, log, "--pacs", orthanc.dicomweb, "--poll", "1s")
    try:
        client = wait_server(port, process, log)
        assert client.get("/api/pacs").json()["poll"]["message"] != ""
        orthanc.upload(phantom[4])
        wait_for(lambda: _all_ready(client, 1), what="the pushed film on the worklist")
        assert client.get("/api/pacs").json()["ok"]
    finally:
        process.terminate()
        process.wait(30)
