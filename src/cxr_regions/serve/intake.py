"""Getting films in: one received file -> a de-identified PNG under ``DATA/films`` and a queued row.

Every way in calls the same :meth:`Intake.take` (``source``: ``upload``, ``watch``, ``demo``, ``pacs``,
``dicom``), which returns an :class:`Outcome`: ``stored``, ``duplicate``, ``refused`` (the file itself is
not a film the room reads: the reason says why; sending it again gives the same answer) or ``failed``
(nothing was stored because of the room's own trouble, a full disk or a database locked by another
process: send it again later). It never raises for bad input.

The kind of file is told by its content (the DICOM preamble ``DICM`` at byte 128, the PNG or JPEG
signature), never by its name. File names are never used, logged or shown: they often carry the
patient's name. A file is known in logs and answers by ``ref``, the first 12 hex digits of the SHA-256
of its content (``sha256sum`` finds it on the sender's side). DICOM goes through ingest's own selection,
decoding and de-identification (``cxr_regions.ingest.ingest_file``), its header's identifying values
registered with the log redaction meanwhile (``cxr_regions.redaction.identities``). A picture (PNG,
JPEG) has no header to select it by, so its pixels must pass ``check_picture`` (plausibly a radiograph:
size, grey levels, no colour, no screenshot or pattern), else it is refused with the reasons: a model's
probabilities on a photograph mean nothing, and a refusal tells the sender at once. The decoded film is
filed by ``serve/filing.py`` in the crash-safe order.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import cv2
import pydicom
from sqlalchemy.exc import OperationalError

from cxr_regions.contracts import ErrorRow
from cxr_regions.errors import UserError
from cxr_regions.ingest import IngestConfig, ingest_file, load_or_create_salt, read_film
from cxr_regions.redaction import dataset_identities, identities
from cxr_regions.serve.faults import fault_point
from cxr_regions.serve.filing import INCOMING_DIR, BusyFilm, FilmFields, Reconciled, file_film, reconcile
from cxr_regions.serve.film_files import dicom_extras
from cxr_regions.serve.reports import ReportBook
from cxr_regions.serve.store import DuplicateFilm, Store

log = logging.getLogger("cxr_regions.serve")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
SNIFF_BYTES = 132
CHUNK = 1 << 20
REF_DIGITS = 12
SOURCES = ("upload", "watch", "demo", "pacs", "dicom")
INGEST_REASONS = {
    "not_dicom": "not a DICOM file",
    "unreadable": "the file cannot be read (truncated or damaged?)",
    "decode_error": "the image data cannot be decoded (truncated or damaged?)",
    "no_pixels": "the file holds no image (truncated or damaged?)",
    "skipped_modality": "not a radiograph (modality)",
    "skipped_body_part": "not a chest film (body part)",
    "skipped_lateral": "a lateral view (the model reads frontal chest films)",
}


@dataclass
class Outcome:
    """What happened to one file: ``stored`` (``film_id``), ``duplicate`` of ``film_id``, ``refused`` with
    its reason, or ``failed`` (nothing stored for a reason of the room's own; send it again later).
    ``ref``: the file's short content hash, the only name it has in logs and answers."""

    ref: str
    status: str  # 'stored' | 'duplicate' | 'refused' | 'failed'
    reason: str = ""
    film_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "status": self.status, "reason": self.reason, "film_id": self.film_id}


def sniff(head: bytes) -> str | None:
    """``dicom``, ``png`` or ``jpeg`` from a file's first bytes; None for anything else."""
    if len(head) >= SNIFF_BYTES and head[128:132] == b"DICM":
        return "dicom"
    if head.startswith(PNG_MAGIC):
        return "png"
    if head.startswith(JPEG_MAGIC):
        return "jpeg"
    return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header."""
    with open(path, "rb") as fh:
        head = fh.read(24)
    if not head.startswith(PNG_MAGIC) or len(head) < 24:
        raise UserError("the decoded film is not a PNG")
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def header_identities(path: Path) -> list[str]:
    """The identifying values of a DICOM file's header (none where it cannot be read)."""
    try:
        return dataset_identities(pydicom.dcmread(path, stop_before_pixels=True, force=True))
    except Exception:
        return []


def fault_reason(exc: BaseException) -> str | None:
    """The message for a failure that is the room's, not the file's (None for anything else)."""
    text = str(getattr(exc, "orig", exc))
    full = isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
    if full or "disk is full" in text or os.strerror(errno.ENOSPC) in text:
        return (
            "the disk of the room's data folder is full; nothing was stored: free space, then send it again"
        )
    if isinstance(exc, OperationalError) and "locked" in text:
        return (
            "the reading-room database is locked by another process (waited for the busy timeout); "
            "nothing was stored: send it again"
        )
    if isinstance(exc, OperationalError):
        return f"the reading-room database cannot be written ({text}); nothing was stored: send it again"
    if isinstance(exc, OSError):
        return f"the room's data folder cannot be written ({exc.strerror or exc}); nothing was stored"
    return None


