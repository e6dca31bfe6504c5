"""The reading room's store on real SQLite files: films, worklist, verdicts, migrations."""

from __future__ import annotations

import pytest

from cxr_regions.regions import REGION_KEYS
from cxr_regions.serve.store import DB_NAME, DuplicateFilm, Store

ALL_NORMAL = {k: "0" for k in REGION_KEYS}


def _add(store: Store, n: int, **kwargs):
    defaults = dict(
        png_path=f"films/f{n}.png", width=64, height=48, source="upload", sop_instance_uid=f"1.2.{n}"
    )
    return store.add_film(image_id=f"img{n}", **{**defaults, **kwargs})


def test_add_film_and_read_it_back(tmp_path):
    store = Store(tmp_path / "data")
    assert (tmp_path / "data" / DB_NAME).is_file()
    rec = _add(store, 1, accession="A100", report_labels={"lungs": "1"}, report_text="两肺纹理增多")
    assert rec.status == "queued" and rec.read is False and rec.id > 0
    again = store.film(rec.id)
    assert again == rec
    assert again.report_labels == {"lungs": "1"}
    assert again.received_at.tzinfo is not None
    with pytest.raises(KeyError):
        store.film(rec.id + 100)


def test_duplicates_are_recognised_by_uid_hash_and_image_id(tmp_path):
    store = Store(tmp_path)
    first = _add(store, 1)
    pic = store.add_film(
        image_id="pic", png_path="p.png", width=1, height=1, source="upload", content_sha256="ab" * 32
    )
    with pytest.raises(DuplicateFilm) as caught:
        _add(store, 2, sop_instance_uid="1.2.1")
    assert caught.value.film_id == first.id
    with pytest.raises(DuplicateFilm) as caught:
        store.add_film(
            image_id="pic2", png_path="q.png", width=1, height=1, source="upload", content_sha256="ab" * 32
        )
    assert caught.value.film_id == pic.id
    with pytest.raises(DuplicateFilm):
        _add(store, 1, sop_instance_uid="9.9")
    assert store.find_duplicate(sop_instance_uid="1.2.1").id == first.id
    assert store.find_duplicate(content_sha256="ab" * 32).id == pic.id
    assert store.find_duplicate(sop_instance_uid="7.7") is None
    assert store.worklist()[1] == 2
    with pytest.raises(ValueError, match="source"):
        _add(store, 3, source="email")


def test_worklist_filters_sorts_and_pages(tmp_path):
    store = Store(tmp_path)
    films = [_add(store, n) for n in range(5)]
    rows, total = store.worklist(sort="received")
    assert total == 5 and [r.id for r in rows] == [f.id for f in reversed(films)]
    rows, total = store.worklist(sort="received", offset=1, limit=2)
    assert total == 5 and [r.id for r in rows] == [films[3].id, films[2].id]
    store.save_verdict(films[0].id, "local", ALL_NORMAL, mark_read=True)
    assert {r.id for r in store.worklist(status="read")[0]} == {films[0].id}
    assert store.worklist(status="new")[1] == 4
    with pytest.raises(ValueError):
        store.worklist(status="queued")
    with pytest.raises(ValueError):
        store.worklist(region="liver")
    with pytest.raises(ValueError):
        store.worklist(sort="name")


def test_save_verdict_validates_updates_and_marks_read(tmp_path):
    store = Store(tmp_path)
    film = _add(store, 1)
    labels = {**ALL_NORMAL, "heart": "1", "lungs": "u"}
    saved = store.save_verdict(film.id, "dr_li", labels, note="cardiomegaly")
    assert saved.labels == labels and saved.reader == "dr_li" and saved.note == "cardiomegaly"
    assert store.film(film.id).read is False
    store.save_verdict(film.id, "dr_li", ALL_NORMAL, mark_read=True)
    store.save_verdict(film.id, "dr_wang", labels)
    current = store.verdicts(film.id)
    assert [(v.reader, v.labels) for v in current] == [("dr_li", ALL_NORMAL), ("dr_wang", labels)]
    assert store.film(film.id).read is True
    with pytest.raises(ValueError, match="missing"):
        store.save_verdict(film.id, "dr_li", {"heart": "1"})
    with pytest.raises(ValueError, match="one of"):
        store.save_verdict(film.id, "dr_li", {**ALL_NORMAL, "heart": "2"})
    with pytest.raises(KeyError):
        store.save_verdict(film.id + 1, "dr_li", ALL_NORMAL)
    assert len(store.verdicts()) == 2


