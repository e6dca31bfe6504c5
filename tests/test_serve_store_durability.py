"""The reading room's database survives restarts and kills, and its schema comes from the migrations."""

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
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cxr_regions.errors import UserError
from cxr_regions.regions import REGION_KEYS
from cxr_regions.serve.database import current_revision, head_revision, make_engine, upgrade
from cxr_regions.serve.schema import Base
from cxr_regions.serve.store import DB_NAME, Store

SRC = Path(__file__).resolve().parents[1] / "src"
ABNORMAL_HEART = {**dict.fromkeys(REGION_KEYS, "0"), "heart": "1"}


def _film(store: Store, n: int = 1):
    return store.add_film(
        image_id=f"img{n}",
        png_path=f"f{n}.png",
        width=8,
        height=8,
        source="upload",
        sop_instance_uid=f"1.{n}",
    )


def test_migrations_reach_head_and_match_the_tables(tmp_path):
    Store(tmp_path).close()
    Store(tmp_path).close()
    engine = make_engine(tmp_path / DB_NAME)
    assert head_revision() == "0007"
    assert current_revision(engine) == "0007"
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_migration_freezes_the_region_columns_of_its_time():
    from importlib import import_module

    migration = import_module("cxr_regions.serve.migrations.versions.0001_films_and_verdicts")
    assert migration.REGIONS_AT_0001 == REGION_KEYS, "regions changed: write a new migration for verdicts"


def test_a_restarted_store_sees_every_saved_verdict(tmp_path):
    first = Store(tmp_path)
    films = [_film(first, n) for n in range(3)]
    for f in films:
        first.save_verdict(f.id, "dr_li", ABNORMAL_HEART, note=f"n{f.id}", mark_read=True)
    second = Store(tmp_path)
    assert [(v.film_id, v.labels, v.note) for v in second.verdicts()] == [
        (f.id, ABNORMAL_HEART, f"n{f.id}") for f in films
    ]
    assert second.counts()["read"] == 3
    second.save_verdict(films[0].id, "dr_wang", ABNORMAL_HEART)
    assert len(first.verdicts()) == 4


def test_concurrent_writers_lose_nothing(tmp_path):
    store = Store(tmp_path)
    films = [_film(store, n) for n in range(40)]
    errors: list[BaseException] = []

    def work(reader: str) -> None:
        try:
            for f in films:
                store.save_verdict(f.id, reader, ABNORMAL_HEART, mark_read=True)
                store.claim_queued(limit=1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"r{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store.verdicts()) == 4 * len(films)
    assert store.counts()["processing"] == len(films)


CHILD = textwrap.dedent(
    """
    import sqlite3, sys, time
    from pathlib import Path
    from cxr_regions.regions import REGION_KEYS
    from cxr_regions.serve.store import DB_NAME, Store

    data = Path(sys.argv[1])
    store = Store(data)
    film = store.add_film(image_id="k1", png_path="k1.png", width=8, height=8, source="watch")
    store.save_verdict(film.id, "dr_li", {**dict.fromkeys(REGION_KEYS, "0"), "lungs": "u"}, note="kept")
    print("saved", flush=True)
    half = sqlite3.connect(data / DB_NAME, isolation_level=None)
    half.execute("BEGIN IMMEDIATE")
    half.execute("UPDATE verdicts SET note = 'half-written'")
    print("mid-transaction", flush=True)
    time.sleep(600)
    """
)


def test_a_killed_process_keeps_its_saved_verdict(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert child.stdout.readline().strip() == "saved"
        assert child.stdout.readline().strip() == "mid-transaction"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with sqlite3.connect(tmp_path / DB_NAME) as raw:
        assert raw.execute("SELECT COUNT(*) FROM verdicts").fetchone() == (1,)
    store = Store(tmp_path)
    (verdict,) = store.verdicts()
    assert verdict.note == "kept" and verdict.labels["lungs"] == "u" and verdict.reader == "dr_li"
    store.save_verdict(verdict.film_id, "dr_li", ABNORMAL_HEART, note="after restart")
    assert Store(tmp_path).verdicts()[0].note == "after restart"


def test_the_schema_has_no_place_for_patient_identity(tmp_path):
    Store(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as raw:
        tables = [r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        columns = [c[1].lower() for t in tables for c in raw.execute(f"PRAGMA table_info({t})")]
    assert {"films", "verdicts"} <= set(tables)
    # patient_key is ingest's salted HMAC of the PatientID (for priors), never the ID itself
    identity = [c for c in columns if any(w in c for w in ("patient", "birth", "name", "sex"))]
    assert identity in ([], ["patient_key"])


def test_a_newer_schema_or_a_foreign_file_is_a_user_error(tmp_path):
    Store(tmp_path / "newer").close()
    with sqlite3.connect(tmp_path / "newer" / DB_NAME) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(UserError, match="newer"):
        Store(tmp_path / "newer")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / DB_NAME).write_bytes(b"these are not the bytes of a database" * 100)
    with pytest.raises(UserError, match="cannot open"):
        Store(tmp_path / "foreign")
