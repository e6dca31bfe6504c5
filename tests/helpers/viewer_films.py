"""Test films for the viewer, written by the phantom's own DICOM export (``film_dataset``): a 12-bit
quality-control film (uniform background, a faint disc, two markers a known distance apart) and the
same with a VOI LUT Sequence, each with exactly known stored values; and how pydicom shows a film."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.pixels import apply_modality_lut, apply_voi_lut

BACKGROUND = 2000
DISC = 8  # grey levels above the background: invisible in the file's own 4096-wide window
MARKER = 4095  # white on the screen in the file's own window


@dataclass(frozen=True)
class QaFilm:
    """Where things lie on a QA film (pixels: x = column, y = row)."""

    width: int
    height: int
    disc: tuple[int, int, int]  # centre x, centre y, radius
    markers: tuple[tuple[int, int], tuple[int, int]]  # centres of the two marker squares
    marker_half: int


def qa_stored(width: int = 600, height: int = 400) -> tuple[np.ndarray, QaFilm]:
    """A film's 12-bit stored values: a horizontal ramp of ±150 levels (every column distinct, so a
    misplaced cursor reads a wrong value), a disc ``DISC`` levels above its surroundings, two bright
    5×5 squares ``width // 2`` apart on one row."""
    ramp = np.rint(np.linspace(-150, 150, width)).astype(np.int64)
    stored = np.broadcast_to(BACKGROUND + ramp, (height, width)).copy()
    layout = QaFilm(
        width,
        height,
        disc=(width // 4, height // 2, min(width, height) // 8),
        markers=((width // 4, height // 5), (3 * width // 4, height // 5)),
        marker_half=2,
    )
    cx, cy, r = layout.disc
    yy, xx = np.mgrid[:height, :width]
    stored[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] += DISC
    for mx, my in layout.markers:
        stored[my - 2 : my + 3, mx - 2 : mx + 3] = MARKER
    return stored.astype(np.uint16), layout


def qa_dicom(
    path: Path, width: int = 600, height: int = 400, voi_lut: bool = False, seed: int = 0,
    patient: str = "QA0001", study_date: str = "20240105",
) -> tuple[np.ndarray, QaFilm]:  # fmt: skip
    """Write a 12-bit MONOCHROME2 CR QA film (Pixel Spacing from the phantom's detector) and return its
    stored values; ``voi_lut``: with a gamma-shaped VOI LUT Sequence (which the default window uses)."""
    from pydicom.dataset import Dataset
    from pydicom.uid import ExplicitVRLittleEndian

    from cxr_regions.phantom.dicom_export import DicomStyle, FilmMeta, film_dataset, make_uid

    stored, layout = qa_stored(width, height)
    style = DicomStyle("CR", "MONOCHROME2", 12, str(ExplicitVRLittleEndian), ".dcm")
    meta = FilmMeta(
        patient_id=patient,
        patient_name=f"QA^{patient}",
        sex="F",
        birth_date="19600101",
        age=64,
        accession_number=f"QA{seed:06d}{int(voi_lut)}",
        study_date=study_date,
        study_time="101500",
        study_uid=make_uid("qa", seed, "study", voi_lut),
        series_uid=make_uid("qa", seed, "series", voi_lut),
        sop_uid=make_uid("qa", seed, "instance", voi_lut),
        view="PA",
    )
    ds = film_dataset(stored.astype(np.float64) / 4095.0, meta, style)
    if voi_lut:
        item = Dataset()
        item.LUTDescriptor = [4096, 0, 16]
        item.LUTExplanation = "GAMMA 0.5"
        item.add_new(0x00283006, "US", [round(65535 * (v / 4095) ** 0.5) for v in range(4096)])  # LUT Data
        ds.VOILUTSequence = [item]
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return stored, layout


def pydicom_shown(ds) -> np.ndarray:
    """pydicom's default VOI (apply_voi_lut, index 0) from its lowest to its highest output, 0..1."""
    values = apply_modality_lut(ds.pixel_array, ds)
    if ds.get("VOILUTSequence"):
        values = apply_voi_lut(values.astype(np.int64), ds)  # a LUT's input is an integer

        lut = np.asarray(ds.VOILUTSequence[0].LUTData, dtype=np.float64)
        lo, hi = lut.min(), lut.max()
    else:
        values = apply_voi_lut(values, ds)
        lo, hi = 0.0, float(2**ds.BitsStored - 1)  # apply_windowing's y_min, y_max (unsigned, no rescale)
    return (values.astype(np.float64) - lo) / (hi - lo)
