"""``serve --dicom-port PORT --ae-title AET [--calling-aets A,B]``: the PACS pushes films to the reading
room over DICOM, through the same intake as uploads.

:class:`~cxr_regions.pacs.DicomListener` (the pacs stage's C-STORE SCP) writes and fsyncs each received
film, then calls :meth:`DicomIntake.on_film`, which takes it in with :meth:`Intake.take
<cxr_regions.serve.intake.Intake.take>` and records where it came from (``pacs_fetched``, via
``listener``), so that its results go back to the PACS with ``--send-results``. The PACS hears success
only after that: for a stored film, and for one refused on purpose (not a chest film, a lateral, a
duplicate), so that it does not send it again and again; out of resources where the disk is short.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydicom

from cxr_regions.pacs import DicomListener
from cxr_regions.pacs.listener import Decision
from cxr_regions.serve.pacs_ledger import Origin, PacsLedger

if TYPE_CHECKING:
    from cxr_regions.pacs.listener import ListenerConfig
    from cxr_regions.serve.intake import Intake

log = logging.getLogger("cxr_regions.serve")

LISTENER_SOURCE = "dicom"  # a film the PACS pushed (C-STORE); "pacs" is one the room fetched
HEADER_TAGS = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


class DicomIntake:
    """The reading room's DICOM listener: received films into the intake, their origin into the ledger."""

    def __init__(
        self,
        config: ListenerConfig,
        intake: Intake,
        ledger: PacsLedger,
        on_taken: Callable[[], None] = lambda: None,
    ) -> None:
        self.config = config
        self.intake = intake
        self.ledger = ledger
        self.on_taken = on_taken
        self.listener = DicomListener(config, self.on_film)
        self.running = False

    def start(self) -> None:
        self.listener.start()
        self.running = True

    def stop(self) -> None:
        self.running = False
        self.listener.stop()

    def describe(self) -> str:
        counts = self.listener.counts
        where = f"{self.config.address}:{self.listener.port}"
        state = f"listening as {self.config.ae_title} on {where}" if self.running else "not listening"
        return (
            f"{state}; {counts['stored']} film(s) stored, {counts['refused']} refused on purpose, "
            f"{counts['no_space'] + counts['failed']} not taken (the PACS sends them again)"
        )

    def status(self) -> dict[str, Any]:
        return {
            "ok": self.running, "message": self.describe(), "ae_title": self.config.ae_title,
            "port": self.listener.port, "counts": dict(self.listener.counts),
        }  # fmt: skip

    def on_film(self, path: Path) -> Decision:
        """Take one received film in; the listener's :class:`~cxr_regions.pacs.Decision`."""
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=list(HEADER_TAGS))
            origin = Origin(*(str(header.get(tag, "") or "") for tag in HEADER_TAGS))
        except Exception:  # not readable as DICOM: the intake refuses it with its reason
            origin = None
        outcome = self.intake.take(path, LISTENER_SOURCE)
        if outcome.status in ("refused", "failed") and self._short_of_space():
            return Decision.no_space("the reading room is short of disk space")
        if outcome.status == "failed":  # the room's own trouble (its database, its disk): not recorded
            return Decision.failed(outcome.reason)
        if origin is not None and origin.sop and origin.study:
            self.ledger.remember(
                origin, outcome.status, outcome.film_id, outcome.reason or None, via="listener"
            )
        if outcome.status == "stored":
            self.on_taken()
            return Decision.stored()
        return Decision.refused(outcome.reason or outcome.status)

    def _short_of_space(self) -> bool:
        return shutil.disk_usage(self.intake.data).free < self.config.min_free_bytes
