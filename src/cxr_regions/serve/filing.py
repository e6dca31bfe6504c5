"""Filing a film: the one crash-safe step that puts a decoded film into ``DATA/films`` and on the worklist,
and the pass at start-up that finishes or removes what a killed server left half-done.

Every way in (upload, ``--watch``, the PACS link, DICOM C-STORE) ends in :func:`file_film`, in this order,
so that a kill at any instant leaves either no trace or a complete film:

1. the film's row is committed with status ``receiving`` (taking its unique SOP Instance UID, content hash
   and image id, so two copies arriving at once cannot both be filed); no page shows such a row;
2. each of its files is written under a temporary name in ``DATA/films``, fsynced, renamed to its final
   name, and the folder fsynced;
3. the row is set ``queued`` in one transaction: from then on it is on the worklist.

Anything that fails on the way removes the files and the row again. A kill cannot run that cleanup, so
:func:`reconcile` (run before the server takes requests) finishes a ``receiving`` row whose files are all
in place, removes one whose files are not, and removes files no row owns. The heatmap cache is written the
same way (:func:`write_durably`); a torn cache entry is recomputed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import delete, select, update

from cxr_regions.errors import UserError
from cxr_regions.serve.faults import fault_point
from cxr_regions.serve.film_files import FULL_DEPTH_SUFFIX, PREVIEW_DIR
from cxr_regions.serve.records import FilmRecord
from cxr_regions.serve.schema import Film
from cxr_regions.serve.store import DuplicateFilm, Store

log = logging.getLogger("cxr_regions.serve")

FILMS_DIR = "films"
INCOMING_DIR = "incoming"
HEATMAPS_DIR = "overlays"  # per-region colours (the jet-coloured "heatmaps" cache of older rooms is unused)
# A film's files in DATA/films, by role: ``{image_id}{suffix}``. A new kind of file gets a role here (the
# row keeps its path in a column of its own, as ``png_path``), and reconcile() then knows it too.
# "full_depth": the film at its own bit depth (a DICOM film; not a colour one, not a picture).
FILE_SUFFIXES: dict[str, str] = {"film": ".png", "full_depth": FULL_DEPTH_SUFFIX}
TEMPORARY_SUFFIX = ".part"
PNG_END = b"IEND\xaeB`\x82"
SETTLE_SECONDS = 30.0
CHUNK = 1 << 20


class DataLock:
    """One server per data folder: an exclusive ``flock`` on ``DATA/serve.lock`` for the server's life
    (the kernel drops it when the process dies, however it dies). A second server on the same folder
    would take the first one's films in flight for half-done work and remove them."""

    NAME = "serve.lock"

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle

    @classmethod
    def take(cls, data: Path) -> DataLock:
        Path(data).mkdir(parents=True, exist_ok=True)
        handle = open(Path(data) / cls.NAME, "a+")  # noqa: SIM115 (held open for the server's life)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise UserError(
                f"another cxr-regions serve (process {holder}) is using the data folder {data}; "
                "stop it first, or give this one another --data"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        return cls(handle)

    def release(self) -> None:
        self.handle.close()


class BusyFilm(Exception):
    """The same film is being filed by another request right now and did not settle in time."""


@dataclass(frozen=True)
class FilmFields:
    """Everything the ``films`` row of a new film holds, de-identified (ingest's image id, UIDs, the
    accession number, the report and its labels, the salted patient key and shifted study day, the
    full-depth header, urgent or not). ``source``: upload, watch, demo, pacs or dicom."""

    image_id: str
    source: str
    width: int
    height: int
    sop_instance_uid: str | None = None
    content_sha256: str | None = None
    study_instance_uid: str | None = None
    accession: str | None = None
    report_text: str | None = None
    report_labels: dict[str, str] | None = None
    report_evidence: str | None = None
    depth: dict[str, Any] | None = None
    patient_key: str | None = None
    study_day: int | None = None
    urgent: bool = False


