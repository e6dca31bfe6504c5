"""The reading room's web API with FastAPI's test client, on a real tiny trained run and real
phantom DICOMs: upload -> worklist -> probabilities, verdicts, export, CSRF, bad files, duplicates."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path

import numpy as np
import pytest

from cxr_regions.errors import UserError
from cxr_regions.regions import REGION_KEYS
from helpers import shared_path
from helpers.serve import csrf, make_phantom_dicoms, upload, wait_ready


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> tuple[list[Path], Path]:
    return make_phantom_dicoms(tmp_path_factory.mktemp("serve-phantom") / "out")


def _app(run: Path, data: Path, **options):
    from cxr_regions.serve import ServeConfig, create_app

    return create_app(ServeConfig(run=run, data=data, poll_seconds=0.1, **options))


@pytest.fixture(scope="module")
def served(trained_run, tmp_path_factory):
    """One running app (lifespan: worker started) shared by the tests of this module, and its data folder."""
    from fastapi.testclient import TestClient

    data = tmp_path_factory.mktemp("room")
    with TestClient(_app(trained_run, data)) as client:
        yield client, data


def test_upload_puts_the_film_on_the_worklist_with_explains_probabilities(
    served, phantom, trained_run, caplog
):
    from cxr_regions.explain import explain_images

    client, data = served
    dicoms, _ = phantom
    token = csrf(client)
    with caplog.at_level(logging.INFO, logger="cxr_regions.serve"):
        [result] = upload(client, token, (dicoms[0].name, dicoms[0].read_bytes()))
    assert result["status"] == "stored", result
    rows = client.get("/api/worklist?sort=received").json()["rows"]
    assert result["film_id"] in [r["id"] for r in rows]
    film = wait_ready(client, result["film_id"])
    assert film["status"] == "ready"
    assert set(film["probabilities"]) == set(REGION_KEYS)
    # the same numbers explain reports for this DICOM (same framing and centre crop as evaluate)
    explained = explain_images(
        trained_run, [dicoms[0]], data.parent / "explained", panels=False, progress=False
    )
    expected = explained.films.iloc[0]
    for key in REGION_KEYS:
        assert film["probabilities"][key] == pytest.approx(expected[f"p_{key}"], abs=1e-4)
    flags = [k for k in REGION_KEYS if film["probabilities"][k] >= 0.5]
    assert film["flags"] == flags
    assert film["max_probability"] == pytest.approx(max(film["probabilities"].values()))
    # the film is stored at its full resolution, de-identified: no patient name or id anywhere
    import pydicom

    ds = pydicom.dcmread(dicoms[0])
    assert (film["width"], film["height"]) == (ds.Columns, ds.Rows)
    secrets = [str(ds.PatientName), str(ds.PatientID)]
    page = client.get(f"/films/{result['film_id']}").text
    database = (data / "reading-room.sqlite").read_bytes()
    for secret in secrets:
        assert secret and secret not in page and secret not in caplog.text
        assert secret.encode() not in database
    assert film["accession"] == str(ds.AccessionNumber)


def test_viewer_page_shows_regions_thresholds_and_heatmaps(served, phantom):
    client, _ = served
    dicoms, _ = phantom
    token = csrf(client)
    [result] = upload(client, token, (dicoms[1].name, dicoms[1].read_bytes()))
    film = wait_ready(client, result["film_id"])
    page = client.get(f"/films/{film['id']}").text
    for word in (
        "胸廓",
        "两肺",
        "主动脉",
        "心影",
        "膈面膈角",
        "every region is called abnormal at probability ≥ 0.5",
    ):
        assert word in page
    assert "next / previous film" in page and "hide all heatmaps" in page
    png = client.get(f"/films/{film['id']}/heatmaps/heart.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    import cv2

    image = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert image.shape == (film["height"], film["width"], 4)  # RGBA at the film's size
    assert client.get(f"/films/{film['id']}/heatmaps/spleen.png").status_code == 404
    assert client.get(f"/films/{film['id']}/image.png").content.startswith(b"\x89PNG")


def test_report_with_the_upload_is_labelled_and_its_evidence_highlighted(served, phantom):
    client, _ = served
    dicoms, _ = phantom
    token = csrf(client)
    text = "两肺纹理清晰。心影增大。"
    [result] = upload(client, token, (dicoms[2].name, dicoms[2].read_bytes()), report=text)
    page = client.get(f"/films/{result['film_id']}").text
    assert 'class="clause r-heart"' in page and "<mark" in page and "增大" in page


def test_verdict_is_saved_with_its_reader_marks_read_and_is_exported(served, phantom):
    client, _ = served
    dicoms, _ = phantom
    token = csrf(client)
    [result] = upload(client, token, (dicoms[3].name, dicoms[3].read_bytes()))
    film = wait_ready(client, result["film_id"])
    form = {
        "csrf": token,
        "v_heart": "1",
        "v_lungs": "u",
        "v_aorta": "0",
        "note": "check the knob",
        "mark_read": "1",
    }
    response = client.post(f"/films/{film['id']}/verdict", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert "Verdict saved" in client.get(response.headers["location"]).text
    saved = client.get(f"/api/films/{film['id']}").json()
    assert saved["read"] is True
    [verdict] = saved["verdicts"]
    calls = {r["key"]: r["call"] for r in saved["regions"]}
    assert verdict["reader"] == "local"
    assert verdict["labels"] == {"thorax": calls["thorax"], "lungs": "u", "aorta": "0", "heart": "1",
                                 "diaphragm": calls["diaphragm"]}  # fmt: skip
    assert verdict["note"] == "check the knob"
    assert film["id"] not in [r["id"] for r in client.get("/api/worklist?status=new").json()["rows"]]
    exported = client.get("/export/verdicts.csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    row = next(r for r in rows if r["report_id"] == film["accession"])
    assert (row["heart"], row["lungs"], row["aorta"], row["reader"]) == ("1", "u", "0", "local")
    agreement = client.get("/agreement").text
    assert "膈面膈角" in agreement and "counts as abnormal" in agreement


def test_state_changes_without_the_csrf_token_are_refused(served, phantom):
    client, _ = served
    dicoms, _ = phantom
    token = csrf(client)
    [result] = upload(client, token, (dicoms[4].name, dicoms[4].read_bytes()))
    form = {"v_heart": "1", "v_thorax": "0", "v_lungs": "0", "v_aorta": "0", "v_diaphragm": "0"}
    assert client.post(f"/films/{result['film_id']}/verdict", data=form).status_code == 403
    bad = client.post(f"/films/{result['film_id']}/verdict", data={**form, "csrf": "forged"})
    assert bad.status_code == 403
    files = [("files", ("x.dcm", dicoms[5].read_bytes(), "application/dicom"))]
    assert client.post("/upload", files=files).status_code == 403
    assert client.get(f"/api/films/{result['film_id']}").json()["verdicts"] == []


def test_every_state_changing_route_checks_csrf(served):
    from fastapi.routing import APIRoute

    from cxr_regions.serve import auth
    from cxr_regions.serve.routers import ROUTERS

    client, _ = served
    routes = [r for r in [*(x for router in ROUTERS for x in router.routes), *client.app.routes]]
    routes = [r for r in routes if isinstance(r, APIRoute)]
    changing = [r for r in routes if r.methods - {"GET", "HEAD"}]
    users = {f"/admin/users/{{name}}/{what}" for what in ("role", "full-name", "password", "remove")}
    users |= {"/account/password", "/admin/users", "/pacs/retry"}
    viewer = {"/films/{film_id}/urgent", "/api/queue/pause", "/api/queue/resume"}
    assert {r.path for r in changing} == {
        "/login",
        "/logout",
        "/upload",
        "/films/{film_id}/verdict",
        *users,
        *viewer,
    }
    for route in changing:
        assert route.methods == {"POST"}, route.path
        assert auth.csrf_protect in [d.call for d in route.dependant.dependencies], route.path


def test_bad_files_are_refused_with_reasons_and_nothing_is_half_stored(served, trained_run, tmp_path):
    from fastapi.testclient import TestClient

    client, data = served
    token = csrf(client)
    before = sorted(p.name for p in (data / "films").iterdir())
    results = upload(
        client, token, ("report.dcm", "两肺纹理清晰。".encode()), ("notes.png", b"\x00" * 400),
        ("../../../../../../tmp/evil.dcm", b"plain text pretending"),
    )  # fmt: skip
    assert [r["status"] for r in results] == ["refused"] * 3
    assert all("not a DICOM, PNG or JPEG file" in r["reason"] for r in results)
    assert [r["index"] for r in results] == [1, 2, 3]  # the names are never echoed: they may name the patient
    assert "evil" not in str(results) and all(len(r["ref"]) == 12 for r in results)
    ct = shared_path("dicom", "CT_small.dcm")
    if ct.exists():
        [refused] = upload(client, token, ("CT_small.dcm", ct.read_bytes()))
        assert refused["status"] == "refused" and "modality" in refused["reason"], refused
    assert sorted(p.name for p in (data / "films").iterdir()) == before
    assert not list((data / "incoming").iterdir())
    assert not Path("/tmp/evil.dcm").exists()
    # too large: a second app with a tiny limit
    with TestClient(_app(trained_run, tmp_path / "small", max_upload_mb=0.001)) as small:
        [big] = upload(small, csrf(small), ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 4000))
        assert big["status"] == "refused" and "larger than the upload limit" in big["reason"]
        assert not list((tmp_path / "small" / "films").iterdir())


def test_duplicates_are_recognised_by_content_and_by_sop_instance_uid(served, phantom, tmp_path):
    import pydicom

    client, _ = served
    dicoms, _ = phantom
    token = csrf(client)
    [first] = upload(client, token, (dicoms[0].name, dicoms[0].read_bytes()))
    assert first["status"] in ("stored", "duplicate")
    [again] = upload(client, token, ("again.dcm", dicoms[0].read_bytes()))
    assert again["status"] == "duplicate" and again["film_id"] == first["film_id"]
    ds = pydicom.dcmread(dicoms[0])
    ds.InstitutionName = "Another export of the same image"
    changed = tmp_path / "changed.dcm"
    ds.save_as(changed)
    [same_uid] = upload(client, token, ("changed.dcm", changed.read_bytes()))
    assert same_uid["status"] == "duplicate" and "SOP Instance UID" in same_uid["reason"]
    assert same_uid["film_id"] == first["film_id"]


def test_png_pictures_are_taken_and_identified_by_their_content(served):
    import cv2

    client, _ = served
    token = csrf(client)
    from cxr_regions.phantom import render_film

    rendered = render_film(np.random.default_rng(3), dict.fromkeys(REGION_KEYS, "0"), size=256)
    data = cv2.imencode(".png", np.round(rendered.image * 255).astype(np.uint8))[1].tobytes()
    [stored] = upload(client, token, ("picture.bin", data))
    assert stored["status"] == "stored"
    assert wait_ready(client, stored["film_id"])["status"] == "ready"
    [again] = upload(client, token, ("other-name.png", data))
    assert again["status"] == "duplicate" and again["film_id"] == stored["film_id"]


def test_worklist_sorts_filters_and_pages(served):
    client, _ = served
    rows = client.get("/api/worklist").json()["rows"]
    ready = [r["max_probability"] for r in rows if r["max_probability"] is not None]
    assert ready == sorted(ready, reverse=True)
    received = client.get("/api/worklist?sort=received").json()["rows"]
    assert [r["received_at"] for r in received] == sorted((r["received_at"] for r in received), reverse=True)
    for key in REGION_KEYS:
        assert all(key in r["flags"] for r in client.get(f"/api/worklist?region={key}").json()["rows"])
    page = client.get("/worklist").text
    assert 'title="sort by the highest probability' in page and "page 1 of 1" in page


def test_reports_table_is_joined_by_accession_and_the_config_is_saved(trained_run, phantom, tmp_path):
    import pydicom
    from fastapi.testclient import TestClient

    from cxr_regions.configfile import load_config

    dicoms, _ = phantom
    accession = str(pydicom.dcmread(dicoms[0], stop_before_pixels=True).AccessionNumber)
    table = tmp_path / "reports.csv"
    table.write_text(
        f"accession_number,findings,impression\n{accession},心影增大。,心脏增大\n", encoding="utf-8"
    )
    with TestClient(_app(trained_run, tmp_path / "room", reports=table)) as client:
        [result] = upload(client, csrf(client), (dicoms[0].name, dicoms[0].read_bytes()))
        page = client.get(f"/films/{result['film_id']}").text
        assert 'class="clause r-heart"' in page and "心脏<mark" in page
    saved = load_config(tmp_path / "room" / "serve.config.yaml")
    assert saved["reports"] == str(table) and saved["host"] == "127.0.0.1"


def test_worklist_pages_through_thousands_of_rows(trained_run, tmp_path):
    from fastapi.testclient import TestClient

    from cxr_regions.serve.store import Store

    with Store(tmp_path / "room") as store:  # rows only: the worker marks their missing films failed
        for i in range(120):
            store.add_film(
                image_id=f"film{i:03d}", png_path=f"films/none{i}.png", width=8, height=8, source="pacs"
            )
    with TestClient(_app(trained_run, tmp_path / "room")) as client:
        third = client.get("/api/worklist?sort=received&page=3").json()
        assert third["total"] == 120 and len(third["rows"]) == 20
        page = client.get("/worklist?sort=received&page=3").text
        assert "page 3 of 3 (120 films)" in page and "page=2" in page


def test_a_public_host_needs_users(trained_run, tmp_path):
    from cxr_regions.serve import ServeConfig

    with pytest.raises(UserError, match="--users"):
        ServeConfig(run=trained_run, data=tmp_path, host="0.0.0.0").validate()
    ServeConfig(run=trained_run, data=tmp_path, host="localhost").validate()


def test_with_an_evaluation_the_room_shows_explains_calibrated_probabilities_and_the_same_calls(
    trained_run, phantom, tmp_path
):
    """``--thresholds EVAL`` with evaluate's calibration.json: calibrated probabilities and thresholds on
    the page and in the store, the same calls as the raw probabilities against the raw thresholds."""
    from fastapi.testclient import TestClient

    from cxr_regions.evaluation import evaluate_run, load_calibration
    from cxr_regions.explain import explain_images, read_thresholds

    evaluation = evaluate_run(trained_run, "test", tmp_path / "evaluation", n_boot=20).out
    calibration = load_calibration(evaluation)
    raw_cuts = read_thresholds(evaluation)
    dicoms, _ = phantom
    with TestClient(_app(trained_run, tmp_path / "room", thresholds=evaluation)) as client:
        token = csrf(client)
        [result] = upload(client, token, (dicoms[1].name, dicoms[1].read_bytes()))
        film = wait_ready(client, result["film_id"])
        page = client.get(f"/films/{result['film_id']}").text
    assert film["calibrated"] is True and "calibrated" in page
    explained = explain_images(
        trained_run, [dicoms[1]], tmp_path / "explained", panels=False, progress=False,
        thresholds=raw_cuts, calibration=calibration,
    ).films.iloc[0]  # fmt: skip
    rows = {r["key"]: r for r in film["regions"]}
    for key in REGION_KEYS:
        assert film["probabilities"][key] == pytest.approx(explained[f"p_{key}"], abs=1e-4)
        assert rows[key]["threshold"] == pytest.approx(calibration.apply_label(key, raw_cuts[key]), abs=1e-9)
        raw_call = explained[f"p_raw_{key}"] >= raw_cuts[key]
        assert (key in film["flags"]) == raw_call == (rows[key]["call"] == "1")
