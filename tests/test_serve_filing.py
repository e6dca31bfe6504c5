"""Filing a film in the crash-safe order, and the start-up pass that finishes or removes half-done work.

The half-done states a SIGKILL leaves are made here by stopping ``file_film`` at its fault points in a
child process (``CXR_FAULT_POINT``), then ``reconcile`` runs on a real store and real files. The whole
server under kills is ``test_serve_intake_faults.py``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from cxr_regions.errors import UserError
from cxr_regions.serve.filing import (
    HEATMAPS_DIR,
    DataLock,
    FilmFields,
    file_film,
    film_file,
    is_complete_png,
    reconcile,
)
from cxr_regions.serve.film_files import PREVIEW_DIR
from cxr_regions.serve.store import DB_NAME, DuplicateFilm, Store

SRC = Path(__file__).resolve().parents[1] / "src"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32 + b"IEND\xaeB`\x82"


def _fields(n: int = 1) -> FilmFields:
    return FilmFields(image_id=f"img{n:04d}", source="upload", width=8, height=8, sop_instance_uid=f"1.2.{n}")


def _picture(folder: Path, n: int = 1) -> Path:
    path = folder / f"decoded{n}.png"
    path.write_bytes(PNG)
    return path


def _rows(data: Path) -> list[tuple]:
    with sqlite3.connect(data / DB_NAME) as db:
        return db.execute("SELECT id, image_id, status FROM films ORDER BY id").fetchall()


def _killed_at(point: str, data: Path, picture: Path, full_depth: Path | None = None) -> None:
    """``file_film`` in a child process that SIGKILLs itself at ``point`` (with a full-depth file too)."""
    files = {"film": picture, **({"full_depth": full_depth} if full_depth else {})}
    code = textwrap.dedent(f"""
        from pathlib import Path
        from cxr_regions.serve.filing import FilmFields, file_film
        from cxr_regions.serve.store import Store
        store = Store(Path({str(data)!r}))
        fields = FilmFields(image_id="img0001", source="upload", width=8, height=8, sop_instance_uid="1.2.1")
        files = {{role: Path(p) for role, p in { ({k: str(v) for k, v in files.items()})!r}.items()}}
        file_film(store, Path({str(data)!r}), files, fields)
    """)
    env = {**os.environ, "PYTHONPATH": str(SRC), "CXR_FAULT_POINT": point}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr


def test_a_filed_film_has_its_file_and_a_queued_row(tmp_path):
    data = tmp_path / "room"
    with Store(data) as store:
        record = file_film(store, data, {"film": _picture(tmp_path)}, _fields())
        assert record.status == "queued" and store.film(record.id).png_path == film_file("img0001")
        assert (data / film_file("img0001")).read_bytes() == PNG
        with pytest.raises(DuplicateFilm) as again:
            file_film(store, data, {"film": _picture(tmp_path)}, _fields())
        assert again.value.film_id == record.id
    assert [p.name for p in (data / "films").iterdir()] == ["img0001.png"]


@pytest.mark.parametrize(
    ("point", "finished"),
    [
        ("intake.row_added", False),
        ("intake.write_film", False),
        ("intake.file_written", False),
        ("intake.file_renamed", True),
    ],
)
def test_a_kill_at_each_step_is_finished_or_removed_at_start(point, finished, tmp_path):
    data = tmp_path / "room"
    Store(data).close()
    _killed_at(point, data, _picture(tmp_path))
    assert _rows(data) == [(1, "img0001", "receiving")]
    with Store(data) as store:
        assert store.worklist()[1] == 0  # a half-filed film is on no page
        done = reconcile(store, data)
        assert (done.finished, done.removed_rows) == ((1, 0) if finished else (0, 1))
        assert done.temporary_files == (point == "intake.file_written")
        assert store.worklist()[1] == int(finished)
        if not finished:  # the film is taken when it comes again
            record = file_film(store, data, {"film": _picture(tmp_path)}, _fields())
            assert store.worklist()[1] == 1 and record.status == "queued"
    assert [p.name for p in (data / "films").iterdir()] == ["img0001.png"]
    assert _rows(data)[0][2] == "queued"


@pytest.mark.parametrize(
    ("point", "finished"), [("intake.write_film@2", False), ("intake.file_renamed", True)]
)
def test_a_film_with_a_full_depth_copy_is_finished_only_with_both_files(point, finished, tmp_path):
    data = tmp_path / "room"
    Store(data).close()
    _killed_at(point, data, _picture(tmp_path), full_depth=_picture(tmp_path, 2))
    # a cache entry under the same image id (as a film removed earlier and sent again could leave)
    (data / HEATMAPS_DIR / "img0001").mkdir(parents=True)
    (data / PREVIEW_DIR).mkdir()
    (data / PREVIEW_DIR / "img0001.jpg").write_bytes(b"\xff\xd8 a preview \xff\xd9")
    with Store(data) as store:
        done = reconcile(store, data)
        cached = [(data / HEATMAPS_DIR / "img0001").exists(), (data / PREVIEW_DIR / "img0001.jpg").exists()]
        assert cached == [finished, finished]  # the caches of a film that is removed go with it
        assert (done.finished, done.removed_rows, done.orphan_files) == ((1, 0, 0) if finished else (0, 1, 0))
        names = sorted(p.name for p in (data / "films").iterdir())
        if finished:
            film = store.film(1)
            assert film.full_depth_path == film_file("img0001", "full_depth")
            assert names == ["img0001.full16.png", "img0001.png"]
        else:  # killed after the display PNG, before the full-depth one: both go, the row too
            assert names == [] and _rows(data) == []


def test_reconcile_removes_orphans_temporaries_and_stale_heatmaps(tmp_path):
    data = tmp_path / "room"
    with Store(data) as store:
        kept = file_film(store, data, {"film": _picture(tmp_path)}, _fields())
        (data / "films" / "orphan0000000000000.png").write_bytes(PNG)
        (data / "films" / ".img0002.png.1a2b3c4d.part").write_bytes(PNG[:10])
        (data / HEATMAPS_DIR / "img0001").mkdir(parents=True)
        (data / HEATMAPS_DIR / "img0001" / "heart.png").write_bytes(PNG)
        (data / HEATMAPS_DIR / "img0001" / ".lungs.png.5e6f7a8b.part").write_bytes(b"")
        (data / HEATMAPS_DIR / "gone000000000000000").mkdir()
        (data / PREVIEW_DIR).mkdir()
        for name in ("img0001.jpg", "gone000000000000000.jpg", ".img0001.jpg.1a2b.tmp"):
            (data / PREVIEW_DIR / name).write_bytes(b"\xff\xd8 a preview \xff\xd9")
        (data / "incoming").mkdir(exist_ok=True)
        (data / "incoming" / "half.part").write_bytes(b"half an upload")
        done = reconcile(store, data)
        assert (done.orphan_files, done.temporary_files, done.heatmaps, done.previews) == (1, 1, 2, 2)
        assert store.film(kept.id).status == "queued"
        assert reconcile(store, data) == type(done)()  # a second pass finds nothing to do
    assert sorted(p.name for p in (data / "films").iterdir()) == ["img0001.png"]
    assert [p.name for p in (data / HEATMAPS_DIR).iterdir()] == ["img0001"]
    assert [p.name for p in (data / HEATMAPS_DIR / "img0001").iterdir()] == ["heart.png"]
    assert [p.name for p in (data / PREVIEW_DIR).iterdir()] == ["img0001.jpg"]
    assert not list((data / "incoming").iterdir())


def test_a_torn_png_is_told_from_a_whole_one(tmp_path):
    whole, torn, empty = tmp_path / "whole.png", tmp_path / "torn.png", tmp_path / "empty.png"
    whole.write_bytes(PNG)
    torn.write_bytes(PNG[:-4])
    empty.write_bytes(b"")
    assert is_complete_png(whole)
    assert not is_complete_png(torn) and not is_complete_png(empty) and not is_complete_png(tmp_path / "none")


def test_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    data = tmp_path / "room"
    with Store(data) as store:
        monkeypatch.setenv("CXR_FAULT_POINT", "intake.write_film:enospc")
        with pytest.raises(OSError, match="No space left"):
            file_film(store, data, {"film": _picture(tmp_path)}, _fields())
        monkeypatch.delenv("CXR_FAULT_POINT")
        assert _rows(data) == [] and not (data / "films").exists()
        assert file_film(store, data, {"film": _picture(tmp_path)}, _fields()).status == "queued"


def test_the_same_film_sent_at_once_from_many_threads_is_filed_once(tmp_path):
    data = tmp_path / "room"
    outcomes: list[str] = []
    with Store(data) as store:

        def send(i: int) -> None:
            try:
                file_film(store, data, {"film": _picture(tmp_path, i)}, _fields())
                outcomes.append("stored")
            except DuplicateFilm:
                outcomes.append("duplicate")

        threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["duplicate"] * 7 + ["stored"]
        assert store.worklist()[1] == 1
    assert _rows(data) == [(1, "img0001", "queued")]


def test_one_server_per_data_folder(tmp_path):
    first = DataLock.take(tmp_path)
    with pytest.raises(UserError, match=f"process {os.getpid()}.*another --data"):
        DataLock.take(tmp_path)
    first.release()
    DataLock.take(tmp_path).release()


def test_migration_0007_keeps_every_row_and_reference_and_goes_back(tmp_path):
    from importlib import import_module

    from alembic import command

    from cxr_regions.serve.database import alembic_config, downgrade, make_engine, writer

    migration = import_module("cxr_regions.serve.migrations.versions.0007_films_receiving_and_dicom")
    before = migration.down_revision
    engine = make_engine(tmp_path / DB_NAME)
    config = alembic_config(engine)
    with writer(engine).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, before)
    engine.dispose()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute(
            "INSERT INTO films (id, image_id, source, png_path, width, height, received_at, status, read) "
            "VALUES (7, 'a', 'pacs', 'films/a.png', 1, 1, '2026-01-01', 'ready', 1)"
        )
        db.execute(
            "INSERT INTO verdicts (film_id, reader, thorax, lungs, aorta, heart, diaphragm, note, saved_at) "
            "VALUES (7, 'dr_li', '1', '0', 'u', '0', '0', 'kept', '2026-01-01')"
        )
        db.execute(
            "INSERT INTO pacs_fetched (sop_instance_uid, study_instance_uid, series_instance_uid, outcome, "
            "film_id, fetched_at) VALUES ('1.2', '1', '1.1', 'stored', 7, '2026-01-01')"
        )
    with Store(tmp_path) as store:  # upgrades to 0007
        assert store.film(7).status == "ready" and store.verdicts(7)[0].note == "kept"
        store.add_film(
            image_id="b", png_path="films/b.png", width=1, height=1, source="dicom", status="receiving"
        )
    engine = make_engine(tmp_path / DB_NAME)
    downgrade(engine, before)
    engine.dispose()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        assert db.execute("SELECT id, status FROM films").fetchall() == [(7, "ready")]
        assert db.execute("SELECT film_id FROM pacs_fetched").fetchall() == [(7,)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        with pytest.raises(sqlite3.IntegrityError, match="ck_films_source"):
            db.execute(
                "INSERT INTO films (image_id, source, png_path, width, height, received_at, status, read) "
                "VALUES ('c', 'dicom', 'films/c.png', 1, 1, '2026-01-01', 'queued', 0)"
            )
