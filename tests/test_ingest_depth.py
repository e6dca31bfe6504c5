"""``ingest.full_depth``: the film's own values (modality LUT applied, lossless 16-bit PNG), its windows,
VOI LUTs and spacing, checked against pydicom on real DICOMs and on phantom-exported test films."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut

from cxr_regions.ingest import FULL_DEPTH_DIR, IngestConfig, full_depth, ingest_file, shifted_study_day
from helpers import shared_path
from helpers.viewer_films import pydicom_shown, qa_dicom

SALT = b"5f0c2b7e9a41d3c8" * 4


def shown(header: dict, pixels: np.ndarray, key: str) -> np.ndarray:
    """A window or VOI LUT of ``header`` applied to the values as the viewer does, 0..1 (not inverted)."""
    values = pixels.astype(np.float64) * header["slope"] + header["intercept"]
    kind = key.split(":")[0]
    if kind == "lut":
        lut = next(x for x in header["luts"] if x["key"] == key)
        data = np.asarray(lut["data"], dtype=np.float64)
        index = np.clip(np.rint(values) - lut["first"], 0, len(data) - 1).astype(np.int64)
        return (data[index] - data.min()) / (data.max() - data.min())
    window = next(w for w in header["windows"] + header["presets"] if w["key"] == key)
    c, w = window["center"], window["width"]
    if window["function"] == "LINEAR":
        return np.clip((values - (c - 0.5)) / (w - 1) + 0.5, 0, 1)
    if window["function"] == "LINEAR_EXACT":
        return np.clip((values - c) / w + 0.5, 0, 1)
    return 1 / (1 + np.exp(-4 * (values - c) / w))


def test_a_real_15_bit_film_keeps_its_stored_values_and_its_own_window():
    ds = pydicom.dcmread(shared_path("dicom", "RG1_UNCI.dcm"))
    depth = full_depth(ds)
    assert depth.pixels.dtype == np.uint16 and np.array_equal(depth.pixels, ds.pixel_array)
    assert (depth.slope, depth.intercept, depth.photometric, depth.bits_stored) == (1, 0, "MONOCHROME1", 15)
    header = depth.header()
    assert [(w["center"], w["width"], w["function"]) for w in header["windows"]] == [(15000, 30000, "LINEAR")]
    assert header["default"] == "window:0"
    np.testing.assert_allclose(shown(header, depth.pixels, "window:0"), pydicom_shown(ds), atol=1e-9)
    # its Pixel Spacing is 0\0: no spacing, so the ruler measures in pixels
    assert header["pixel_spacing"] is None and header["spacing"] is None
    assert [p["key"] for p in header["presets"]] == ["auto", "lung", "mediastinum", "bone", "full"]
    assert header["value_range"] == [float(ds.pixel_array.min()), float(ds.pixel_array.max())]
    decoded = cv2.imdecode(np.frombuffer(depth.png_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
    assert decoded.dtype == np.uint16 and np.array_equal(decoded, ds.pixel_array)


def test_pixel_spacing_and_imager_pixel_spacing_are_kept_apart():
    ds = pydicom.dcmread(shared_path("dicom", "966_fixed.dcm"))
    depth = full_depth(ds)
    assert depth.pixel_spacing == (0.16, 0.16) and depth.imager_pixel_spacing == (0.16, 0.16)
    assert depth.spacing.at == "patient"
    del ds.PixelSpacing
    assert full_depth(ds, depth.pixels).spacing.at == "detector"  # measured at the detector: said so
    ds.ImagerPixelSpacing = [0, 0]
    assert full_depth(ds, depth.pixels).spacing is None


def test_the_voi_lut_sequence_is_the_default_as_in_pydicom(tmp_path):
    stored, _ = qa_dicom(tmp_path / "lut.dcm", voi_lut=True)
    ds = pydicom.dcmread(tmp_path / "lut.dcm")
    header = full_depth(ds).header()
    assert header["default"] == "lut:0" and header["luts"][0]["name"] == "GAMMA 0.5"
    np.testing.assert_allclose(shown(header, stored, "lut:0"), pydicom_shown(ds), atol=1e-12)
    # the file's window stays available as a preset of its own
    assert [w["key"] for w in header["windows"]] == ["window:0"]


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
def test_every_voi_lut_function_and_several_windows_match_pydicom(tmp_path, function):
    qa_dicom(tmp_path / "w.dcm")
    ds = pydicom.dcmread(tmp_path / "w.dcm")
    ds.WindowCenter, ds.WindowWidth = [2010, 1800], [41, 600]
    ds.WindowCenterWidthExplanation = ["NARROW", "WIDE"]
    ds.VOILUTFunction = function
    header = full_depth(ds).header()
    assert [w["name"] for w in header["windows"]] == ["NARROW", "WIDE"] and header["default"] == "window:0"
    np.testing.assert_allclose(shown(header, ds.pixel_array, "window:0"), pydicom_shown(ds), atol=1e-9)


def test_a_rescale_is_applied_exactly_and_said(tmp_path):
    ct = pydicom.dcmread(shared_path("dicom", "CT_small.dcm"))  # signed, intercept -1024
    depth = full_depth(ct)
    np.testing.assert_array_equal(depth.values(), apply_modality_lut(ct.pixel_array, ct))
    qa_dicom(tmp_path / "half.dcm")
    ds = pydicom.dcmread(tmp_path / "half.dcm")
    ds.RescaleSlope, ds.RescaleIntercept = "0.5", "-3.25"
    depth = full_depth(ds)
    assert (depth.slope, depth.intercept) != (1, 0)
    np.testing.assert_array_equal(depth.values(), apply_modality_lut(ds.pixel_array, ds))


def test_ingest_file_writes_the_full_depth_png_and_its_header(tmp_path):
    row = ingest_file(
        shared_path("dicom", "RG1_UNCI.dcm"), tmp_path / "out", IngestConfig(keep_full=True), SALT,
        full_depth=True,
    )  # fmt: skip
    assert row.ok
    png = tmp_path / "out" / FULL_DEPTH_DIR / f"{row.image_id}.png"
    header = json.loads(png.with_suffix(".json").read_text())
    values = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    reference = pydicom.dcmread(shared_path("dicom", "RG1_UNCI.dcm")).pixel_array
    assert np.array_equal(values, reference) and header["width"] == 1841 and header["height"] == 1955
    plain = ingest_file(shared_path("dicom", "RG1_UNCI.dcm"), tmp_path / "plain", IngestConfig(), SALT)
    assert plain.ok and not (tmp_path / "plain" / FULL_DEPTH_DIR).exists()


def test_study_dates_are_shifted_per_patient_keeping_the_days_between_films():
    first = shifted_study_day(SALT, "patient-a", "20240105")
    later = shifted_study_day(SALT, "patient-a", "20240415")
    assert later - first == 101
    other = shifted_study_day(SALT, "patient-b", "20240105")
    assert other != first  # another patient's offset (a 1-in-7,301 chance of equal ones for other keys)
    assert shifted_study_day(SALT[::-1], "patient-a", "20240105") != first
    assert shifted_study_day(SALT, "patient-a", "") is None
    assert shifted_study_day(SALT, "patient-a", "2024-13-45") is None
