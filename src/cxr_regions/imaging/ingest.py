"""The ``ingest`` stage: a folder tree of DICOM files -> de-identified PNGs, ``images.csv``, ``errors.csv``.

Two passes over the tree, both in worker processes: first every file's header is read (is it DICOM,
is it a frontal chest radiograph, who is the patient -> a salted key), then each kept film is decoded
and written as ``images/<image_id>.png`` (and ``full/<image_id>.png`` with ``keep_full``).

Resumable: every finished film is recorded in ``journal.jsonl`` (by a salted hash of its path, size and
modification time, never the path itself), so a rerun skips those films and retries everything else.
PNGs are written atomically and the tables are written once at the end, so a killed run never leaves
a half file listed. A worker process that crashes (a decoder fault on a hostile file) is replaced; the
film that crashed it is retried alone once and then listed as ``decode_error``.
"""

from __future__ import annotations

import collections
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from cxr_regions.errors import UserError
from cxr_regions.fileio import write_bytes, write_csv, write_json, write_text
from cxr_regions.imageio import png_bytes
from cxr_regions.imaging.decode import (
    DEFAULT_PERCENTILES,
    STATUS_DECODE_ERROR,
    STATUS_NO_PIXELS,
    WINDOWS,
    FilmError,
    decode_display,
    is_dicomdir,
    quantise,
    quiet_pydicom,
    read_dicom,
)
from cxr_regions.imaging.deid import (
    Redactor,
    image_id,
    keyed_hash,
    load_or_create_salt,
    patient_key,
    salt_digest,
)
from cxr_regions.imaging.resize import RESIZE_MODES, pad_square, resize_film
from cxr_regions.imaging.selection import DEFAULT_MODALITIES, select_film

IMAGES_CSV = "images.csv"
ERRORS_CSV = "errors.csv"
JOURNAL = "journal.jsonl"
IMAGES_DIR = "images"
FULL_DIR = "full"
IMAGE_COLUMNS = [
    "image_id",
    "png_path",
    "patient_key",
    "study_uid",
    "series_uid",
    "sop_uid",
    "accession_number",
    "modality",
    "view",
    "rows",
    "columns",
    "bits_stored",
    "photometric",
    "pixel_spacing",
    "source_path",
]
ERROR_COLUMNS = ["source_path", "status", "message"]
ERROR_STATUSES = (
    "unreadable",
    "not_dicom",
    "decode_error",
    "no_pixels",
    "skipped_modality",
    "skipped_body_part",
    "skipped_lateral",
)
_JOURNAL_VERSION = 1


@dataclass
class IngestConfig:
    """Settings of one ingest; those that shape the PNGs must stay the same across resumed runs."""

    size: int = 256
    bit_depth: int = 8
    resize: str = "pad"
    workers: int = 1
    salt_file: Path | None = None
    keep_lateral: bool = False
    keep_full: bool = False
    window: str = "auto"
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES
    modalities: tuple[str, ...] = DEFAULT_MODALITIES

    def validate(self) -> None:
        """Raise :class:`UserError` for a value that cannot work."""
        problems = []
        if self.size < 8:
            problems.append(f"--size must be at least 8, got {self.size}")
        if self.bit_depth not in (8, 16):
            problems.append(f"--bit-depth must be 8 or 16, got {self.bit_depth}")
        if self.resize not in RESIZE_MODES:
            problems.append(f"--resize must be one of {', '.join(RESIZE_MODES)}, got {self.resize!r}")
        if self.workers < 1:
            problems.append(f"--workers must be at least 1, got {self.workers}")
        if self.window not in WINDOWS:
            problems.append(f"--window must be one of {', '.join(WINDOWS)}, got {self.window!r}")
        lo, hi = self.percentiles
        if not 0 <= lo < hi <= 100:
            problems.append(f"percentiles must satisfy 0 <= low < high <= 100, got {self.percentiles}")
        if problems:
            raise UserError("; ".join(problems))

    def fingerprint(self, salt: bytes) -> dict[str, Any]:
        """Everything that shapes the output files: a resumed run must match it."""
        return {
            "version": _JOURNAL_VERSION,
            "size": self.size,
            "bit_depth": self.bit_depth,
            "resize": self.resize,
            "keep_full": self.keep_full,
            "window": self.window,
            "percentiles": [float(p) for p in self.percentiles],
            "salt": salt_digest(salt),
        }


