"""Results out: the handlers of the ``results`` and ``verdict`` jobs (:mod:`~cxr_regions.serve.pacs_jobs`).

``results``: the film's Secondary Capture (in ``sc_syntax``, lossless) and its measurement-report SR,
built from the original instance's header (WADO-RS metadata) and sent into its study (STOW-RS). Where the
PACS answers but refuses a compressed SC, the same job sends it uncompressed at once, and keeps doing so.
``verdict``: the reader's verdict SR, naming the model's SR as evidence; a changed verdict replaces the
reader's previous one in the same series (Predecessor Documents Sequence). A verdict job whose version
is no longer the reader's current one is done without sending (the newer version has its own job).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from cxr_regions.pacs import (
    DEFAULT_SC_SYNTAX,
    InstanceRef,
    PacsError,
    PacsRefused,
    PriorReport,
    model_report,
    result_objects,
    verdict_report,
)
from cxr_regions.pacs import verdict_series_uid as series_uid
from cxr_regions.serve.pacs_jobs import Job
from cxr_regions.serve.pacs_ledger import Origin, PacsLedger, verdict_version
from cxr_regions.serve.pacs_runner import SetAside

if TYPE_CHECKING:
    from pydicom import Dataset

    from cxr_regions.pacs.client import Pacs
    from cxr_regions.serve.model import Thresholds
    from cxr_regions.serve.worker import InferenceWorker

log = logging.getLogger("cxr_regions.serve")

UNCOMPRESSED = "uncompressed"


def refused(exc: Exception) -> bool:
    """The PACS answered a store and refused it (a 4xx status, or objects it did not take), as opposed to
    a PACS that could not be reached or failed (those are tried again as they are)."""
    status = getattr(exc, "status", None)
    return isinstance(exc, PacsRefused) or (status is not None and 400 <= status < 500)


def _origin(job: Job) -> Origin:
    return Origin(job.study_instance_uid or "", job.series_instance_uid or "", job.sop_instance_uid)


class ResultSender:
    """Sends one film's results, or one verdict, per call; raises ``PacsError`` for the runner to retry."""

    def __init__(
        self, pacs: Pacs | None, ledger: PacsLedger, worker: InferenceWorker, thresholds: Thresholds,
        sc_syntax: str | None, faults: Callable[[str], None] | None = None,
        full_name: Callable[[str], str] | None = None,
    ) -> None:  # fmt: skip
        self.pacs = pacs
        self.ledger = ledger
        self.worker = worker
        self.thresholds = thresholds
        self.sc_syntax = sc_syntax  # None: the PACS stage's default
        self.fault = faults or (lambda point: None)
        self.full_name = full_name or str  # reader -> the observer's name (PacsLink.observer_name)
        self._uncompressed: set[int] = set()  # jobs whose PACS refused the compressed SC

    def _header(self, job: Job) -> Dataset:
        origin = _origin(job)
        assert self.pacs is not None  # the link registers the senders only with a PACS
        return cast("Dataset", self.pacs.header(InstanceRef(origin.study, origin.series, origin.sop)))

    def results(self, job: Job) -> str:
        """Send the SC and the SR of the job's film."""
        film = self.ledger.film(job.film_id) if job.film_id is not None else None
        if film is None or film.status != "ready" or not film.probabilities:
            raise SetAside("the film is no longer on the worklist with a result")
        header = self._header(job)
        picture = self.worker.film_array(film)
        values = self.thresholds.values
        heatmaps = self.worker.model.heatmaps(picture) if film.flagged(values) else {}
        syntax = UNCOMPRESSED if job.id in self._uncompressed else (self.sc_syntax or DEFAULT_SC_SYNTAX)
        objects = result_objects(header, picture, heatmaps, film.probabilities, values, sc_syntax=syntax)
        note = ""
        assert self.pacs is not None  # the link registers the senders only with a PACS
        # a results job is queued only with its film's study (PacsLedger._results_wanted)
        study = cast(str, job.study_instance_uid)
        try:
            self.pacs.store([objects.secondary_capture, objects.report], study)
        except PacsError as exc:
            if syntax == UNCOMPRESSED or not refused(exc):
                raise
            # the PACS answered and refused: it may not take this compressed syntax; once more uncompressed
            self._uncompressed.add(job.id)
            objects = result_objects(
                header, picture, heatmaps, film.probabilities, values, sc_syntax=UNCOMPRESSED
            )
            self.pacs.store([objects.secondary_capture, objects.report], study)
            note = f"; the PACS refused the {syntax} SC ({exc}), sent uncompressed"
            log.warning("film %s: the PACS refused the %s SC; sent it uncompressed", film.id, syntax)
        self.fault("pacs.sent")
        self.ledger.mark_sent(film.id, "results", "model", str(objects.report.SOPInstanceUID))
        self._uncompressed.discard(job.id)
        log.info("results of film %s sent to the PACS%s", film.id, note)
        return f"SC and SR sent{note}"

    def verdict(self, job: Job) -> str:
        """Send the reader's verdict SR of the job's version (skipped where a newer one was saved since)."""
        reader = job.version.rpartition("@")[0]
        verdict = self.ledger.current_verdict(job.film_id, reader) if job.film_id is not None else None
        if job.film_id is None or verdict is None or verdict_version(verdict) != job.version:
            return "not sent: the reader saved a newer verdict (or none) since"
        film = self.ledger.film(job.film_id)
        if film is None or not film.probabilities:
            raise SetAside("the film is no longer on the worklist with a result")
        origin = _origin(job)
        header = self._header(job)
        model = model_report(header, film.probabilities, self.thresholds.values)
        earlier = [
            uid for kind, version, uid in self.ledger.sent(film.id)
            if kind == "verdict" and version.rpartition("@")[0] == reader and version != job.version
        ]  # fmt: skip
        replaces = None
        if earlier:  # the reader changed their mind: the new SR replaces the last one sent
            replaces = PriorReport(origin.study, series_uid(origin.sop, reader), earlier[-1])
        report = verdict_report(
            header, model, verdict.labels, reader, job.version, observer_name=self.full_name(reader),
            replaces=replaces, instance_number=len(earlier) + 1,
            cardiothoracic_ratio=verdict.cardiothoracic_ratio,  # measured in the viewer, None where not
        )  # fmt: skip
        assert self.pacs is not None  # the link registers the senders only with a PACS
        self.pacs.store([report], origin.study)
        self.fault("pacs.sent")
        self.ledger.mark_sent(film.id, "verdict", job.version, str(report.SOPInstanceUID))
        log.info("verdict %d of film %s sent to the PACS", len(earlier) + 1, film.id)
        return "verdict SR sent" + (" (replaces the previous one)" if replaces else "")
