"""Getting films in: one uploaded or dropped file -> a de-identified PNG under DATA and a queued row.

The kind of file is told by its content (the DICOM preamble ``DICM`` at byte 128, the PNG or JPEG
signature), never by its name, and the file is stored under a generated name, so a name such as
``../../etc/passwd`` only ever appears (sanitised) in a message. DICOM goes through ingest's own
selection, decoding and de-identification (``cxr_regions.ingest.ingest_file``); pictures are read
with ``load_film``. Files are written first under temporary names and moved into place before the
database row is added; any failure removes them, so nothing is half-stored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cxr_regions.errors import UserError
from cxr_regions.serve.film_files import FULL_DEPTH_SUFFIX, dicom_extras
from cxr_regions.serve.reports import ReportBook

log = logging.getLogger("cxr_regions.serve")

FILMS_DIR = "films"
INCOMING_DIR = "incoming"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"
SNIFF_BYTES = 132
CHUNK = 1 << 20
INGEST_REASONS = {
    "not_dicom": "not a DICOM file",
    "unreadable": "the file cannot be read",
    "decode_error": "the image data cannot be decoded",
    "no_pixels": "the file holds no image",
    "skipped_modality": "not a radiograph (modality)",
    "skipped_body_part": "not a chest film (body part)",
    "skipped_lateral": "a lateral view (the model reads frontal chest films)",
}


@dataclass
class Outcome:
    """What happened to one file: stored (``film_id``), recognised as a duplicate, or refused."""

    name: str
    status: str  # 'stored' | 'duplicate' | 'refused'
    reason: str = ""
    film_id: int | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "reason": self.reason, "film_id": self.film_id}


def safe_name(name: str | None) -> str:
    """A file name fit to show and log: its last path part, printable characters, at most 80."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^\w.\- ]", "_", base).strip()
    return cleaned[:80] if cleaned.strip(".") else "unnamed"


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
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Intake:
    """Takes files into the store; ``on_new()`` is called after each stored film (wakes the worker)."""

    def __init__(self, store, data: Path, reports: ReportBook, on_new: Callable[[], None] = lambda: None):
        from cxr_regions.ingest import load_or_create_salt

        self.store = store
        self.data = Path(data)
        self.reports = reports
        self.on_new = on_new
        (self.data / FILMS_DIR).mkdir(parents=True, exist_ok=True)
        incoming = self.data / INCOMING_DIR
        if incoming.is_dir():  # what a killed server was receiving: never stored, so not kept
            shutil.rmtree(incoming)
        incoming.mkdir(parents=True)
        self.salt, _ = load_or_create_salt(self.data, None)

    def incoming_path(self) -> Path:
        """A fresh temporary file name for an upload being received."""
        return self.data / INCOMING_DIR / f"{uuid.uuid4().hex}.part"

    def receive(
        self, stream: BinaryIO, name: str, source: str, limit: int, report_text: str = "",
        urgent: bool = False,
    ) -> Outcome:  # fmt: skip
        """Copy an incoming file (at most ``limit`` bytes) under a temporary name, then :meth:`take` it."""
        target = self.incoming_path()
        size = 0
        with open(target, "wb") as out:
            for block in iter(lambda: stream.read(CHUNK), b""):
                size += len(block)
                if size > limit:
                    break
                out.write(block)
        if size > limit:
            target.unlink(missing_ok=True)
            outcome = Outcome(
                safe_name(name), "refused", f"larger than the upload limit of {limit / 2**20:.3g} MB"
            )
            log.warning("refused %s (%s): %s", outcome.name, source, outcome.reason)
            return outcome
        return self.take(target, name, source, report_text=report_text or None, urgent=urgent)

    def take(
        self, path: Path, name: str, source: str, report_text: str | None = None, keep: bool = False,
        urgent: bool = False,
    ) -> Outcome:  # fmt: skip
        """Store one received file (removed afterwards unless ``keep``; ``urgent``: read first); never
        raises for bad input."""
        shown = safe_name(name)
        try:
            outcome = self._take(Path(path), shown, source, report_text, urgent)
        except UserError as exc:
            outcome = Outcome(shown, "refused", str(exc))
        except Exception as exc:  # a decoder's surprise must not take the service down
            log.exception("intake of %s failed", shown)
            outcome = Outcome(shown, "refused", f"cannot read the file ({type(exc).__name__})")
        finally:
            if not keep:
                Path(path).unlink(missing_ok=True)
        if outcome.status == "refused":
            log.warning("refused %s (%s): %s", outcome.name, source, outcome.reason)
        elif outcome.status == "duplicate":
            log.info("duplicate %s (%s) of film %s", outcome.name, source, outcome.film_id)
        else:
            log.info("stored %s (%s) as film %s", outcome.name, source, outcome.film_id)
            self.on_new()
        return outcome

    def _take(self, path: Path, name: str, source: str, report_text: str | None, urgent: bool) -> Outcome:
        with open(path, "rb") as fh:
            kind = sniff(fh.read(SNIFF_BYTES))
        if kind is None:
            return Outcome(
                name, "refused", "not a DICOM, PNG or JPEG file (judged by its content, not its name)"
            )
        digest = sha256_file(path)
        same = self.store.find_duplicate(content_sha256=digest)
        if same is not None:
            return Outcome(name, "duplicate", "the same file is already on the worklist", same.id)
        if kind == "dicom":
            return self._take_dicom(path, name, source, digest, report_text, urgent)
        return self._take_picture(path, kind, name, source, digest, report_text, urgent)

    def _take_dicom(
        self, path: Path, name: str, source: str, digest: str, report_text: str | None, urgent: bool
    ) -> Outcome:
        from cxr_regions.contracts import ErrorRow
        from cxr_regions.ingest import IngestConfig, ingest_file

        work = self.data / INCOMING_DIR / uuid.uuid4().hex
        named = work / "in" / name
        named.parent.mkdir(parents=True)
        os.link(path, named)
        try:
            # ingest redacts the patient's name and ID from the file name it reports (source_path)
            row = ingest_file(
                named, work / "out", IngestConfig(keep_full=True), self.salt, root=named.parent,
                full_depth=True,
            )  # fmt: skip
            shown = safe_name(row.source_path) if row.source_path else name
            if isinstance(row, ErrorRow):
                reason = INGEST_REASONS.get(row.status, row.status or "refused by ingest")
                return Outcome(shown, "refused", f"{reason}: {row.message}" if row.message else reason)
            uid = row.sop_uid or None
            same = self.store.find_duplicate(sop_instance_uid=uid) if uid else None
            if same is not None:
                return Outcome(
                    shown, "duplicate", "this SOP Instance UID is already on the worklist", same.id
                )
            accession = row.accession_number or None
            return self._store(
                work / "out" / row.full_png_path,
                shown,
                image_id=row.image_id,
                source=source,
                sop_instance_uid=uid,
                content_sha256=digest,
                study_instance_uid=row.study_uid or None,
                accession=accession,
                report_text=report_text or self.reports.text(accession),
                **dicom_extras(work / "out", row, named, self.salt, urgent),  # the viewer's (film_files.py)
            )
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _take_picture(
        self, path: Path, kind: str, name: str, source: str, digest: str, report_text: str | None,
        urgent: bool,
    ) -> Outcome:  # fmt: skip
        import cv2

        from cxr_regions.ingest import load_film

        named = path.with_suffix(".png" if kind == "png" else ".jpg")
        path.rename(named)
        try:
            film = load_film(named)
        finally:
            named.rename(path)
        ok, buf = cv2.imencode(".png", film)
        if not ok:
            raise UserError("the picture cannot be re-encoded as PNG")
        work = self.data / INCOMING_DIR / f"{uuid.uuid4().hex}.png"
        work.write_bytes(buf.tobytes())
        try:
            return self._store(
                work, name, image_id=f"up-{digest[:20]}", source=source, content_sha256=digest,
                report_text=report_text, urgent=urgent,
            )  # fmt: skip
        finally:
            work.unlink(missing_ok=True)

    def _store(
        self, picture: Path, name: str, *, image_id: str, report_text: str | None,
        full_depth: Path | None = None, **row,
    ) -> Outcome:  # fmt: skip
        """Move the PNG (and the full-depth PNG) into ``films/`` under its de-identified id, then add the
        row; undo on failure."""
        import cv2

        from cxr_regions.serve.store import DuplicateFilm

        image = cv2.imread(str(picture), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise UserError("the decoded film cannot be read back")
        height, width = image.shape[:2]
        relative = f"{FILMS_DIR}/{image_id}.png"
        final = self.data / relative
        if final.exists():
            same = self.store.find_duplicate(**{k: row[k] for k in ("sop_instance_uid",) if row.get(k)})
            if same is not None:
                return Outcome(name, "duplicate", "this film is already on the worklist", same.id)
            raise UserError(f"a film named {image_id} is already stored; it is not on the worklist")
        labels = self.reports.label(report_text)
        shutil.move(str(picture), final)
        depth_relative = f"{FILMS_DIR}/{image_id}{FULL_DEPTH_SUFFIX}" if full_depth is not None else None
        try:
            if full_depth is not None:
                shutil.move(str(full_depth), self.data / str(depth_relative))
            record = self.store.add_film(
                image_id=image_id, png_path=relative, width=int(width), height=int(height),
                report_text=report_text or None,
                report_labels=labels[0] if labels else None,
                report_evidence=labels[1] if labels else None,
                full_depth_path=depth_relative,
                **row,
            )  # fmt: skip
        except DuplicateFilm as exc:
            self._remove(final, depth_relative)
            return Outcome(name, "duplicate", "this film is already on the worklist", exc.film_id)
        except BaseException:
            self._remove(final, depth_relative)
            raise
        return Outcome(name, "stored", "", record.id)

    def _remove(self, final: Path, depth_relative: str | None) -> None:
        final.unlink(missing_ok=True)
        if depth_relative:
            (self.data / depth_relative).unlink(missing_ok=True)
