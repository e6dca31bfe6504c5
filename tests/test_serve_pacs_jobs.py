"""The PACS link's jobs on a real SQLite database: per-object attempts and back-off, set aside after the
last attempt, a film's jobs one at a time, a killed server's running jobs queued again, retry and forget
from the command line, and the runner: one object failing every time never delays the others, and a PACS
that is away costs no attempts."""

from __future__ import annotations

import random
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from typer.testing import CliRunner

from cxr_regions.errors import UserError
from cxr_regions.serve.pacs_jobs import Backoff, JobBook
from cxr_regions.serve.pacs_ledger import Origin, PacsLedger
from cxr_regions.serve.pacs_runner import JobRunner, LinkHealth, NotStored, SetAside
from cxr_regions.serve.store import Store


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path) as opened:
        yield opened


def _film(store: Store, n: int, sop: str | None = None) -> int:
    record = store.add_film(
        image_id=f"img-{n}", png_path=f"films/img-{n}.png", width=8, height=8, source="upload",
        sop_instance_uid=sop, study_instance_uid="1.2.3" if sop else None,
    )  # fmt: skip
    store.set_result(record.id, dict.fromkeys(("thorax", "lungs", "aorta", "heart", "diaphragm"), 0.1))
    return record.id


def _due(book: JobBook) -> None:
    """Make every waiting job due now (instead of sleeping through its back-off)."""
    from sqlalchemy import update

    from cxr_regions.serve.schema import PacsJob

    with book.store._write() as session:
        session.execute(update(PacsJob).values(next_try_at=datetime.now(timezone.utc) - timedelta(seconds=1)))


def test_the_backoff_doubles_is_capped_and_jittered():
    backoff = Backoff(base=2.0, cap=10.0)
    rng = random.Random(5)
    for attempts, step in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 10.0), (9, 10.0)]:
        waits = [backoff.delay(attempts, rng) for _ in range(200)]
        assert all(0.5 * step <= w <= step for w in waits)
        assert max(waits) - min(waits) > 0.3 * step  # jittered, not one value


def test_a_job_is_queued_once_claimed_once_and_counts_its_own_attempts(store):
    book = JobBook(store, max_attempts=3, backoff=Backoff(base=60.0, cap=60.0))
    assert book.add("fetch", "1.1", study="1", series="2")
    assert not book.add("fetch", "1.1", study="1", series="2")  # the same object is one job
    assert book.add("fetch", "1.2", study="1", series="2")
    first = book.claim(10)
    assert sorted(j.sop_instance_uid for j in first) == ["1.1", "1.2"]
    assert book.claim(10) == []  # running jobs are not handed out twice
    bad, good = sorted(first, key=lambda j: j.sop_instance_uid)
    book.done(good.id, "stored")
    after = book.failed(bad, "WADO-RS retrieve failed: HTTP 500")
    assert after.state == "failed" and after.attempts == 1
    assert 30 <= (after.next_try_at - datetime.now(timezone.utc)).total_seconds() <= 60
    assert book.claim(10) == []  # not due yet
    for attempt in (2, 3):
        _due(book)
        [again] = book.claim(10)
        after = book.failed(again, f"HTTP 500 (try {attempt})")
    assert after.state == "set_aside" and after.attempts == 3
    _due(book)
    assert book.claim(10) == []  # set aside: waits for a person
    [shown] = book.jobs(["set_aside"])
    assert shown.last_error == "HTTP 500 (try 3)" and shown.sop_instance_uid == "1.1"
    assert book.counts() == {"pending": 0, "running": 0, "done": 1, "failed": 0, "set_aside": 1}


def test_a_films_jobs_run_one_at_a_time(store):
    book = JobBook(store)
    film = _film(store, 1, "9.1")
    book.add("results", "9.1", film_id=film)
    book.add("verdict", "9.1", version="dr@1", film_id=film)
    book.add("fetch", "9.2")
    claimed = book.claim(10)
    assert sorted(j.kind for j in claimed) == ["fetch", "results"]
    results = next(j for j in claimed if j.kind == "results")
    book.done(results.id)
    [verdict] = book.claim(10)
    assert verdict.kind == "verdict"


