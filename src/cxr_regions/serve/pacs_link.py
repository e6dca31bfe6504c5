"""The reading room's PACS link (``serve --pacs URL``): films in from the PACS, results back to it.

Films in: the PACS pushes them to the DICOM listener (``--dicom-port``, :mod:`~cxr_regions.serve.
pacs_listener`), or, as the fallback for a PACS that cannot push, the link polls it every ``poll``
seconds and queues one ``fetch`` job per new instance. Results out (``--send-results``): one
``results`` job per read PACS film and one ``verdict`` job per saved verdict; a film that reached the
worklist another way gets a ``lookup`` job first (is it in the PACS, by its SOP Instance UID?).

Each job runs on its own (:mod:`~cxr_regions.serve.pacs_runner`) with its own attempts and back-off, so
one failing object never delays another; after the last attempt it is set aside with its reason, listed
on the PACS page and re-queued with ``cxr-regions pacs retry``. The link's state (does the PACS answer?)
comes from each poll, or from a small check every ``poll`` seconds where nothing is polled, and from the
jobs' own failures; while the PACS is away no job is tried and no attempt is counted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from cxr_regions.pacs import InstanceRef, PacsError, PollState
from cxr_regions.serve.faults import fault_point
from cxr_regions.serve.pacs_jobs import Backoff, Job, JobBook
from cxr_regions.serve.pacs_ledger import Origin, PacsLedger
from cxr_regions.serve.pacs_runner import JobRunner, LinkHealth, NotStored, SetAside
from cxr_regions.serve.pacs_send import ResultSender

if TYPE_CHECKING:
    from cxr_regions.pacs.client import Pacs
    from cxr_regions.pacs.polling import Poller
    from cxr_regions.serve.intake import Intake
    from cxr_regions.serve.model import Thresholds
    from cxr_regions.serve.pacs_listener import DicomIntake
    from cxr_regions.serve.store import Store
    from cxr_regions.serve.worker import InferenceWorker

log = logging.getLogger("cxr_regions.serve")

PLAN_EVERY = 1.0
RETRY_QUICKER_THAN = 1.0  # seconds: a poll that failed this fast without an answer is asked again at once


def shown_url(url: str) -> str:
    """The URL without any user:password part, fit for a page."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))


@dataclass
class LinkSettings:
    """How the link runs (from :class:`~cxr_regions.serve.configuration.ServeConfig`)."""

    poll_seconds: float = 30.0
    send_results: bool = False
    threads: int = 4
    max_attempts: int = 8
    retry_base: float = 2.0
    max_backoff: float = 300.0
    sc_syntax: str | None = None  # None: the PACS stage's default (``cxr_regions.pacs.DEFAULT_SC_SYNTAX``)


@dataclass
class LinkState:
    """What the pages say about one direction of the link."""

    ok: bool = True
    message: str = "starting"
    since: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "message": self.message, "since": self.since}

    def set(self, ok: bool, message: str) -> None:
        if ok != self.ok or not self.since:
            self.since = _stamp(datetime.now(timezone.utc))
        self.ok, self.message = ok, message


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


