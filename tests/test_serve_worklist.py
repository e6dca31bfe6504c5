"""The viewer's side of the reading room's store and intake, on real SQLite files and real DICOMs:
urgent films first, triage ties broken by the uncalibrated score, search and sort by any column, the
patient's other films, saturated probabilities, read both ways, the cardiothoracic ratio, migration
0006 both ways, the full-depth copy, the shifted study day and the downscaled first frame."""

from __future__ import annotations

import cv2
import numpy as np
import pydicom
import pytest

from cxr_regions.regions import REGION_KEYS
from cxr_regions.serve.film_files import FULL_DEPTH_SUFFIX, PREVIEW_SIDE, preview_file
from cxr_regions.serve.intake import Intake
from cxr_regions.serve.model import heat_png
from cxr_regions.serve.reports import ReportBook
from cxr_regions.serve.store import Store
from cxr_regions.serve.views import WorklistFilters, relative_days, saturation_notes
from cxr_regions.serve.worklist import SORTS, same_patient, saturated
from helpers import shared_path
from helpers.viewer_films import qa_dicom

ALL_NORMAL = dict.fromkeys(REGION_KEYS, "0")
LOW = dict.fromkeys(REGION_KEYS, 0.1)


def _add(store: Store, n: int, **kwargs):
    defaults = dict(
        png_path=f"films/f{n}.png", width=64, height=48, source="upload", sop_instance_uid=f"1.2.{n}"
    )
    return store.add_film(image_id=f"img{n}", **{"accession": f"A{n:03d}", **defaults, **kwargs})


def test_urgent_films_are_claimed_first_then_the_oldest(tmp_path):
    store = Store(tmp_path)
    films = [_add(store, n) for n in range(4)]
    store.set_urgent(films[2].id, True)
    late = _add(store, 9, urgent=True)
    assert [f.id for f in store.claim_queued(limit=5)] == [
        films[2].id,
        late.id,
        films[0].id,
        films[1].id,
        films[3].id,
    ]


def test_triage_ties_are_broken_by_the_uncalibrated_score(tmp_path):
    store = Store(tmp_path)
    a, b, c = (_add(store, n) for n in range(3))
    store.set_result(a.id, {**LOW, "heart": 1.0}, raw={**LOW, "heart": 0.71})
    store.set_result(b.id, {**LOW, "heart": 1.0}, raw={**LOW, "heart": 0.93})
    store.set_result(c.id, {**LOW, "heart": 0.9}, raw={**LOW, "heart": 0.99})
    rows, _ = store.worklist(sort="suspicion")
    assert [r.id for r in rows] == [b.id, a.id, c.id]
    store.set_urgent(c.id, True)
    assert [r.id for r in store.worklist()[0]] == [c.id, b.id, a.id]  # the default: urgent first
    assert store.neighbours(b.id) == (c.id, a.id)
    with pytest.raises(ValueError, match="probabilities missing"):
        store.set_result(a.id, LOW, raw={"heart": 0.5})


def test_search_by_accession_takes_wildcards_literally_and_every_column_sorts_both_ways(tmp_path):
    store = Store(tmp_path)
    films = [_add(store, n, accession=acc) for n, acc in enumerate(["CT-100", "CR_7", "CR%8", "X100"])]
    assert {f.accession for f in store.worklist(q="100")[0]} == {"CT-100", "X100"}
    assert [f.accession for f in store.worklist(q="%")[0]] == ["CR%8"]
    assert [f.accession for f in store.worklist(q="r_")[0]] == ["CR_7"]  # case-insensitive, _ literal
    for n, f in enumerate(films):
        store.set_result(f.id, {**LOW, "lungs": 0.2 * n})
    store.save_verdict(films[1].id, "dr_li", ALL_NORMAL, mark_read=True)
    for sort in SORTS:
        forward = [f.id for f in store.worklist(sort=sort, direction="asc")[0]]
        backward = [f.id for f in store.worklist(sort=sort, direction="desc")[0]]
        assert sorted(forward) == sorted(backward) == sorted(f.id for f in films), sort
    assert [f.accession for f in store.worklist(sort="accession")[0]] == ["CR%8", "CR_7", "CT-100", "X100"]
    assert [f.id for f in store.worklist(sort="lungs")[0]] == [f.id for f in reversed(films)]
    assert store.worklist(sort="state", direction="desc")[0][0].id == films[1].id
    with pytest.raises(ValueError, match="sort"):
        store.worklist(sort="patient")
    with pytest.raises(ValueError, match="direction"):
        store.worklist(direction="up")


