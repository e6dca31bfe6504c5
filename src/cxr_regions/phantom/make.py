"""The ``phantom`` command's work: a folder of phantom films exported as a hospital would export them.

Writes ``dicom/`` (nested, some files without extension), ``reports.csv`` (GB18030) and
``reports.xlsx`` keyed by accession number, ``truth.csv``, ``masks/<film_id>.npz`` and
``phantom.json`` (docs/data-contracts.md). Each film draws from its own seed sequence
``(seed, film index)``, so the output is byte-identical for a seed, with any number of workers.
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import zipfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd

from cxr_regions import __version__
from cxr_regions.configfile import to_dict
from cxr_regions.contracts.names import TRUTH_CSV
from cxr_regions.contracts.phantom_files import TRUTH
from cxr_regions.errors import UserError
from cxr_regions.fileio import atomic_path, remove_outputs, write_bytes, write_csv, write_json
from cxr_regions.phantom.dicom_export import (
    PHANTOM_NOTE,
    FilmMeta,
    available_transfer_syntaxes,
    dicom_bytes,
    make_uid,
    sample_style,
)
from cxr_regions.phantom.phantom_config import PhantomConfig
from cxr_regions.phantom.preview import contact_sheet
from cxr_regions.phantom.render import render_film
from cxr_regions.phantom.report_writer import write_report
from cxr_regions.phantom.truth import sample_truth
from cxr_regions.progress import progress_bar
from cxr_regions.regions import NORMAL, REGION_KEYS, label_string

OWNED = ("dicom", "masks", "reports.csv", "reports.xlsx", TRUTH_CSV, "phantom.json", "preview.png")
PREVIEW_FILMS = 16
_FIXED_TIME = _dt.datetime(2020, 1, 1)


@dataclass
class PhantomSummary:
    """What ``make_phantom`` wrote."""

    out: Path
    films: int
    patients: int
    abnormal_films: int
    abnormal_per_region: dict[str, int]
    uncertain_per_region: dict[str, int]
    transfer_syntaxes: dict[str, int]
    preview: Path | None = None


@dataclass(frozen=True)
class _Patient:
    index: int
    patient_id: str
    name: str
    sex: str
    birth: _dt.date
    first_study: _dt.date
    layout: int


@dataclass(frozen=True)
class _Job:
    index: int
    patient: _Patient
    visit: int
    study_date: _dt.date
    config: PhantomConfig
    out: Path
    syntaxes: tuple[str, ...]


def _plan(config: PhantomConfig) -> list[tuple[_Patient, int, _dt.date]]:
    """Films grouped into patients (1-3 films each, months apart)."""
    rng = np.random.default_rng([config.seed, 1])
    plan: list[tuple[_Patient, int, _dt.date]] = []
    p = 0
    while len(plan) < config.n:
        prng = np.random.default_rng([config.seed, 2, p])
        birth = _dt.date(int(prng.integers(1935, 2000)), int(prng.integers(1, 13)), int(prng.integers(1, 29)))
        first = _dt.date(2021, 1, 1) + _dt.timedelta(days=int(prng.integers(0, 700)))
        patient = _Patient(
            index=p,
            patient_id=f"PH{config.seed % 10000:04d}{p:06d}",
            name=f"PHANTOM^P{p:05d}",
            sex="F" if prng.random() < 0.5 else "M",
            birth=birth,
            first_study=first,
            layout=int(prng.integers(0, 2)),
        )
        count = int(rng.choice([1, 2, 3], p=[0.6, 0.25, 0.15]))
        date = first
        for visit in range(min(count, config.n - len(plan))):
            plan.append((patient, visit, date))
            date += _dt.timedelta(days=int(prng.integers(20, 400)))
        p += 1
    return plan


def _dicom_path(job: _Job, accession: str, sop_uid: str, extension: str) -> str:
    """Nested folders as PACS exports write them (never the patient's ID or name)."""
    d = job.study_date
    if job.patient.layout == 0:
        return f"dicom/DICOM/PA{job.patient.index:06d}/ST{job.visit:06d}/SE000001/IM000001"
    return f"dicom/{d:%Y}/{d:%m%d}/{accession}/{sop_uid.rsplit('.', 1)[-1][-12:]}{extension}"


def _make_film(job: _Job) -> tuple[dict[str, Any], dict[str, Any], np.ndarray | None]:
    """Render, describe and export one film; return its truth row, report row and a thumbnail."""
    cfg = job.config
    rng_truth, rng_film, rng_report, rng_dicom = (
        np.random.default_rng(s) for s in np.random.SeedSequence([cfg.seed, 3, job.index]).spawn(4)
    )
    truth = sample_truth(rng_truth, cfg.prevalence)
    view = "AP" if rng_film.random() < cfg.ap_share else "PA"
    film = render_film(rng_film, truth, cfg.size, view=view, sex=job.patient.sex)
    findings, impression = write_report(rng_report, truth, film.findings)
    style = sample_style(rng_dicom, list(job.syntaxes))

    film_id = f"phantom-{cfg.seed}-{job.index:05d}"
    accession = f"A{cfg.seed % 10000:04d}{job.index:07d}"
    age = job.study_date.year - job.patient.birth.year
    meta = FilmMeta(
        patient_id=job.patient.patient_id,
        patient_name=job.patient.name,
        sex=job.patient.sex,
        birth_date=f"{job.patient.birth:%Y%m%d}",
        age=age,
        accession_number=accession,
        study_date=f"{job.study_date:%Y%m%d}",
        study_time="".join(f"{int(rng_dicom.integers(0, top)):02d}" for top in (24, 60, 60)),
        study_uid=make_uid(cfg.seed, "study", job.index),
        series_uid=make_uid(cfg.seed, "series", job.index),
        sop_uid=make_uid(cfg.seed, "instance", job.index),
        view=view,
    )
    rel = _dicom_path(job, accession, meta.sop_uid, style.extension)
    write_bytes(job.out / rel, dicom_bytes(film.image, meta, style))
    with atomic_path(job.out / "masks" / f"{film_id}.npz") as tmp, tmp.open("wb") as fh:
        # numpy's stubs read **arrays as if a key could be its allow_pickle flag
        np.savez_compressed(fh, **film.masks)  # type: ignore[arg-type]

    description = "; ".join(
        f"{f.region}:{f.kind}" + (f"/{f.side}" if f.side else "") + (f"/{f.zone}" if f.zone else "")
        for f in film.findings
    )
    truth_row = {
        "film_id": film_id,
        "accession_number": accession,
        "patient_id": job.patient.patient_id,
        **truth,
        "label_string": label_string(truth),
        "view": view,
        "dicom_path": rel,
        "description": description,
        "_syntax": style.transfer_syntax,
    }
    report_row = {"accession_number": accession, "findings": findings, "impression": impression}
    thumb = None
    if job.index < PREVIEW_FILMS:
        small = cv2.resize(film.image, (256, 256), interpolation=cv2.INTER_AREA)
        thumb = np.rint(small * 255).astype(np.uint8)
    return truth_row, report_row, thumb


def _deterministic_xlsx(frame: pd.DataFrame) -> bytes:
    """XLSX bytes without the time of writing (openpyxl stamps the document and its zip entries)."""
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False, engine="openpyxl")
    src = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    stamp = _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    rf"\g<1>{stamp}\g<3>",
                    data.decode(),
                )
                data = text.encode()
            entry = zipfile.ZipInfo(info.filename, date_time=_FIXED_TIME.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)
    return out.getvalue()