class PacsLink:
    """The PACS link of one reading room: the poll (or check) loop, the job runner and its handlers."""

    def __init__(
        self, pacs: Pacs | None, poller: Poller | None, store: Store, intake: Intake, worker: InferenceWorker,
        thresholds: Thresholds, settings: LinkSettings | None = None,
        faults: Callable[[str], None] = fault_point,
    ) -> None:  # fmt: skip
        self.pacs = pacs
        self.poller = poller  # None: films come only through the listener (or not at all)
        self.settings = settings or LinkSettings()
        self.intake = intake
        self.fault = faults
        self.ledger = PacsLedger(store)
        self.jobs = JobBook(
            store, self.settings.max_attempts, Backoff(self.settings.retry_base, self.settings.max_backoff)
        )
        self.health = LinkHealth(pacs.check if pacs is not None else None)
        self.sender = ResultSender(pacs, self.ledger, worker, thresholds, self.settings.sc_syntax, faults)
        handlers: dict[str, Callable[[Job], str | None]] = (
            {"fetch": self.fetch, "lookup": self.lookup} if pacs is not None else {}
        )
        if pacs is not None and self.settings.send_results:
            handlers.update(results=self.sender.results, verdict=self.sender.verdict)
        self.runner = JobRunner(self.jobs, handlers, self.health, self.settings.threads)
        self.runner.before_round = self._plan
        self.films_in = LinkState()
        self.listener: DicomIntake | None = None  # a DicomIntake, where serve runs one (services attach it)
        self._planned = 0.0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def observer_name(self) -> Callable[[str], str]:
        """Reader (login name) -> the name the verdict SR shows as its observer (``Services`` sets the
        users' full names; without a users file, the login name)."""
        return self.sender.full_name

    @observer_name.setter
    def observer_name(self, names: Callable[[str], str]) -> None:
        self.sender.full_name = names

    def start(self) -> None:
        if self.listener is not None:
            self.listener.start()
        self.runner.start()
        if self.pacs is not None:
            self._thread = threading.Thread(target=self._watch, name="pacs-poller", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        if self.listener is not None:
            self.listener.stop()
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.runner.stop(timeout)

    # --- the link's state -------------------------------------------------------------------------------

    def _watch(self) -> None:
        """Every ``poll_seconds``: poll the PACS for new films (or, without polling, check it answers)."""
        while not self._stopping.is_set():
            started = time.monotonic()
            more = False
            try:
                message, more = self._round()
                self.films_in.set(True, message)
                self.health.set(True)
            except Exception as exc:
                if not isinstance(exc, PacsError):
                    log.exception("PACS poll failed")
                reason = str(exc) if isinstance(exc, PacsError) else f"unexpected {type(exc).__name__}"
                self.films_in.set(False, f"{reason}; trying again every {self.settings.poll_seconds:g} s")
                self.health.set(False, reason)
            if self.health.changed.is_set():
                self.health.changed.clear()
                self.runner.wake.set()
            if not more:
                self._stopping.wait(max(0.0, self.settings.poll_seconds - (time.monotonic() - started)))

    def _round(self) -> tuple[str, bool]:
        """One poll (or check); asked again at once where the first try failed at once with no answer,
        as a kept-alive connection the PACS had just closed does (the client itself tries once). A
        timeout is not asked again, so a PACS that went away is shown as soon as it is noticed."""
        for last in (False, True):
            started = time.monotonic()
            try:
                return self.poll_once() if self.poller is not None else (self._check(), False)
            except PacsError as exc:
                quick = time.monotonic() - started < RETRY_QUICKER_THAN
                if last or exc.status is not None or not quick or self._stopping.is_set():
                    raise
        raise AssertionError("unreachable")

    def _check(self) -> str:
        assert self.pacs is not None  # the watch loop runs only with a PACS
        self.pacs.check()
        listening = f"; {self.listener.describe()}" if self.listener is not None else ""
        return f"the PACS answers{listening}"

    def status(self) -> dict[str, Any]:
        """The link's state for the pages and ``/api/pacs``."""
        counts = self.ledger.counts()
        jobs = self.jobs.counts()
        send = None
        if self.pacs is not None and self.settings.send_results:
            waiting = jobs["pending"] + jobs["running"] + jobs["failed"]
            sent = f"{counts['sent_results']} result set(s) and {counts['sent_verdicts']} verdict(s) sent"
            if self.health.up:
                send = {
                    "ok": True,
                    "message": f"connected; {sent}, {waiting} waiting",
                    "since": _stamp(self.health.since),
                }
            else:
                message = f"the PACS does not answer; {waiting} waiting ({sent} before)"
                send = {"ok": False, "message": message, "since": _stamp(self.health.since)}
        films_in = self.films_in.to_dict()
        if self.pacs is None:
            films_in = {"ok": True, "message": self.listener.describe() if self.listener else "", "since": ""}
        states = [films_in] + ([send] if send else [])
        return {
            "url": shown_url(self.pacs.url) if self.pacs is not None else "",
            "ok": all(s["ok"] for s in states) and jobs["set_aside"] == 0,
            "up": self.health.up,
            "poll": films_in,
            "send": send,
            "polling": self.poller is not None,
            "poll_seconds": self.settings.poll_seconds,
            "counts": counts,
            "jobs": jobs,
            "listener": self.listener.status() if self.listener is not None else None,
        }

    # --- films in: polling ----------------------------------------------------------------------------------

    def poll_once(self) -> tuple[str, bool]:
        """One poll (:class:`~cxr_regions.pacs.Poller`, from the cursor kept in the database): queue a
        fetch job per new or changed instance, and the new cursor with them. The status line, and
        whether more is waiting (poll again at once)."""
        started = time.monotonic()
        saved = self.jobs.cursor()
        try:
            state = PollState.from_json(saved) if saved else None
        except (ValueError, TypeError, KeyError):
            log.warning("the saved PACS poll state cannot be read: searching the whole query again")
            state = None
        assert self.poller is not None  # called only with a poller
        result = self.poller.poll(state)
        for problem in result.unresolved:
            log.warning("PACS poll: skipped an instance the PACS could not describe (%s)", problem)
        queued = self.queue_found([(p.ref, p.revision) for p in result.instances], result.state.to_json())
        self.runner.wake.set()
        how = "change feed" if result.state.mode == "changes" else "StudyDate window"
        kind = "full search" if result.swept else how
        took = time.monotonic() - started
        found = len(result.instances)
        return (
            f"connected; last poll ({kind}) found {found} instance(s), {queued} new ({took:.1f} s)",
            result.more,
        )

    def queue_found(self, found: list[tuple[InstanceRef, str | None]], cursor: str | None = None) -> int:
        """Queue a fetch job for each found (InstanceRef, revision) not dealt with yet, or dealt with in
        an earlier revision; record laterals as left in the PACS; keep ``cursor`` in the same
        transaction. How many fetches were queued."""
        known = self.ledger.revisions(ref.sop for ref, _ in found)
        queued = 0
        adopt = []
        with self.jobs.store._write() as session:
            for ref, revision in found:
                origin = Origin(ref.study, ref.series, ref.sop)
                if ref.sop in known:
                    recorded = known[ref.sop]
                    if revision and recorded and revision != recorded:
                        log.info("a PACS instance changed since it was taken: fetching it again")
                        if not self.jobs.refetch(ref.sop, revision, session=session):
                            self.jobs.add(
                                "fetch",
                                ref.sop,
                                study=ref.study,
                                series=ref.series,
                                revision=revision,
                                session=session,
                            )
                        queued += 1
                    elif revision and not recorded:
                        adopt.append((ref.sop, revision))
                    continue
                if ref.lateral:
                    self.ledger.remember(
                        origin,
                        "lateral",
                        reason=f"ViewPosition {ref.view}",
                        via="poll",
                        revision=revision,
                        session=session,
                    )
                    continue
                queued += self.jobs.add(
                    "fetch",
                    ref.sop,
                    study=ref.study,
                    series=ref.series,
                    revision=revision or None,
                    session=session,
                )
            if cursor is not None:
                self.jobs.save_cursor(cursor, session)
        for sop, revision in adopt:
            self.ledger.adopt_revision(sop, revision)
        return queued

    # --- the jobs' handlers ------------------------------------------------------------------------------

    def fetch(self, job: Job) -> str:
        """Retrieve one instance and take it in through the intake."""
        origin = Origin(job.study_instance_uid or "", job.series_instance_uid or "", job.sop_instance_uid)
        ref = InstanceRef(origin.study, origin.series, origin.sop)
        revision = job.revision
        if revision is None and self.poller is not None:  # found by a full search: ask, to notice changes
            revision = self.poller.revision(ref) or None
        before = self.ledger.recorded(origin.sop)
        path = self.intake.incoming_path()
        assert self.pacs is not None  # the fetch handler is registered only with a PACS
        try:
            self.pacs.retrieve(ref, path)
            self.fault("pacs.fetched")
            outcome = self.intake.take(path, "pacs")
        finally:
            path.unlink(missing_ok=True)
        if outcome.status == "failed":  # the room's own trouble (its database, its disk): fetched again
            raise NotStored(outcome.reason)
        self.ledger.record(origin, outcome.status, outcome.film_id, outcome.reason or None, "poll", revision)
        changed = before is not None and before.revision and revision and before.revision != revision
        if (
            changed
            and before is not None
            and outcome.status == "duplicate"
            and outcome.film_id == before.film_id
        ):
            raise SetAside(
                f"changed in the PACS after it was taken as film {before.film_id}; the worklist keeps "
                "the version first received"
            )
        return (
            f"{outcome.status} (film {outcome.film_id})"
            if outcome.film_id
            else f"{outcome.status}: {outcome.reason}"
        )

    def lookup(self, job: Job) -> str:
        """Is this film (which came another way) in the PACS? Then it belongs to the PACS: its results go
        there."""
        assert self.pacs is not None  # the lookup handler is registered only with a PACS
        refs = list(self.pacs.search([{"SOPInstanceUID": job.sop_instance_uid}]))
        if not refs:
            return "not in the PACS"
        ref = refs[0]
        self.ledger.remember(
            Origin(ref.study, ref.series, ref.sop), "duplicate", job.film_id,
            "reached the worklist another way; found in the PACS", via="lookup",
        )  # fmt: skip
        log.info("film %s found in the PACS: its results will be sent there", job.film_id)
        return "found in the PACS"

    def _plan(self) -> None:
        """Queue the results, verdict and lookup jobs that became due (about once a second)."""
        if self.pacs is None or not self.settings.send_results:
            return
        if time.monotonic() - self._planned < PLAN_EVERY:
            return
        self._planned = time.monotonic()
        self.ledger.plan(self.jobs, lookups=True)