def test_worklist_links_flip_the_order_of_the_column_already_sorted():
    links = WorklistFilters(sort="accession", q="CR").sort_links()
    assert (
        links["accession"]["on"] and links["accession"]["href"] == "/worklist?q=CR&sort=accession&order=desc"
    )
    assert links["received"]["href"] == "/worklist?q=CR&sort=received"  # newest first, its natural order
    assert WorklistFilters(sort="nonsense", order="up").store_query()["sort"] == "urgent"


def test_the_patients_other_films_latest_first_and_their_days(tmp_path):
    store = Store(tmp_path)
    mine = [_add(store, n, patient_key="k" * 64, study_day=day) for n, day in enumerate([19000, 19400, None])]
    other = _add(store, 9, patient_key="j" * 64, study_day=19400)
    assert [f.id for f in same_patient(store, mine[0])] == [mine[1].id, mine[2].id]
    assert same_patient(store, other) == []
    assert same_patient(store, _add(store, 10)) == []  # a picture: no patient key, no priors
    assert relative_days(-400) == "400 days earlier (1.1 years)" and relative_days(1) == "1 day later"
    assert relative_days(None) == "date unknown" and relative_days(0) == "same day"


def test_saturated_regions_are_noted(tmp_path):
    store = Store(tmp_path)
    for n in range(12):
        store.set_result(
            _add(store, n).id, {**LOW, "heart": 1.0 if n < 5 else 0.5, "aorta": 0.0 if n < 2 else 0.3}
        )
    counts = saturated(store, 0.0005, 0.9995)
    assert counts["heart"] == (5, 12) and counts["aorta"] == (2, 12) and counts["lungs"] == (0, 12)
    [note] = saturation_notes(counts, calibrated=True)
    assert note.startswith("heart") and "5 of 12" in note and "uncalibrated" in note


def test_read_goes_both_ways_and_the_cardiothoracic_ratio_is_kept(tmp_path):
    store = Store(tmp_path)
    film = _add(store, 1)
    widths = {"heart": [10, 20, 40, 20], "thorax": [2, 30, 60, 30]}
    saved = store.save_verdict(
        film.id, "dr_li", ALL_NORMAL, mark_read=True, cardiothoracic_ratio=0.52, measurements=widths
    )
    assert store.film(film.id).read and saved.cardiothoracic_ratio == 0.52 and saved.measurements == widths
    store.save_verdict(film.id, "dr_li", ALL_NORMAL)  # None: the read state stays
    assert store.film(film.id).read and store.verdicts(film.id)[0].cardiothoracic_ratio is None
    store.save_verdict(film.id, "dr_li", ALL_NORMAL, mark_read=False)
    assert not store.film(film.id).read
    with pytest.raises(ValueError, match="cardiothoracic"):
        store.save_verdict(film.id, "dr_li", ALL_NORMAL, cardiothoracic_ratio=1.4)