def test_jobs_a_killed_server_left_running_are_pending_again_without_an_attempt(store, tmp_path):
    book = JobBook(store)
    book.add("fetch", "1.1")
    [job] = book.claim(1)
    with Store(tmp_path) as again:  # the next server on the same database
        restarted = JobBook(again)
        assert restarted.requeue_running() == 1
        [back] = restarted.claim(1)
        assert back.id == job.id and back.attempts == 0


def test_retry_and_forget_from_the_command_line(store, tmp_path):
    from cxr_regions.cli import app

    book = JobBook(store, max_attempts=1)
    ledger = PacsLedger(store)
    for sop in ("1.1", "1.2", "1.3"):
        book.add("fetch", sop, study="1", series="2")
    for job in book.claim(3):
        book.failed(job, "HTTP 500")
    assert book.counts()["set_aside"] == 3
    runner = CliRunner()
    result = runner.invoke(app, ["pacs", "retry", "--data", str(tmp_path), "1.2"])
    assert result.exit_code == 0, result.output
    assert "1 job(s) queued again" in result.output
    [again] = book.claim(5)
    assert again.sop_instance_uid == "1.2" and again.attempts == 0
    book.done(again.id)
    result = runner.invoke(app, ["pacs", "jobs", "--data", str(tmp_path)])
    assert "2 set aside" in result.output and "1.1" in result.output and "HTTP 500" in result.output
    result = runner.invoke(app, ["pacs", "retry", "--data", str(tmp_path), "--all"])
    assert "2 job(s) queued again" in result.output
    assert book.counts()["pending"] == 2
    # forget: an instance taken in is fetched again from the start (e.g. corrected in the PACS)
    film = _film(store, 1, "1.2")
    ledger.remember(Origin("1", "2", "1.2"), "stored", film, via="poll")
    book.add("results", "1.2", study="1", series="2", film_id=film)
    result = runner.invoke(app, ["pacs", "forget", "--data", str(tmp_path), "1.2"])
    assert result.exit_code == 0, result.output
    assert "forgot 1 instance record(s) and 2 job(s); 1 fetch(es) queued again" in result.output
    assert ledger.known(["1.2"]) == {"1.2"}  # being fetched again
    assert [(j.kind, j.state) for j in book.jobs(["pending"]) if j.sop_instance_uid == "1.2"] == [
        ("fetch", "pending")
    ]
    result = runner.invoke(app, ["pacs", "retry", "--data", str(tmp_path)])
    assert isinstance(result.exception, UserError) and "--all" in str(result.exception)
    result = runner.invoke(app, ["pacs", "retry", "--data", str(tmp_path / "nowhere"), "--all"])
    assert isinstance(result.exception, UserError) and "no reading-room database" in str(result.exception)


