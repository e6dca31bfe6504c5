"""The PACS stage's small parts: queries, durations, the password file, result UIDs, settings, and the
reading room's database upgraded from before the PACS link (migration 0001 -> 0002)."""

from __future__ import annotations

from datetime import date

import pytest

from cxr_regions.errors import UserError


def test_query_alternatives_become_one_search_each_and_since_adds_a_date_range():
    from cxr_regions.pacs import parse_query

    assert parse_query(None) == [{"Modality": "CR"}, {"Modality": "DX"}]
    assert parse_query("Modality=CR\\DX&BodyPartExamined=CHEST", since=date(2024, 3, 1)) == [
        {"Modality": "CR", "BodyPartExamined": "CHEST", "StudyDate": "20240301-"},
        {"Modality": "DX", "BodyPartExamined": "CHEST", "StudyDate": "20240301-"},
    ]
    with pytest.raises(UserError, match="not a DICOM keyword"):
        parse_query("Modalty=CR")
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_query("CR")


def test_laterals_are_told_by_view_position():
    from cxr_regions.pacs import InstanceRef

    assert InstanceRef("1", "2", "3", "LL").lateral and InstanceRef("1", "2", "3", " rl ").lateral
    assert not InstanceRef("1", "2", "3", "PA").lateral and not InstanceRef("1", "2", "3").lateral


def test_poll_durations():
    from cxr_regions.serve.configuration import parse_duration

    assert [parse_duration(t) for t in ("30s", "2m", "1h", "45", "0.5s")] == [30, 120, 3600, 45, 0.5]
    for bad in ("soon", "0s", "-1"):
        with pytest.raises(UserError, match="--poll"):
            parse_duration(bad)


def test_password_comes_from_a_file(tmp_path):
    from cxr_regions.pacs import read_auth

    (tmp_path / "pw").write_text("pa:ss word\nignored\n")
    assert read_auth(f"ai:{tmp_path / 'pw'}") == ("ai", "pa:ss word")
    assert read_auth(None) is None
    with pytest.raises(UserError, match="USER:PASSWORD-FILE"):
        read_auth("ai")
    with pytest.raises(UserError, match="does not exist"):
        read_auth(f"ai:{tmp_path / 'nope'}")


def test_result_uids_are_valid_stable_and_distinct():
    from pydicom.uid import UID

    from cxr_regions.pacs import result_uid

    a, b = result_uid("1.2.3", "sr"), result_uid("1.2.3", "sc")
    assert a == result_uid("1.2.3", "sr") and a != b != result_uid("1.2.4", "sc")
    assert UID(a).is_valid and a.startswith("2.25.") and len(a) <= 64


def test_serve_settings_for_the_pacs(tmp_path):
    from cxr_regions.serve import ServeConfig

    ok = ServeConfig(
        run=tmp_path, data=tmp_path / "d", pacs="http://localhost:8042/dicom-web", send_results=True
    )
    ok.validate()
    for options, message in (
        ({"send_results": True}, "need --pacs"),
        ({"pacs": "localhost:8042"}, "DICOMweb root"),
        ({"pacs": "http://x/dicom-web", "pacs_query": "Nope=1"}, "DICOM keyword"),
        ({"pacs": "http://x/dicom-web", "pacs_poll": 0}, "--poll"),
    ):
        with pytest.raises(UserError, match=message):
            ServeConfig(run=tmp_path, data=tmp_path / "d", **options).validate()


def test_a_database_from_before_the_pacs_link_is_upgraded_with_its_films(tmp_path):
    from alembic import command

    from cxr_regions.serve.database import (
        alembic_config,
        current_revision,
        head_revision,
        make_engine,
        writer,
    )
    from cxr_regions.serve.store import DB_NAME, Store

    engine = make_engine(tmp_path / DB_NAME)
    config = alembic_config(engine)
    with writer(engine).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with writer(engine).begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO films (image_id, png_path, width, height, source, received_at, status, read) "
            "VALUES ('old', 'films/old.png', 8, 8, 'upload', '2026-01-01 00:00:00', 'queued', 0)"
        )
    assert current_revision(engine) == "0001"
    engine.dispose()
    store = Store(tmp_path)
    assert store.film(1).image_id == "old"
    from cxr_regions.serve.pacs_ledger import Origin, PacsLedger

    ledger = PacsLedger(store)
    ledger.remember(Origin("1.1", "1.2", "1.3"), "stored", film_id=1)
    ledger.remember(Origin("1.1", "1.2", "1.3"), "duplicate", film_id=1)  # the first record stands
    assert ledger.known(["1.3", "9.9"]) == {"1.3"} and ledger.counts()["stored"] == 1
    store.close()
    assert current_revision(make_engine(tmp_path / DB_NAME)) == head_revision()


def test_the_secondary_capture_picture_shows_the_film_unflipped_with_heat_only_on_flagged_regions():
    import cv2
    import numpy as np

    from cxr_regions.pacs.sc import MIN_WIDTH, burned_picture
    from cxr_regions.regions import REGION_KEYS

    rng = np.random.default_rng(0)
    film = rng.integers(0, 255, (100, 80), dtype=np.uint8)
    hot = np.zeros(film.shape, np.float32)
    hot[:20, :20] = 1.0  # top-left corner only
    heatmaps = {k: hot for k in REGION_KEYS}
    thresholds = dict.fromkeys(REGION_KEYS, 0.5)
    low = dict.fromkeys(REGION_KEYS, 0.1)
    scale = MIN_WIDTH / film.shape[1]
    expected = cv2.resize(np.repeat(film[..., None], 3, axis=2), None, fx=scale, fy=scale)
    height = expected.shape[0]

    calm = burned_picture(film, heatmaps, low, thresholds)
    assert calm.dtype == np.uint8 and calm.shape[1] == MIN_WIDTH and calm.shape[0] > height
    top = next(r for r in range(calm.shape[0]) if np.array_equal(calm[r], expected[0]))
    assert calm[:top].any()  # the warning above the film
    np.testing.assert_array_equal(calm[top : top + height], expected)  # nothing called: the film as it is
    heart = {**low, "heart": 0.9}
    marked = burned_picture(film, heatmaps, heart, thresholds)[top : top + height]
    corner = int(20 * scale)
    assert not np.array_equal(marked[:corner, :corner], expected[:corner, :corner])  # heat where it is
    np.testing.assert_array_equal(marked[2 * corner :, 2 * corner :], expected[2 * corner :, 2 * corner :])