def test_migration_0006_goes_down_and_up_keeping_the_films(tmp_path):
    from cxr_regions.serve.database import current_revision, downgrade, head_revision, make_engine, upgrade

    store = Store(tmp_path)
    film = _add(store, 1, patient_key="k" * 64, study_day=19000, urgent=True)
    store.save_verdict(film.id, "dr_li", ALL_NORMAL, cardiothoracic_ratio=0.5)
    store.close()
    engine = make_engine(tmp_path / "reading-room.sqlite")
    downgrade(engine, "0004")  # through the later migrations too (foreign keys off while tables are copied)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    again = Store(tmp_path)
    back = again.film(film.id)
    assert (
        back.accession == "A001" and back.urgent is False and back.patient_key is None
    )  # the columns came back empty
    assert again.verdicts(film.id)[0].labels == ALL_NORMAL


def test_intake_keeps_the_full_depth_copy_the_patient_key_the_shifted_day_and_the_urgency(tmp_path):
    data = tmp_path / "room"
    store = Store(data)
    intake = Intake(store, data, ReportBook())
    qa_dicom(tmp_path / "a.dcm", 64, 48, seed=1, patient="PAT-1", study_date="20240105")
    qa_dicom(tmp_path / "b.dcm", 64, 48, seed=2, patient="PAT-1", study_date="20240415")
    stat = pydicom.dcmread(tmp_path / "b.dcm")
    stat.SOPInstanceUID = stat.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4.5"
    stat.RequestedProcedurePriority = "STAT"
    stat.save_as(tmp_path / "stat.dcm")
    first = store.film(intake.take(tmp_path / "a.dcm", "upload", keep=True).film_id)
    second = store.film(intake.take(tmp_path / "b.dcm", "watch", keep=True, urgent=True).film_id)
    third = store.film(intake.take(tmp_path / "stat.dcm", "pacs", keep=True).film_id)
    assert (first.urgent, second.urgent, third.urgent) == (False, True, True)
    assert first.patient_key == second.patient_key and len(first.patient_key) == 64
    assert "PAT-1" not in first.patient_key and second.study_day - first.study_day == 101
    assert first.study_day != (np.datetime64("2024-01-05") - np.datetime64("1970-01-01")).astype(int)
    assert first.full_depth_path.endswith(FULL_DEPTH_SUFFIX)
    values = cv2.imread(str(data / first.full_depth_path), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(values, pydicom.dcmread(tmp_path / "a.dcm").pixel_array)
    depth = store.film_depth(first.id)
    assert depth["default"] == "window:0" and depth["spacing"]["at"] == "patient"
    assert sorted(p.name for p in (data / "films").iterdir()) == sorted(
        n for f in (first, second, third) for n in (f"{f.image_id}.png", f"{f.image_id}{FULL_DEPTH_SUFFIX}")
    )


def test_a_large_films_first_frame_is_downscaled_once(tmp_path):
    path = shared_path("dicom", "RG1_UNCI.dcm")
    display = tmp_path / "display.png"
    cv2.imwrite(str(display), (pydicom.dcmread(path).pixel_array >> 7).astype(np.uint8))
    frame = preview_file(tmp_path, "rg1", display)
    image = cv2.imread(str(frame), cv2.IMREAD_UNCHANGED)
    assert max(image.shape) == PREVIEW_SIDE and image.shape[0] > image.shape[1]  # 1955 x 1841 kept upright
    stamp = frame.stat().st_mtime_ns
    assert preview_file(tmp_path, "rg1", display).stat().st_mtime_ns == stamp


def test_each_regions_overlay_has_its_own_colour():
    from cxr_regions.report import region_colours

    colours = region_colours()
    assert len(set(colours.values())) == len(REGION_KEYS)
    heat = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    for key in ("heart", "lungs"):
        rgba = cv2.imdecode(np.frombuffer(heat_png(heat, colours[key]), np.uint8), cv2.IMREAD_UNCHANGED)
        blue, green, red = (int(colours[key][i : i + 2], 16) for i in (5, 3, 1))
        assert (rgba[..., :3] == (blue, green, red)).all()
        assert rgba[0, 0, 3] == 0 and rgba[-1, -1, 3] == 255  # cold is clear, hot is opaque
