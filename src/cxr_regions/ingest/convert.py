"""One file through ingest: header -> selection -> patient key -> decode -> de-identified PNG(s).

:func:`scan_file` and :func:`convert_film` are the two halves the batch :func:`~cxr_regions.ingest.tree`
runs in worker processes (all headers first, so duplicate SOP Instance UIDs get distinct ids, then the
pixels); :func:`ingest_file` runs both on one file, for callers that receive films one at a time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cxr_regions.contracts.images import FULL_DIR, IMAGES, IMAGES_DIR, ErrorRow, ImageRow
from cxr_regions.errors import UserError
from cxr_regions.fileio import write_bytes
from cxr_regions.imageio import png_bytes
from cxr_regions.ingest.decode import (
    STATUS_DECODE_ERROR,
    STATUS_NO_PIXELS,
    FilmError,
    decode_display,
    is_dicomdir,
    quantise,
    quiet_pydicom,
    read_dicom,
)
from cxr_regions.ingest.deid import Redactor, image_id, keyed_hash, patient_key
from cxr_regions.ingest.depth import FULL_DEPTH_DIR
from cxr_regions.ingest.depth import full_depth as values_at_full_depth
from cxr_regions.ingest.resize import pad_square, resize_film
from cxr_regions.ingest.selection import select_film
from cxr_regions.ingest.settings import IngestConfig

# Modules the worker processes import once, before any film: those the two halves below need.
WORKER_PRELOAD = ("cxr_regions.ingest.convert", "pydicom", "pydicom.pixels", "cv2")


@dataclass(frozen=True)
class FileContext:
    """What a worker needs (picklable): where to read and write, the salt and the settings."""

    root: str
    out: str
    salt: bytes
    config: IngestConfig
    full_depth: bool = False


def error_row(source: str, status: str, message: str) -> dict[str, Any]:
    """An errors.csv row."""
    return {"source_path": source, "status": status, "message": message}


def scan_file(ctx: FileContext, rel: str) -> dict[str, Any]:
    """Read one file's header: ``{"rel", "error"}``, or the film's images.csv ``row`` and journal ``key``.

    ``row["image_id"]`` and ``row["png_path"]`` are left empty: the batch numbers duplicates of
    ``base_id`` (the salted SOP Instance UID) before filling them in.
    """
    with quiet_pydicom():
        try:
            return _scan_header(ctx, rel)
        except Exception as exc:  # a malformed value met while reading the header's elements
            message = f"cannot read the header's values ({type(exc).__name__})"
            return {"rel": rel, "error": error_row(rel, "unreadable", message)}


def _scan_header(ctx: FileContext, rel: str) -> dict[str, Any]:
    path = Path(ctx.root, rel)
    try:
        stat = path.stat()
        ds = read_dicom(path, header_only=True)
    except FilmError as exc:
        return {"rel": rel, "error": error_row(rel, exc.status, exc.message)}
    except OSError as exc:
        return {"rel": rel, "error": error_row(rel, "unreadable", f"cannot open the file ({exc.strerror})")}
    redact = Redactor.from_dataset(ds)
    source = redact(rel)
    if is_dicomdir(path, ds):
        return {
            "rel": rel,
            "error": error_row(source, STATUS_NO_PIXELS, "DICOMDIR (an index of the media, no image)"),
        }
    verdict = select_film(ds, tuple(ctx.config.modalities), ctx.config.keep_lateral)
    if verdict.status:
        return {"rel": rel, "error": error_row(source, verdict.status, redact(verdict.message))}

    def text(keyword: str) -> str:
        value = ds.get(keyword, None)
        return "" if value is None else str(value).strip()

    sop_uid, study_uid = text("SOPInstanceUID"), text("StudyInstanceUID")
    pid = str(ds.get("PatientID", "") or "").strip()
    if pid:
        key = patient_key(ctx.salt, pid)
    else:
        key = keyed_hash(ctx.salt, f"study:{study_uid}" if study_uid else f"file:{rel}")
    spacing = ds.get("PixelSpacing", None) or ds.get("ImagerPixelSpacing", None)
    row = {
        "image_id": "",
        "png_path": "",
        "patient_key": key,
        "study_uid": study_uid,
        "series_uid": text("SeriesInstanceUID"),
        "sop_uid": sop_uid,
        "accession_number": text("AccessionNumber"),
        "modality": verdict.modality,
        "view": verdict.view,
        "rows": int(ds.get("Rows", 0) or 0),
        "columns": int(ds.get("Columns", 0) or 0),
        "bits_stored": int(ds.get("BitsStored", 0) or 0),
        "photometric": text("PhotometricInterpretation"),
        "pixel_spacing": "\\".join(f"{float(v):g}" for v in spacing) if spacing else "",
        "source_path": source,
    }
    return {
        "rel": rel,
        "row": row,
        "base_id": image_id(ctx.salt, sop_uid or f"path:{rel}"),
        "key": keyed_hash(ctx.salt, f"file:{rel}\0{stat.st_size}\0{stat.st_mtime_ns}"),
        "has_patient_id": bool(pid),
    }


def convert_film(ctx: FileContext, job: tuple[str, str]) -> dict[str, Any]:
    """Decode film ``job = (rel, image_id)`` and write its PNG(s) atomically.

    Returns ``{"rel"}`` when written, ``{"rel", "error"}`` for a film that cannot be decoded, and
    ``{"rel", "fatal"}`` when the output folder cannot be written (the caller's problem, not the film's).
    """
    with quiet_pydicom():
        return _convert(ctx, job)


def _convert(ctx: FileContext, job: tuple[str, str]) -> dict[str, Any]:
    rel, film_id = job
    config = ctx.config
    path = Path(ctx.root, rel)
    reduce_for = None if ctx.full_depth else config.reduce_for
    low, high = config.percentiles  # two (checked by IngestConfig)
    try:
        display, ds = decode_display(path, config.window, (low, high), reduce_for, config.reduce_jpeg2000)
        small = resize_film(display.values, config.size, config.resize)
        outputs = {IMAGES_DIR: pad_square(quantise(small, config.bit_depth, display.invert), config.size)}
        if config.keep_full:
            outputs[FULL_DIR] = quantise(display.values, config.bit_depth, display.invert)
        encoded = {f"{d}/{film_id}.png": png_bytes(image, compression=3) for d, image in outputs.items()}
        if ctx.full_depth and display.window != "colour":
            depth = values_at_full_depth(ds, display.stored)
            encoded[f"{FULL_DEPTH_DIR}/{film_id}.png"] = depth.png_bytes()
            encoded[f"{FULL_DEPTH_DIR}/{film_id}.json"] = json.dumps(depth.header()).encode()
    except FilmError as exc:
        status, message = exc.status, exc.message
    except Exception as exc:
        status, message = STATUS_DECODE_ERROR, f"{type(exc).__name__}: {exc}"
    else:
        for name, data in encoded.items():
            target = Path(ctx.out, name)
            try:
                write_bytes(target, data)
            except OSError as exc:
                return {"rel": rel, "fatal": f"cannot write {target}: {exc.strerror or exc}"}
        return {"rel": rel}
    try:
        redact = Redactor.from_dataset(read_dicom(path, header_only=True))
    except FilmError:
        redact = Redactor([])
    return {"rel": rel, "error": error_row(redact(rel), status, redact(" ".join(message.split())))}


def init_worker() -> None:
    """One thread per worker process (the parallelism is the processes); Ctrl-C is the parent's job."""
    import signal

    import cv2

    cv2.setNumThreads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ingest_file(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    config: IngestConfig | None,
    salt: bytes,
    *,
    root: str | os.PathLike[str] | None = None,
    full_depth: bool = False,
) -> ImageRow | ErrorRow:
    """Ingest one file into ``out_dir`` exactly as :func:`~cxr_regions.ingest.tree` does each file.

    Returns the film's images.csv row, an :class:`~cxr_regions.contracts.ImageRow` (``png_path``
    relative to ``out_dir``; with ``config.keep_full`` the full-resolution PNG is at its
    ``full_png_path``); or, for a file that is skipped or cannot be read or decoded, its errors.csv
    row, an :class:`~cxr_regions.contracts.ErrorRow` (``status`` such as ``skipped_modality`` or
    ``decode_error``, and ``message``). ``row.ok`` tells them apart. Bad input never raises; an output
    folder that cannot be written raises :class:`UserError`.

    ``salt`` is the hospital's salt as :func:`~cxr_regions.ingest.deid.load_or_create_salt` returns it.
    ``image_id`` is derived from the SOP Instance UID with ``salt`` (as in the batch, where only a
    second file with the same UID gets a ``-2`` suffix); ``source_path`` is ``path`` relative to
    ``root`` (default: its folder), redacted of the patient's name and ID. Runs in this process: a
    decoder that crashes the process is isolated only by the batch's worker pool.

    ``full_depth``: also the film at its own bit depth for a viewer, ``full16/<image_id>.png`` and
    ``full16/<image_id>.json`` (:func:`~cxr_regions.ingest.full_depth`; none for a colour film).
    """
    config = config or IngestConfig()
    config.validate()
    if len(salt) < 16:
        raise UserError("ingest_file needs the hospital's salt (at least 16 bytes, from load_or_create_salt)")
    path, out = Path(path), Path(out_dir)
    base = Path(root) if root is not None else path.parent
    rel = path.relative_to(base).as_posix()
    ctx = FileContext(str(base), str(out), salt, config, full_depth)
    scanned = scan_file(ctx, rel)
    if "error" in scanned:
        return ErrorRow(**scanned["error"])
    film_id = scanned["base_id"]
    folders = [IMAGES_DIR] + [FULL_DIR] * config.keep_full + [FULL_DEPTH_DIR] * full_depth
    for folder in folders:
        try:
            (out / folder).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create {out / folder}: {exc.strerror or exc}") from exc
    converted = convert_film(ctx, (rel, film_id))
    if "fatal" in converted:
        raise UserError(converted["fatal"])
    if "error" in converted:
        return ErrorRow(**converted["error"])
    return IMAGES.row_of({**scanned["row"], "image_id": film_id, "png_path": f"{IMAGES_DIR}/{film_id}.png"})