def _prepare(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; the phantom needs a folder")
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise UserError(
                f"{out} is not empty; choose a new folder or pass --overwrite to replace a phantom there"
            )
        remove_outputs(out, OWNED)
    out.mkdir(parents=True, exist_ok=True)


def make_phantom(out: Path, config: PhantomConfig) -> PhantomSummary:
    """Write a phantom data set to ``out`` (see the module docstring)."""
    if config.n < 1:
        raise UserError(f"--n must be at least 1, got {config.n}")
    if not 64 <= config.size <= 4096:
        raise UserError(f"--size must lie between 64 and 4096 pixels, got {config.size}")
    out = Path(out)
    _prepare(out, config.overwrite)
    syntaxes = tuple(available_transfer_syntaxes())
    jobs = [
        _Job(i, pat, visit, date, config, out, syntaxes) for i, (pat, visit, date) in enumerate(_plan(config))
    ]

    results: list[tuple[dict[str, Any], dict[str, Any], np.ndarray | None]] = []
    with progress_bar(config.progress) as bar:
        task = bar.add_task("phantom films", total=len(jobs))
        if config.workers > 1:
            with ProcessPoolExecutor(config.workers) as pool:
                for result in pool.map(_make_film, jobs, chunksize=4):
                    results.append(result)
                    bar.advance(task)
        else:
            for job in jobs:
                results.append(_make_film(job))
                bar.advance(task)

    truth = pd.DataFrame([r[0] for r in results])
    syntax_counts = Counter(truth.pop("_syntax"))
    reports = pd.DataFrame([r[1] for r in results])
    TRUTH.write(out, truth, REGION_KEYS)
    write_csv(out / "reports.csv", reports, encoding="gb18030")
    write_bytes(out / "reports.xlsx", _deterministic_xlsx(reports))

    preview = None
    if config.preview:
        thumbs = [(r[2], r[0]) for r in results if r[2] is not None]
        captions = [f"{row['label_string']} {row['view']} {row['film_id'][-5:]}" for _, row in thumbs]
        preview = out / "preview.png"
        contact_sheet([t for t, _ in thumbs], captions, preview)

    values = truth[list(REGION_KEYS)]
    summary = PhantomSummary(
        out=out,
        films=len(truth),
        patients=int(truth["patient_id"].nunique()),
        abnormal_films=int((values != NORMAL).any(axis=1).sum()),
        abnormal_per_region={k: int((values[k] != NORMAL).sum()) for k in REGION_KEYS},
        uncertain_per_region={k: int((values[k] == "u").sum()) for k in REGION_KEYS},
        transfer_syntaxes=dict(sorted(syntax_counts.items())),
        preview=preview,
    )
    write_json(
        out / "phantom.json",
        {
            "what": "cxr-regions phantom: synthetic chest films, reports and ground truth",
            "note": PHANTOM_NOTE,
            "cxr_regions_version": __version__,
            "config": {
                k: v for k, v in to_dict(config).items() if k not in ("workers", "overwrite", "progress")
            },
            "summary": {
                **{k: v for k, v in to_dict(summary).items() if k not in ("out", "preview")},
                "preview": "preview.png" if preview else None,
            },
        },
    )
    return summary