def _wait(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_one_object_failing_every_time_never_delays_the_others(store):
    from cxr_regions.pacs import PacsError

    book = JobBook(store, max_attempts=3, backoff=Backoff(base=0.2, cap=0.4))
    finished: dict[str, float] = {}
    lock = threading.Lock()

    def fetch(job):
        if job.sop_instance_uid == "bad":
            raise PacsError("WADO-RS retrieve failed: HTTP 500")
        time.sleep(0.05)  # the time one retrieve takes
        with lock:
            finished[job.sop_instance_uid] = time.monotonic()
        return "stored"

    def gone(job):
        raise SetAside("the film is no longer on the worklist")

    health = LinkHealth(lambda: None)
    runner = JobRunner(book, {"fetch": fetch, "lookup": gone}, health, threads=2)
    book.add("fetch", "bad")
    for n in range(12):
        book.add("fetch", f"good-{n}")
    book.add("lookup", "gone")
    started = time.monotonic()
    runner.start()
    try:
        _wait(lambda: book.counts()["done"] == 12 and book.counts()["set_aside"] == 2)
    finally:
        runner.stop()
    # 12 retrieves of 0.05 s on 2 threads: about 0.3 s; the bad one costs the others nothing
    assert max(finished.values()) - started < 3.0
    reasons = {j.sop_instance_uid: (j.attempts, j.last_error) for j in book.jobs(["set_aside"])}
    assert reasons == {
        "bad": (3, "WADO-RS retrieve failed: HTTP 500"),
        "gone": (0, "the film is no longer on the worklist"),
    }


def test_what_the_room_could_not_store_is_tried_again_with_its_reason_and_no_traceback(store, caplog):
    locked = "the reading-room database is locked by another process; nothing was stored: send it again"

    def fetch(job):
        if job.sop_instance_uid == "busy":
            raise NotStored(locked)
        raise KeyError("a bug")

    book = JobBook(store, max_attempts=2, backoff=Backoff(base=0.05, cap=0.05))
    runner = JobRunner(book, {"fetch": fetch}, LinkHealth(lambda: None), threads=1)
    book.add("fetch", "busy")
    book.add("fetch", "bug")
    with caplog.at_level("WARNING", logger="cxr_regions.serve"):
        runner.start()
        try:
            _wait(lambda: book.counts()["set_aside"] == 2)
        finally:
            runner.stop()
    reasons = {j.sop_instance_uid: (j.attempts, j.last_error) for j in book.jobs(["set_aside"])}
    assert reasons == {"busy": (2, locked), "bug": (2, "unexpected KeyError: 'a bug'")}
    tracebacks = {r.getMessage() for r in caplog.records if r.exc_info}
    assert tracebacks and all(
        "job 2 " in message for message in tracebacks
    )  # the bug's, never the busy one's


def test_a_pacs_that_is_away_costs_no_attempts_and_work_resumes_when_it_answers(store):
    from cxr_regions.pacs import PacsError

    up = threading.Event()

    def probe():
        if not up.is_set():
            raise PacsError("QIDO-RS search failed: ConnectionError (is the PACS running?)")

    def fetch(job):
        probe()
        return "stored"

    book = JobBook(store, max_attempts=2, backoff=Backoff(base=0.1, cap=0.1))
    health = LinkHealth(probe, every=0.05)
    runner = JobRunner(book, {"fetch": fetch}, health, threads=2)
    rounds = []
    runner.before_round = lambda: rounds.append(health.up)
    for n in range(4):
        book.add("fetch", f"1.{n}")
    runner.start()
    try:
        _wait(lambda: rounds.count(False) >= 2)  # rounds while away claim nothing: no attempts burnt
        assert book.counts()["set_aside"] == 0
        assert all(j.attempts == 0 for j in book.jobs(["pending", "failed"]))
        up.set()
        health.set(True)  # what the link's next poll or check does
        runner.wake.set()
        _wait(lambda: book.counts()["done"] == 4)
    finally:
        runner.stop()


def test_the_link_settings_are_checked_before_anything_starts(tmp_path):
    from cxr_regions.serve import ServeConfig

    run = tmp_path / "run"
    run.mkdir()

    def problems(**options) -> str:
        with pytest.raises(UserError) as caught:
            ServeConfig(run=run, data=tmp_path / "data", **options).validate()
        return str(caught.value)

    assert "--calling-aets" in problems(dicom_port=11112, dicom_host="0.0.0.0")
    assert "--ae-title" in problems(dicom_port=11112, ae_title="MUCH-TOO-LONG-AE-TITLE")
    assert "--dicom-tls-key" in problems(dicom_port=11112, dicom_tls_cert=run)
    assert "--sc-syntax 'jpeg-lossy'" in problems(pacs="http://pacs/dicom-web", sc_syntax="jpeg-lossy")
    assert "--poll-mode" in problems(pacs="http://pacs/dicom-web", pacs_poll_mode="sometimes")
    assert "--pacs-attempts" in problems(pacs="http://pacs/dicom-web", pacs_attempts=0)
    listening = ServeConfig(run=run, data=tmp_path / "data", pacs="http://pacs/dicom-web", dicom_port=11112)
    listening.validate()
    assert listening.polling == "off"  # the PACS pushes; polling only where asked for
    asked = ServeConfig(run=run, data=tmp_path / "d", dicom_port=11112, pacs_poll_mode="changes")
    assert asked.polling == "changes"
    assert ServeConfig(run=run, data=tmp_path / "d", pacs="http://pacs/dicom-web").polling == "auto"
