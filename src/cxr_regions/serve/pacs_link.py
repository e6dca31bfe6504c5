"""The reading room's PACS link (``serve --pacs URL``): a poller that puts the PACS's new chest films on
the worklist, and a sender that returns the model's results (``--send-results``).

The poller asks the PACS (QIDO-RS) for the query's instances every ``poll`` seconds, leaves out those the
ledger already knows, retrieves the others (WADO-RS) into ``incoming/`` and hands each to the same
:class:`~cxr_regions.serve.intake.Intake` as uploads (``source='pacs'``), then records the outcome. A
PACS that is down or answers errors is tried again with a doubling delay (1 s up to ``max_backoff``);
the worklist page shows the link's state. The sender, once a PACS film's probabilities are ready, builds
the Secondary Capture and the SR (``cxr_regions.pacs.result_objects``) from the original instance's
header and sends them with STOW-RS; saved verdicts follow as SRs referencing the model's.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

from cxr_regions.serve.pacs_ledger import Origin, PacsLedger, verdict_version

log = logging.getLogger("cxr_regions.serve")

SEND_EVERY = 2.0


def shown_url(url: str) -> str:
    """The URL without any user:password part, fit for a page."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")))


@dataclass
class LinkState:
    """What the worklist page says about one direction of the link."""

    ok: bool = True
    message: str = "starting"
    since: str = ""
    failures: int = 0

    def to_dict(self) -> dict:
        return {"ok": self.ok, "message": self.message, "since": self.since}

    def set(self, ok: bool, message: str) -> None:
        if ok != self.ok or not self.since:
            self.since = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        self.ok, self.message = ok, message
        self.failures = 0 if ok else self.failures + 1


class _Loop:
    """A daemon thread calling ``step`` every ``every`` seconds; after a failure, 1, 2, 4... s later."""

    def __init__(self, name: str, step, every: float, max_backoff: float) -> None:
        self.name, self.step, self.every, self.max_backoff = name, step, every, max_backoff
        self.state = LinkState()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self.thread.start()

    def stop(self, timeout: float) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        from cxr_regions.pacs import PacsError

        while not self.stopping.is_set():
            try:
                message = self.step(self.stopping)
                self.state.set(True, message)
                delay = self.every
            except PacsError as exc:
                self.state.set(False, f"{exc}; trying again")
                delay = min(self.max_backoff, 2.0 ** (self.state.failures - 1))
                log.warning("%s: %s (next try in %.0f s)", self.name, exc, delay)
            except Exception as exc:  # the link must never take the reading room down
                self.state.set(False, f"unexpected {type(exc).__name__}; trying again")
                delay = min(self.max_backoff, 2.0 ** (self.state.failures - 1))
                log.exception("%s failed", self.name)
            self.wake.wait(delay)
            self.wake.clear()


