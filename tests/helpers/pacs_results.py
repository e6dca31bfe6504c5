"""Helpers of the result-object tests: a film's header as a PACS gives it, a small film, and dciodvfy."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cxr_regions.regions import REGION_KEYS

PROBABILITIES = dict(zip(REGION_KEYS, (0.12, 0.71, 0.33, 0.88, 0.05), strict=True))
THRESHOLDS = dict.fromkeys(REGION_KEYS, 0.5)
LABELS = dict(zip(REGION_KEYS, ("0", "1", "u", "1", "0"), strict=True))


def pacs_header(path: Path):
    """The file's attributes without pixel data, through DICOM JSON as WADO-RS metadata gives them."""
    import pydicom
    from pydicom import Dataset

    from cxr_regions.ingest.decode import quiet_pydicom

    with quiet_pydicom():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        return Dataset.from_json(ds.to_json_dict(bulk_data_threshold=1 << 20))


def small_film(header, width: int = 160) -> np.ndarray:
    """A film-shaped uint8 picture (the header's aspect ratio) small enough to keep the tests fast."""
    rows, cols = int(header.get("Rows") or 200), int(header.get("Columns") or 200)
    height = max(16, round(width * rows / cols))
    yy, xx = np.mgrid[0:height, 0:width]
    return ((xx * 3 + yy * 5) % 256).astype(np.uint8)


def heat(film: np.ndarray) -> dict[str, np.ndarray]:
    """A smooth heatmap (hot in the middle) for every region."""
    yy, xx = np.mgrid[0 : film.shape[0], 0 : film.shape[1]]
    blob = np.exp(-(((yy / film.shape[0]) - 0.5) ** 2 + ((xx / film.shape[1]) - 0.5) ** 2) * 8)
    return dict.fromkeys(REGION_KEYS, blob.astype(np.float32))


def dciodvfy(dataset, folder: Path, name: str) -> tuple[list[str], list[str]]:
    """(error lines, warning lines) of dciodvfy on ``dataset`` written as a DICOM file; skips where
    dicom3tools is not installed."""
    if shutil.which("dciodvfy") is None:
        pytest.skip("dciodvfy (Debian package dicom3tools) is not installed")
    path = folder / f"{name}.dcm"
    dataset.save_as(path, enforce_file_format=True)
    answer = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, timeout=60)
    lines = (answer.stdout + answer.stderr).splitlines()
    return [x for x in lines if x.startswith("Error")], [x for x in lines if x.startswith("Warning")]