def film_file(image_id: str, role: str = "film") -> str:
    """The path, relative to DATA, of one of a film's files."""
    return f"{FILMS_DIR}/{image_id}{FILE_SUFFIXES[role]}"


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(source: Path | bytes, final: Path, fault: str | None = None) -> None:
    """Write ``source`` (a file or bytes) to ``final``: under a temporary name beside it, fsynced, renamed,
    the folder fsynced. A kill leaves either the old state or the whole file (and perhaps a ``.part``).
    ``fault``: the fault point between the fsync and the rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}{TEMPORARY_SUFFIX}")
    try:
        with open(temporary, "xb") as out:
            if isinstance(source, bytes):
                out.write(source)
            else:
                with open(source, "rb") as fh:
                    shutil.copyfileobj(fh, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        if fault:
            fault_point(fault)
        os.replace(temporary, final)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(final.parent)


def file_film(store: Store, data: Path, files: Mapping[str, Path], fields: FilmFields) -> FilmRecord:
    """File one decoded film: ``files`` maps a role of :data:`FILE_SUFFIXES` to the file to copy in.

    Returns the ``queued`` film. ``DuplicateFilm`` if the film (SOP Instance UID, content hash or image id)
    is already filed; ``BusyFilm`` if the same film is being filed by another request and does not settle
    within ``SETTLE_SECONDS``; an ``OSError`` or a database error leaves nothing behind.
    """
    unknown = sorted(set(files) - set(FILE_SUFFIXES))
    if "film" not in files or unknown:
        raise ValueError(f"file_film needs a 'film' file and knows the roles {', '.join(FILE_SUFFIXES)}")
    film_id = _begin(store, fields, has_full_depth="full_depth" in files)
    placed: list[Path] = []
    try:
        fault_point("intake.row_added")
        for role, source in files.items():
            final = Path(data) / film_file(fields.image_id, role)
            fault_point("intake.write_film")
            placed.append(final)
            write_durably(Path(source), final, fault="intake.file_written")
        fault_point("intake.file_renamed")
        record = _finish(store, film_id)
    except BaseException:
        for path in placed:
            path.unlink(missing_ok=True)
        _forget(store, film_id)
        raise
    fault_point("intake.queued")
    return record


def _begin(store: Store, fields: FilmFields, has_full_depth: bool) -> int:
    """Commit the row as ``receiving``; wait while a twin of it is being filed by another request."""
    deadline = time.monotonic() + SETTLE_SECONDS
    full_depth = film_file(fields.image_id, "full_depth") if has_full_depth else None
    while True:
        try:
            return store.add_film(
                **asdict(fields), png_path=film_file(fields.image_id), full_depth_path=full_depth,
                status="receiving",
            ).id  # fmt: skip
        except DuplicateFilm as exc:
            if not exc.receiving:
                raise
            if time.monotonic() > deadline:
                raise BusyFilm(f"film {exc.film_id} is being received right now") from None
            time.sleep(0.05)


def _finish(store: Store, film_id: int) -> FilmRecord:
    with store._write() as session:
        session.execute(
            update(Film).where(Film.id == film_id, Film.status == "receiving").values(status="queued")
        )
        return FilmRecord.of(store._get(session, film_id))


def _forget(store: Store, film_id: int) -> None:
    """Remove a ``receiving`` row after a failure (best effort: reconcile() removes it otherwise)."""
    try:
        with store._write() as session:
            session.execute(delete(Film).where(Film.id == film_id, Film.status == "receiving"))
    except Exception:
        log.warning("could not remove the half-filed film %s now; the next start removes it", film_id)


# --- at start ------------------------------------------------------------------------------------------


@dataclass
class Reconciled:
    """What :func:`reconcile` did, by kind (all zero after a clean stop)."""

    finished: int = 0
    removed_rows: int = 0
    orphan_files: int = 0
    temporary_files: int = 0
    missing_files: int = 0
    heatmaps: int = 0
    previews: int = 0

    def summary(self) -> str:
        parts = [
            (self.finished, "half-filed film(s) finished (their files were complete)"),
            (self.removed_rows, "half-filed film(s) removed (files incomplete; taken when sent again)"),
            (self.orphan_files, "film file(s) without a row removed"),
            (self.temporary_files, "temporary file(s) removed"),
            (self.missing_files, "film(s) whose file is missing (removed by hand?), left to fail"),
            (self.heatmaps, "heatmap cache entries of removed films or half-written removed"),
            (self.previews, "first-frame previews of removed films or half-written removed"),
        ]  # fmt: skip
        return "; ".join(f"{n} {what}" for n, what in parts if n)


def reconcile(store: Store, data: Path) -> Reconciled:
    """Finish or remove what a killed server left half-done, in both directions; log what it did.

    Run once at start, before any request or the worker: ``DATA/incoming`` is emptied; a ``receiving``
    row is finished (set ``queued``) when all its files are in place, else removed with them; files in
    ``DATA/films`` that no row owns and temporary files are removed; so are the heatmaps and first-frame
    previews of films that are gone (or removed here), and half-written ones. Films on the worklist
    whose file has gone (the filing order never leaves one; someone removed it) are counted and left to
    the worker, which marks them failed.
    """
    data = Path(data)
    done = Reconciled()
    incoming = data / INCOMING_DIR
    if incoming.is_dir():  # what a killed server was receiving: never filed, so not kept
        shutil.rmtree(incoming)
    incoming.mkdir(parents=True)
    films = data / FILMS_DIR
    films.mkdir(parents=True, exist_ok=True)
    for path in films.iterdir():
        if path.is_file() and path.name.startswith(".") and path.name.endswith(TEMPORARY_SUFFIX):
            path.unlink()
            done.temporary_files += 1
    with store._read() as session:
        rows = session.execute(select(Film.id, Film.image_id, Film.status, Film.full_depth_path)).all()
    owned: set[str] = set()
    forgotten: set[str] = set()
    for film_id, image_id, status, full_depth in rows:
        paths = [data / film_file(image_id)] + ([data / full_depth] if full_depth else [])
        owned |= {p.name for p in paths}
        if status == "receiving":
            if all(p.is_file() for p in paths):
                _finish(store, film_id)
                done.finished += 1
            else:
                for path in paths:
                    path.unlink(missing_ok=True)
                _forget(store, film_id)
                forgotten.add(image_id)
                done.removed_rows += 1
        elif not paths[0].is_file():
            done.missing_files += 1
    for path in films.iterdir():
        if path.is_file() and path.name not in owned:
            path.unlink()
            done.orphan_files += 1
    kept = {row.image_id for row in rows} - forgotten
    done.heatmaps = _reconcile_heatmaps(data / HEATMAPS_DIR, kept)
    done.previews = _reconcile_previews(data / PREVIEW_DIR, kept)
    if any(vars(done).values()):
        log.warning("reconciled the data folder at start: %s", done.summary())
    return done


def _reconcile_heatmaps(folder: Path, image_ids: set[str]) -> int:
    """Remove the heatmaps of films that are gone and temporary files (a torn PNG is found, and
    recomputed, when it is asked for: ``is_complete_png``)."""
    removed = 0
    for entry in folder.iterdir() if folder.is_dir() else []:
        if entry.is_dir() and entry.name not in image_ids:
            shutil.rmtree(entry)
            removed += 1
        elif entry.is_dir():
            for path in entry.iterdir():
                if path.name.startswith("."):
                    path.unlink()
                    removed += 1
    return removed


def _reconcile_previews(folder: Path, image_ids: set[str]) -> int:
    """Remove the first-frame previews (``IMAGE_ID.jpg``) of films that are gone and temporary files."""
    removed = 0
    for path in folder.iterdir() if folder.is_dir() else []:
        if path.is_file() and (path.name.startswith(".") or path.stem not in image_ids):
            path.unlink()
            removed += 1
    return removed


def is_complete_png(path: Path) -> bool:
    """Whether ``path`` is a whole PNG (its signature at the start, its IEND chunk at the end)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
            fh.seek(max(0, path.stat().st_size - len(PNG_END)))
            return head == b"\x89PNG\r\n\x1a\n" and fh.read() == PNG_END
    except OSError:
        return False