class Intake:
    """Takes files into the store; ``on_new()`` is called after each stored film (wakes the worker).
    :meth:`recover` must run once at start, before the first film (``Services.start`` calls it)."""

    def __init__(
        self, store: Store, data: Path, reports: ReportBook, on_new: Callable[[], None] = lambda: None
    ) -> None:
        self.store = store
        self.data = Path(data)
        self.reports = reports
        self.on_new = on_new
        (self.data / INCOMING_DIR).mkdir(parents=True, exist_ok=True)
        self.salt, _ = load_or_create_salt(self.data, None)

    def recover(self) -> Reconciled:
        """Finish or remove what a killed server left half-done (``filing.reconcile``)."""
        return reconcile(self.store, self.data)

    def incoming_path(self) -> Path:
        """A fresh temporary file name in ``DATA/incoming`` for a file being received (emptied at start)."""
        return self.data / INCOMING_DIR / f"{uuid.uuid4().hex}.part"

    def receive(
        self, stream: BinaryIO, source: str, limit: int, report_text: str = "", urgent: bool = False
    ) -> Outcome:
        """Copy an incoming file (at most ``limit`` bytes) under a temporary name, then :meth:`take` it."""
        target = self.incoming_path()
        digest, size = hashlib.sha256(), 0
        try:
            with open(target, "wb") as out:
                for block in iter(lambda: stream.read(CHUNK), b""):
                    size += len(block)
                    if size > limit:
                        break
                    digest.update(block)
                    out.write(block)
        except OSError as exc:
            target.unlink(missing_ok=True)
            return self._log(
                Outcome(digest.hexdigest()[:REF_DIGITS], "failed", fault_reason(exc) or ""), source
            )
        if size > limit:
            target.unlink(missing_ok=True)
            reason = f"larger than the upload limit of {limit / 2**20:.3g} MB"
            return self._log(Outcome(digest.hexdigest()[:REF_DIGITS], "refused", reason), source)
        fault_point("intake.received")
        return self.take(target, source, report_text=report_text or None, urgent=urgent)

    def take(
        self, path: Path, source: str, *, report_text: str | None = None, keep: bool = False,
        urgent: bool = False,
    ) -> Outcome:  # fmt: skip
        """Store one received file (removed afterwards unless ``keep``); never raises for bad input.

        ``report_text``: the film's report, if one came with it (else looked up by accession number in
        ``--reports``); ``urgent``: the model reads it first (a DICOM film may say so itself). The public
        entry point of every way in; see the module's docstring.
        """
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, got {source!r}")
        path = Path(path)
        ref = "?"
        try:
            digest = sha256_file(path)
            ref = digest[:REF_DIGITS]
            outcome = self._take(path, ref, digest, source, report_text, urgent)
        except UserError as exc:
            outcome = Outcome(ref, "refused", str(exc))
        except BusyFilm as exc:
            outcome = Outcome(ref, "failed", f"{exc}; nothing was stored: send it again")
        except Exception as exc:  # a decoder's surprise or a full disk must not take the service down
            reason = fault_reason(exc)
            if reason is not None:
                outcome = Outcome(ref, "failed", reason)
            else:
                log.debug("intake of file %s failed", ref, exc_info=True)
                outcome = Outcome(ref, "refused", f"the file cannot be read ({type(exc).__name__})")
        finally:
            if not keep:
                path.unlink(missing_ok=True)
        if outcome.status == "stored":
            self.on_new()
        return self._log(outcome, source)

    @staticmethod
    def _log(outcome: Outcome, source: str) -> Outcome:
        if outcome.status == "stored":
            log.info("stored film %s (%s, file %s)", outcome.film_id, source, outcome.ref)
        elif outcome.status == "duplicate":
            log.info("duplicate of film %s (%s, file %s)", outcome.film_id, source, outcome.ref)
        else:
            log.warning("%s a file (%s, file %s): %s", outcome.status, source, outcome.ref, outcome.reason)
        return outcome

    def _take(
        self, path: Path, ref: str, digest: str, source: str, report_text: str | None, urgent: bool
    ) -> Outcome:
        with open(path, "rb") as fh:
            kind = sniff(fh.read(SNIFF_BYTES))
        if kind is None:
            return Outcome(
                ref, "refused", "not a DICOM, PNG or JPEG file (judged by its content, not its name)"
            )
        same = self.store.find_duplicate(content_sha256=digest)
        if same is not None:
            return Outcome(ref, "duplicate", "the same file is already on the worklist", same.id)
        if kind == "dicom":
            return self._take_dicom(path, ref, source, digest, report_text, urgent)
        return self._take_picture(path, kind, ref, source, digest, report_text, urgent)

    def _take_dicom(
        self, path: Path, ref: str, source: str, digest: str, report_text: str | None, urgent: bool
    ) -> Outcome:
        work = self.data / INCOMING_DIR / uuid.uuid4().hex
        named = work / "in" / "film.dcm"
        try:
            named.parent.mkdir(parents=True)
            os.link(path, named)
            try:
                with identities(*header_identities(named)):  # scrubbed from any log record meanwhile
                    row = ingest_file(
                        named, work / "out", IngestConfig(keep_full=True), self.salt, root=named.parent,
                        full_depth=True,
                    )  # fmt: skip
                    if not isinstance(row, ErrorRow):  # the viewer's (film_files.py)
                        extras = dicom_extras(work / "out", row, named, self.salt, urgent)
            except UserError as exc:  # ingest could not write its output: the room's trouble, not the film's
                raise OSError(errno.EIO, str(exc)) from exc
            if isinstance(row, ErrorRow):
                reason = INGEST_REASONS.get(row.status, row.status or "refused by ingest")
                return Outcome(ref, "refused", f"{reason}: {row.message}" if row.message else reason)
            fault_point("intake.decoded")
            uid = row.sop_uid or None
            same = self.store.find_duplicate(sop_instance_uid=uid) if uid else None
            if same is not None:
                return Outcome(ref, "duplicate", "this SOP Instance UID is already on the worklist", same.id)
            picture = work / "out" / (row.full_png_path or row.png_path)
            accession = row.accession_number or None
            width, height = png_size(picture)
            files = {"film": picture}
            full_depth = extras.pop("full_depth")
            if full_depth is not None:  # None for a colour film
                files["full_depth"] = full_depth
            fields = FilmFields(
                image_id=row.image_id, source=source, width=width, height=height, sop_instance_uid=uid,
                content_sha256=digest, study_instance_uid=row.study_uid or None, accession=accession,
                **self._report(report_text or self.reports.text(accession)), **extras,
            )  # fmt: skip
            return self._file(files, fields, ref)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _take_picture(
        self, path: Path, kind: str, ref: str, source: str, digest: str, report_text: str | None,
        urgent: bool,
    ) -> Outcome:  # fmt: skip
        ending = {"png": b"IEND\xaeB`\x82", "jpeg": b"\xff\xd9"}[kind]
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - 64))
            if ending not in fh.read():
                raise UserError(
                    f"the {kind.upper()} file is truncated (it does not end as a {kind} file does)"
                )
        named = path.with_suffix(".png" if kind == "png" else ".jpg")
        path.rename(named)
        try:
            read = read_film(named)
        except UserError:
            raise UserError(f"the {kind.upper()} picture cannot be decoded (damaged?)") from None
        finally:
            named.rename(path)
        if read.check is not None and not read.check.ok:
            raise UserError(
                f"not clearly a chest radiograph ({'; '.join(read.check.reasons)}); a picture has no "
                "header that says what it shows, so one that does not look like a radiograph is not "
                "read: send the film as DICOM"
            )
        film = read.image
        ok, buf = cv2.imencode(".png", film)
        if not ok:
            raise UserError("the picture cannot be re-encoded as PNG")
        work = self.data / INCOMING_DIR / f"{uuid.uuid4().hex}.png"
        work.write_bytes(buf.tobytes())
        try:
            fields = FilmFields(
                image_id=f"up-{digest[:20]}", source=source, width=int(film.shape[1]),
                height=int(film.shape[0]), content_sha256=digest, urgent=urgent, **self._report(report_text),
            )  # fmt: skip
            return self._file({"film": work}, fields, ref)
        finally:
            work.unlink(missing_ok=True)

    def _report(self, text: str | None) -> dict[str, Any]:
        """The report's fields of a new film: its text, the labeler's labels and evidence."""
        labels = self.reports.label(text)
        return {
            "report_text": text or None,
            "report_labels": labels[0] if labels else None,
            "report_evidence": labels[1] if labels else None,
        }

    def _file(self, files: dict[str, Path], fields: FilmFields, ref: str) -> Outcome:
        """The store step (``filing.file_film``): the film's files and its fields; a duplicate is told."""
        try:
            record = file_film(self.store, self.data, files, fields)
        except DuplicateFilm as exc:
            return Outcome(ref, "duplicate", "this film is already on the worklist", exc.film_id)
        return Outcome(ref, "stored", "", record.id)