@dataclass
class IngestSummary:
    """What an ingest did: counts, the tables it wrote, and how long it took."""

    out: Path
    images_csv: Path
    errors_csv: Path
    files: int = 0
    films: int = 0
    converted: int = 0
    resumed: int = 0
    patients: int = 0
    without_patient_id: int = 0
    duplicate_sop_uids: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def films_per_second(self) -> float:
        """Films decoded per second of wall time in this run."""
        return self.converted / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class _Context:
    """What a worker needs (picklable): where to read and write, the salt and the settings."""

    root: str
    out: str
    salt: bytes
    config: IngestConfig


def _error(source: str, status: str, message: str) -> dict[str, Any]:
    return {"source_path": source, "status": status, "message": message}


def _scan_file(ctx: _Context, rel: str) -> dict[str, Any]:
    """Read one file's header: an error row, or the film's images.csv row and its journal key."""
    with quiet_pydicom():
        try:
            return _scan_header(ctx, rel)
        except Exception as exc:  # a malformed value met while reading the header's elements
            message = f"cannot read the header's values ({type(exc).__name__})"
            return {"rel": rel, "error": _error(rel, "unreadable", message)}


def _scan_header(ctx: _Context, rel: str) -> dict[str, Any]:
    path = Path(ctx.root, rel)
    try:
        stat = path.stat()
        ds = read_dicom(path, header_only=True)
    except FilmError as exc:
        return {"rel": rel, "error": _error(rel, exc.status, exc.message)}
    except OSError as exc:
        return {"rel": rel, "error": _error(rel, "unreadable", f"cannot open the file ({exc.strerror})")}
    redact = Redactor.from_dataset(ds)
    source = redact(rel)
    if is_dicomdir(path, ds):
        return {
            "rel": rel,
            "error": _error(source, STATUS_NO_PIXELS, "DICOMDIR (an index of the media, no image)"),
        }
    verdict = select_film(ds, tuple(ctx.config.modalities), ctx.config.keep_lateral)
    if verdict.status:
        return {"rel": rel, "error": _error(source, verdict.status, redact(verdict.message))}

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


def _convert_film(ctx: _Context, job: tuple[str, str]) -> dict[str, Any]:
    """Decode one film and write its PNG(s) atomically; returns ``{"rel", "error"?}``."""
    with quiet_pydicom():
        return _convert(ctx, job)


def _convert(ctx: _Context, job: tuple[str, str]) -> dict[str, Any]:
    rel, film_id = job
    config = ctx.config
    path = Path(ctx.root, rel)
    try:
        display, _ = decode_display(path, config.window, tuple(config.percentiles))
        small = resize_film(display.values, config.size, config.resize)
        outputs = {IMAGES_DIR: pad_square(quantise(small, config.bit_depth, display.invert), config.size)}
        if config.keep_full:
            outputs[FULL_DIR] = quantise(display.values, config.bit_depth, display.invert)
        encoded = {folder: png_bytes(image, compression=3) for folder, image in outputs.items()}
    except FilmError as exc:
        status, message = exc.status, exc.message
    except Exception as exc:
        status, message = STATUS_DECODE_ERROR, f"{type(exc).__name__}: {exc}"
    else:
        for folder, data in encoded.items():
            target = Path(ctx.out, folder, f"{film_id}.png")
            try:
                write_bytes(target, data)
            except OSError as exc:
                return {"rel": rel, "fatal": f"cannot write {target}: {exc.strerror or exc}"}
        return {"rel": rel}
    try:
        redact = Redactor.from_dataset(read_dicom(path, header_only=True))
    except FilmError:
        redact = Redactor([])
    return {"rel": rel, "error": _error(redact(rel), status, redact(" ".join(message.split())))}