def test_queue_results_flags_and_triage_order(tmp_path):
    store = Store(tmp_path)
    films = [_add(store, n) for n in range(4)]
    claimed = store.claim_queued(limit=3)
    assert [f.id for f in claimed] == [f.id for f in films[:3]]
    assert all(store.film(f.id).status == "processing" for f in claimed)
    assert store.claim_queued(limit=5)[0].id == films[3].id
    assert store.claim_queued() == []
    low = dict.fromkeys(REGION_KEYS, 0.1)
    cuts = {"heart": 0.6}  # the other regions at the default 0.5
    store.set_result(films[0].id, {**low, "heart": 0.7})
    store.set_result(films[1].id, {**low, "lungs": 0.9, "heart": 0.55})
    store.set_result(films[2].id, {**low, "aorta": 0.5})
    store.set_failed(films[3].id, "not a chest film")
    first = store.film(films[0].id)
    assert first.status == "ready" and first.flagged(cuts) == ("heart",)
    assert first.max_probability == pytest.approx(0.7) and first.processed_at is not None
    assert store.film(films[1].id).flagged(cuts) == ("lungs",)
    assert store.film(films[2].id).flagged(cuts) == ("aorta",)  # default threshold 0.5, at threshold counts
    assert store.film(films[3].id).error == "not a chest film" and store.film(films[3].id).calls(cuts) is None
    rows, _ = store.worklist()
    assert [r.id for r in rows] == [films[1].id, films[0].id, films[2].id, films[3].id]
    assert [r.id for r in store.worklist(region="heart", thresholds=cuts)[0]] == [films[0].id]
    assert [r.id for r in store.worklist(region="aorta", thresholds=cuts)[0]] == [films[2].id]
    # the region filter follows the thresholds it is given, as the pages' calls do
    assert store.worklist(region="heart", thresholds={"heart": 0.5}) == (
        [store.film(films[1].id), store.film(films[0].id)],
        2,
    )
    assert store.neighbours(films[0].id, region="heart", thresholds={"heart": 0.5}) == (films[1].id, None)
    assert store.neighbours(films[0].id) == (films[1].id, films[2].id)
    assert store.neighbours(films[1].id) == (None, films[0].id)
    assert store.neighbours(films[3].id, sort="suspicion") == (films[2].id, None)
    store.save_verdict(films[0].id, "local", ALL_NORMAL, mark_read=True)
    assert store.neighbours(films[0].id, status="new") == (films[1].id, films[2].id)
    with pytest.raises(KeyError):
        store.neighbours(999)
    with pytest.raises(ValueError, match="missing"):
        store.set_result(films[0].id, {"heart": 0.2})
    assert store.counts() == {
        "queued": 0,
        "processing": 0,
        "ready": 3,
        "failed": 1,
        "new": 3,
        "read": 1,
        "total": 4,
    }


def test_restart_requeues_processing_films(tmp_path):
    store = Store(tmp_path)
    films = [_add(store, n) for n in range(3)]
    store.claim_queued(limit=2)
    store.close()
    restarted = Store(tmp_path)
    assert restarted.requeue_processing() == 2
    assert restarted.counts()["queued"] == 3
    assert [f.id for f in restarted.claim_queued(limit=3)] == [f.id for f in films]


def test_report_can_be_attached_later(tmp_path):
    store = Store(tmp_path)
    film = _add(store, 1)
    store.set_report(film.id, "心影增大", {"heart": "1"}, "heart: 心影增大")
    got = store.film(film.id)
    assert (got.report_text, got.report_labels, got.report_evidence) == (
        "心影增大",
        {"heart": "1"},
        "heart: 心影增大",
    )
    with pytest.raises(KeyError):
        store.set_report(99, "x", {}, "")


def test_the_region_filter_calls_exactly_as_the_pages_do_at_the_threshold(tmp_path):
    """SQLite hands the stored probability over unchanged, so a film exactly at its threshold is listed
    and one a hair below is not, as ``regions.call`` decides on the pages."""
    import math
    import random

    from cxr_regions.regions import call

    store = Store(tmp_path)
    random.seed(3)
    values = [0.1 + 0.2, 1 / 3, *(random.random() for _ in range(30))]
    films = []
    for n, p in enumerate(values):
        film = _add(store, n)
        store.set_result(film.id, {**dict.fromkeys(REGION_KEYS, 0.0), "heart": p})
        films.append(film.id)
    for p in values[:12]:
        for cut in (p, math.nextafter(p, 1.0), math.nextafter(p, 0.0)):
            listed, total = store.worklist(region="heart", thresholds={"heart": cut}, limit=1000)
            expected = [f for f, q in zip(films, values, strict=True) if call(q, cut)]
            assert sorted(r.id for r in listed) == sorted(expected) and total == len(expected)
