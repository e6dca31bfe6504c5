"""The ``ingest`` stage: a folder tree of DICOM files -> de-identified PNGs, ``images.csv``, ``errors.csv``.

Two passes over the tree, both in worker processes: first every file's header is read (is it DICOM,
is it a frontal chest radiograph, who is the patient -> a salted key), then each kept film is decoded
and written as ``images/<image_id>.png`` (and ``full/<image_id>.png`` with ``keep_full``).

Resumable: every finished film is recorded in ``journal.jsonl`` (by a salted hash of its path, size and
modification time, never the path itself), so a rerun skips those films and retries everything else.
PNGs are written atomically and the tables are written once at the end, so a killed run never leaves
a half file listed. A worker process that crashes (a decoder fault on a hostile file) is replaced; the
film that crashed it is retried alone once and then listed as ``decode_error``.

Each file goes through :mod:`cxr_regions.ingest.convert` (also usable one file at a time, as
:func:`~cxr_regions.ingest.convert.ingest_file`); the pool is :mod:`~cxr_regions.ingest.workers`
(``engine="local"``) or a Dask cluster (``engine="dask"``, :mod:`~cxr_regions.ingest.engine`: the same
files, the journal and tables still written here, once); the journal is
:mod:`~cxr_regions.ingest.journal`, the settings and table columns :mod:`~cxr_regions.ingest.settings`.
"""

from __future__ import annotations

import collections
import os
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from cxr_regions.contracts.images import ERRORS, FULL_DIR, IMAGES, IMAGES_DIR
from cxr_regions.errors import UserError
from cxr_regions.fileio import write_json
from cxr_regions.ingest.convert import (
    WORKER_PRELOAD,
    FileContext,
    convert_film,
    error_row,
    init_worker,
    scan_file,
)
from cxr_regions.ingest.decode import STATUS_DECODE_ERROR
from cxr_regions.ingest.deid import load_or_create_salt
from cxr_regions.ingest.engine import open_engine
from cxr_regions.ingest.journal import Journal
from cxr_regions.ingest.settings import ERROR_STATUSES, JOURNAL, IngestConfig
from cxr_regions.ingest.workers import Workers
from cxr_regions.progress import progress_bar

__all__ = [
    "ERROR_STATUSES",
    "JOURNAL",
    "IngestConfig",
    "IngestSummary",
    "ingest",
    "walk_tree",
]


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


def walk_tree(root: Path, exclude: Path | None = None) -> list[str]:
    """Every file under ``root`` (POSIX paths relative to it, sorted), leaving out the folder ``exclude``."""
    root = Path(root)
    skip = exclude.resolve() if exclude is not None else None
    found: list[str] = []
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
    journal = Journal(out / JOURNAL, config.fingerprint(salt))
    from cxr_regions.configfile import save_config

    save_config(config, out / "ingest.yaml", command="ingest")

    ctx = FileContext(str(root), str(out), salt, config)
    files = walk_tree(root, exclude=out)
    errors: dict[str, dict[str, Any]] = {}
    films: list[dict[str, Any]] = []
    summary = IngestSummary(
        out=out, images_csv=IMAGES.path_in(out), errors_csv=ERRORS.path_in(out), files=len(files)
    )
    try:
        pool = open_engine(config.engine, config.workers, config.scheduler, WORKER_PRELOAD, init_worker)
        with progress_bar(progress) as bar, pool as workers:
            task = bar.add_task("reading headers", total=len(files))
            for rel, result in workers.run(partial(scan_file, ctx), files):
                if result is Workers.CRASHED:
                    result = {
                        "error": error_row(rel, "unreadable", "reading the header crashed the worker process")
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
            for (rel, film_id), result in workers.run(partial(convert_film, ctx), jobs):
                if result is Workers.CRASHED:
                    result = {
                        "error": error_row(
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
    images = pd.DataFrame([f["row"] for f in kept], columns=IMAGES.columns())
    IMAGES.write(summary.images_csv, images)
    ERRORS.write(
        summary.errors_csv, pd.DataFrame([errors[rel] for rel in sorted(errors)], columns=ERRORS.columns())
    )
    journal.rewrite({f["key"]: f["row"]["image_id"] for f in kept})
    _remove_torn_temporaries(out / IMAGES_DIR, out / FULL_DIR)  # of a worker killed while writing

    summary.films = len(kept)
    summary.patients = int(images["patient_key"].nunique())
    summary.without_patient_id = sum(1 for f in kept if not f["has_patient_id"])
    summary.errors = dict(collections.Counter(e["status"] for e in errors.values()))
    summary.seconds = time.perf_counter() - started
    write_json(out / "ingest.json", {k: v for k, v in vars(summary).items() if k not in ("out",)})
    return summary