def _pool_context() -> multiprocessing.context.BaseContext:
    """A fork server where available: workers start from a clean, pre-imported process."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["cxr_regions.imaging.ingest", "pydicom", "pydicom.pixels", "cv2"])
        return ctx
    return multiprocessing.get_context("spawn")


def _init_worker() -> None:
    """One thread per worker process (the parallelism is the processes); Ctrl-C is the parent's job."""
    import signal

    import cv2

    cv2.setNumThreads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Workers:
    """A process pool that survives a worker crash and tells which task caused it."""

    CRASHED = object()

    def __init__(self, count: int) -> None:
        self.count = count
        self._pool: ProcessPoolExecutor | None = None
        self._worked = False
        self._breaks = 0

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc[0] is None, cancel_futures=True)

    def _fresh_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(self.count, mp_context=_pool_context(), initializer=_init_worker)
        return self._pool

    def run(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, fn(item))`` in completion order; ``CRASHED`` for an item that kills a worker.

        When a worker dies, every task then in flight is suspect: each is rerun alone in a fresh pool,
        and the one that kills its worker alone is reported as ``CRASHED``.
        """
        pending = collections.deque(items)
        suspects: collections.deque[Any] = collections.deque()
        inflight: dict[Any, Any] = {}
        while pending or suspects or inflight:
            pool = self._fresh_pool()
            queue, limit = (suspects, 1) if suspects else (pending, 4 * self.count)
            broken = []
            while queue and len(inflight) < limit and not broken:
                item = queue.popleft()
                try:
                    inflight[pool.submit(fn, item)] = item
                except BrokenProcessPool:
                    broken.append(item)
            done = wait(list(inflight), return_when=FIRST_COMPLETED)[0] if inflight and not broken else set()
            for future in done:
                item = inflight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken.append(item)
                    continue
                self._worked = True
                yield item, result
            if broken:
                alone = limit == 1 and len(broken) + len(inflight) == 1
                broken.extend(inflight.pop(f) for f in list(inflight))
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                self._breaks += 1
                if not self._worked and self._breaks >= 3:
                    raise RuntimeError(
                        "the worker processes die before finishing any work; run ingest from the "
                        "cxr-regions command or a script file (not from standard input)"
                    )
                if alone:
                    yield broken[0], self.CRASHED
                else:
                    suspects.extend(broken)


class _Journal:
    """Append-only record of finished films (``{"key", "image_id"}`` lines after a settings header)."""

    def __init__(self, path: Path, fingerprint: dict[str, Any]) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            header = _json_or_none(lines[0]) if lines else None
            previous = (header or {}).get("settings")
            if previous is not None and previous != fingerprint:
                changed = ", ".join(
                    f"{k} {previous.get(k)!r} -> {v!r}"
                    for k, v in fingerprint.items()
                    if previous.get(k) != v
                )
                raise UserError(
                    f"{path.parent} holds an ingest made with other settings ({changed}); use a new output "
                    "folder, or run again with the same settings (and --salt-file) to resume"
                )
            for line in lines[1:]:
                record = _json_or_none(line)
                if isinstance(record, dict) and "key" in record and "image_id" in record:
                    self.entries[record["key"]] = record["image_id"]
        self.fingerprint = fingerprint
        self.rewrite(self.entries)
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the whole run

    def rewrite(self, entries: dict[str, str]) -> None:
        """Atomically replace the journal with ``entries`` (drops torn lines and stale films)."""
        self.entries = dict(entries)
        lines = [json.dumps({"settings": self.fingerprint})]
        lines += [json.dumps({"key": k, "image_id": v}) for k, v in sorted(self.entries.items())]
        write_text(self.path, "\n".join(lines) + "\n")

    def add(self, key: str, film_id: str) -> None:
        self.entries[key] = film_id
        self._fh.write(json.dumps({"key": key, "image_id": film_id}) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


def _json_or_none(line: str) -> Any:
    try:
        return json.loads(line)
    except ValueError:
        return None


def walk_tree(root: Path, exclude: Path | None = None) -> list[str]:
    """Every file under ``root`` (POSIX paths relative to it, sorted), leaving out the folder ``exclude``."""
    root = Path(root)
    skip = exclude.resolve() if exclude is not None else None
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if skip is None or (here / d).resolve() != skip)
        found.extend((here / name).relative_to(root).as_posix() for name in filenames)
    return sorted(found)


def _remove_torn_temporaries(*folders: Path) -> None:
    """Delete temporary files a killed run left behind (``.NAME.XXXX.tmp`` from :mod:`cxr_regions.fileio`)."""
    for folder in folders:
        if folder.is_dir():
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description:<16}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
    )


def ingest(
    dicom_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: IngestConfig | None = None,
    progress: bool = True,
) -> IngestSummary:
    """Ingest a DICOM folder tree into ``out`` (see the module docstring); rerun to resume.

    Workers are separate processes: in a script, call this under ``if __name__ == "__main__":``.
    """
    config = config or IngestConfig()
    config.validate()
    root, out = Path(dicom_dir), Path(out)
    if not root.is_dir():
        raise UserError(f"DICOM folder {root} not found (or not a folder)")
    if out.resolve() == root.resolve():
        raise UserError(
            "the output folder must differ from the DICOM folder (ingest never writes into its input)"
        )
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    (out / IMAGES_DIR).mkdir(exist_ok=True)
    if config.keep_full:
        (out / FULL_DIR).mkdir(exist_ok=True)
    _remove_torn_temporaries(out, out / IMAGES_DIR, out / FULL_DIR)
    salt, _ = load_or_create_salt(out, config.salt_file)
    journal = _Journal(out / JOURNAL, config.fingerprint(salt))
    from cxr_regions.config import save_config

    save_config(config, out / "ingest.yaml", command="ingest")

    ctx = _Context(str(root), str(out), salt, config)
    files = walk_tree(root, exclude=out)
    errors: dict[str, dict[str, Any]] = {}
    films: list[dict[str, Any]] = []
    summary = IngestSummary(
        out=out, images_csv=out / IMAGES_CSV, errors_csv=out / ERRORS_CSV, files=len(files)
    )
    try:
        with _progress(progress) as bar, _Workers(config.workers) as workers:
            task = bar.add_task("reading headers", total=len(files))
            for rel, result in workers.run(partial(_scan_file, ctx), files):
                if result is _Workers.CRASHED:
                    result = {
                        "error": _error(rel, "unreadable", "reading the header crashed the worker process")
                    }
                if "error" in result:
                    errors[rel] = result["error"]
                else:
                    films.append(result)
                bar.advance(task)

            films.sort(key=lambda f: f["rel"])
            seen: collections.Counter[str] = collections.Counter()
            for film in films:
                seen[film["base_id"]] += 1
                n = seen[film["base_id"]]
                film_id = film["base_id"] if n == 1 else f"{film['base_id']}-{n}"
                film["row"]["image_id"] = film_id
                film["row"]["png_path"] = f"{IMAGES_DIR}/{film_id}.png"
            summary.duplicate_sop_uids = sum(1 for n in seen.values() if n > 1)

            def finished(film: dict[str, Any]) -> bool:
                film_id = film["row"]["image_id"]
                return (
                    journal.entries.get(film["key"]) == film_id
                    and (out / IMAGES_DIR / f"{film_id}.png").is_file()
                    and (not config.keep_full or (out / FULL_DIR / f"{film_id}.png").is_file())
                )

            done = {film["rel"] for film in films if finished(film)}
            summary.resumed = len(done)
            by_rel = {film["rel"]: film for film in films}
            jobs = [(f["rel"], f["row"]["image_id"]) for f in films if f["rel"] not in done]
            task = bar.add_task("converting films", total=len(films), completed=len(done))
            for (rel, film_id), result in workers.run(partial(_convert_film, ctx), jobs):
                if result is _Workers.CRASHED:
                    result = {
                        "error": _error(
                            by_rel[rel]["row"]["source_path"],
                            STATUS_DECODE_ERROR,
                            "decoding crashed the worker process",
                        )
                    }
                if "fatal" in result:
                    raise UserError(f"{result['fatal']}; fix this and run again to resume")
                if "error" in result:
                    errors[rel] = result["error"]
                else:
                    journal.add(by_rel[rel]["key"], film_id)
                    done.add(rel)
                    summary.converted += 1
                bar.advance(task)
    finally:
        journal.close()

    import pandas as pd

    kept = [f for f in films if f["rel"] in done]
    images = pd.DataFrame([f["row"] for f in kept], columns=IMAGE_COLUMNS)
    error_rows = pd.DataFrame([errors[rel] for rel in sorted(errors)], columns=ERROR_COLUMNS)
    write_csv(summary.images_csv, images)
    write_csv(summary.errors_csv, error_rows)
    journal.rewrite({f["key"]: f["row"]["image_id"] for f in kept})

    summary.films = len(kept)
    summary.patients = int(images["patient_key"].nunique())
    summary.without_patient_id = sum(1 for f in kept if not f["has_patient_id"])
    summary.errors = dict(collections.Counter(e["status"] for e in errors.values()))
    summary.seconds = time.perf_counter() - started
    write_json(out / "ingest.json", {k: v for k, v in vars(summary).items() if k not in ("out",)})
    return summary