class PacsLink:
    """The poller and (with ``send_results``) the sender for one PACS."""

    observer_name = str
    """A reader's name as the verdict SR shows the observer (``Services`` sets the users' full names)."""

    def __init__(
        self, pacs, filters: list[dict[str, str]], store, intake, worker, thresholds,
        poll_seconds: float = 30.0, send_results: bool = False, max_backoff: float = 300.0,
    ) -> None:  # fmt: skip
        self.pacs = pacs
        self.filters = filters
        self.ledger = PacsLedger(store)
        self.intake = intake
        self.worker = worker
        self.thresholds = thresholds
        self.send_results = send_results
        self.poller = _Loop("pacs-poller", self.poll_once, poll_seconds, max_backoff)
        self.sender = _Loop("pacs-sender", self.send_pending, min(SEND_EVERY, poll_seconds), max_backoff)

    def start(self) -> None:
        self.poller.start()
        if self.send_results:
            self.sender.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.poller.stop(timeout)
        self.sender.stop(timeout)

    def status(self) -> dict:
        """The link's state for the worklist page and ``/api/pacs``."""
        counts = self.ledger.counts()
        states = [("poll", self.poller.state)] + ([("send", self.sender.state)] if self.send_results else [])
        return {
            "url": shown_url(self.pacs.url),
            "ok": all(s.ok for _, s in states),
            "poll": self.poller.state.to_dict(),
            "send": self.sender.state.to_dict() if self.send_results else None,
            "counts": counts,
        }  # fmt: skip

    # --- films in --------------------------------------------------------------------------------------

    def poll_once(self, stopping: threading.Event | None = None) -> str:
        """One round: search, fetch what is new, take it in. Returns the status line."""
        started = time.monotonic()
        refs = list(self.pacs.search(self.filters))
        known = self.ledger.known(r.sop for r in refs)
        new = [r for r in refs if r.sop not in known]
        stored = 0
        for ref in new:
            if stopping is not None and stopping.is_set():
                break
            origin = Origin(ref.study, ref.series, ref.sop)
            if ref.lateral:
                self.ledger.remember(origin, "lateral", reason=f"ViewPosition {ref.view}")
                continue
            path = self.intake.incoming_path()
            self.pacs.retrieve(ref, path)  # a PacsError leaves it unrecorded: fetched next round
            outcome = self.intake.take(path, "pacs")
            self.ledger.remember(origin, outcome.status, outcome.film_id, outcome.reason or None)
            stored += outcome.status == "stored"
        took = time.monotonic() - started
        return f"connected; last poll found {len(refs)} instance(s), {stored} new film(s) ({took:.1f} s)"

    # --- results out -----------------------------------------------------------------------------------

    def send_pending(self, stopping: threading.Event | None = None) -> str:
        """Send the results of every read PACS film not sent yet, then the new verdicts.

        One film the PACS refuses does not hold up the others; the round then ends with a ``PacsError``
        naming how many were not sent (so the page shows it and the next try comes after a back-off).
        """
        from cxr_regions.pacs import PacsError

        jobs = [(self._send_results, item) for item in self.ledger.unsent_results()]
        jobs += [(self._send_verdict, item) for item in self.ledger.unsent_verdicts()]
        problems = []
        for send, item in jobs:
            if stopping is not None and stopping.is_set():
                break
            try:
                send(*item)
            except PacsError as exc:
                problems.append(str(exc))
        if problems:
            raise PacsError(f"{len(problems)} of {len(jobs)} result object set(s) not sent ({problems[0]})")
        counts = self.ledger.counts()
        return (
            f"connected; {counts['sent_results']} result set(s) and {counts['sent_verdicts']} verdict(s) sent"
        )

    def _send_results(self, film, origin: Origin) -> None:
        from cxr_regions.pacs import InstanceRef, result_objects

        header = self.pacs.header(InstanceRef(origin.study, origin.series, origin.sop))
        picture = self.worker.film_array(film)
        values = self.thresholds.values
        heatmaps = self.worker.model.heatmaps(picture) if film.flagged(values) else {}
        objects = result_objects(header, picture, heatmaps, film.probabilities, values)
        self.pacs.store([objects.secondary_capture, objects.report], origin.study)
        self.ledger.mark_sent(film.id, "results", "model", str(objects.report.SOPInstanceUID))
        log.info("results of film %s sent to the PACS", film.id)

    def _send_verdict(self, verdict, film, origin: Origin) -> None:
        from cxr_regions.pacs import InstanceRef, PriorReport, model_report, verdict_report
        from cxr_regions.pacs import verdict_series_uid as series_uid

        header = self.pacs.header(InstanceRef(origin.study, origin.series, origin.sop))
        model = model_report(header, film.probabilities, self.thresholds.values)
        version = verdict_version(verdict)
        earlier = [
            uid for kind, sent_version, uid in self.ledger.sent(film.id)
            if kind == "verdict" and sent_version.rpartition("@")[0] == verdict.reader
        ]  # fmt: skip
        replaces = None
        if earlier:  # the reader changed their mind: the new SR replaces the last one sent
            replaces = PriorReport(origin.study, series_uid(origin.sop, verdict.reader), earlier[-1])
        report = verdict_report(
            header, model, verdict.labels, verdict.reader, version,
            observer_name=self.observer_name(verdict.reader),
            replaces=replaces, instance_number=len(earlier) + 1,
        )  # fmt: skip
        self.pacs.store([report], origin.study)
        self.ledger.mark_sent(film.id, "verdict", version, str(report.SOPInstanceUID))
        log.info("verdict of %s on film %s sent to the PACS", verdict.reader, film.id)
