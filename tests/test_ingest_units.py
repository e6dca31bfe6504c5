"""Ingest on DICOM files made here with pydicom: the grey-scale chain, selection, de-identification,
the tree walk, resuming, and surviving a crashing worker."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from cxr_regions.errors import UserError
from cxr_regions.ingest import IngestConfig, fit_square, ingest, load_film
from cxr_regions.ingest.decode import display_values, quantise
from cxr_regions.ingest.deid import Redactor
from cxr_regions.ingest.selection import select_film
from cxr_regions.ingest.workers import Workers

CR = "1.2.840.10008.5.1.4.1.1.1"
DX_FOR_PROCESSING = "1.2.840.10008.5.1.4.1.1.1.1.1"


def make_dataset(pixels: np.ndarray, bits_stored: int, photometric: str = "MONOCHROME2", **attrs) -> Dataset:
    """A CR chest film dataset holding ``pixels`` uncompressed."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CR
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "CR"
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.PatientID = "PID-77341"
    ds.PatientName = "Zhang^Sanfeng"
    ds.AccessionNumber = "ACC001"
    ds.set_pixel_data(pixels, photometric, bits_stored)
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def write_dicom(path: Path, ds: Dataset, preamble: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if preamble:
        ds.save_as(path, enforce_file_format=True)
    else:
        bare = Dataset()
        bare.update(ds)
        bare.save_as(path, implicit_vr=False, little_endian=True)
    return path


def ramp(lo: int, hi: int, shape=(60, 80), dtype=np.int16) -> np.ndarray:
    return np.linspace(lo, hi, shape[0] * shape[1]).round().astype(dtype).reshape(shape)


def reference_display(ds: Dataset, pixels: np.ndarray) -> np.ndarray:
    """pydicom's per-pixel chain on the whole image, scaled so its own output range spans 0..65535."""
    values = apply_voi_lut(apply_modality_lut(pixels, ds), ds).astype(np.float64)
    return (values - values.min()) / (values.max() - values.min()) * 65535


# -- the grey-scale chain -------------------------------------------------------------------------


def test_window_and_rescale_table_lookup_equals_pydicom_per_pixel_chain():
    pixels = ramp(-2000, 3000)
    ds = make_dataset(pixels, 13, RescaleSlope=2, RescaleIntercept=-100, WindowCenter=900, WindowWidth=4000)
    got = display_values(ds, pixels).values
    assert got.dtype == np.uint16 and got.shape == pixels.shape
    assert np.abs(got - reference_display(ds, pixels)).max() <= 1.0
    assert got.min() == 0 and got.max() == 65535  # ramp exceeds the window both ways


def test_voi_lut_sequence_is_preferred_to_the_window_and_matches_pydicom():
    pixels = ramp(0, 4095, dtype=np.uint16)
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    item.LUTData = (np.sqrt(np.arange(4096) / 4095) * 4000).astype(np.uint16).tolist()
    ds = make_dataset(pixels, 12, WindowCenter=100, WindowWidth=10)
    ds.VOILUTSequence = Sequence([item])
    display = display_values(ds, pixels)
    assert display.window == "voi_lut"
    assert np.abs(display.values - reference_display(ds, pixels)).max() <= 1.0


def test_percentile_window_ignores_outliers_when_the_file_has_no_window():
    rng = np.random.default_rng(0)
    pixels = rng.integers(1000, 2001, size=(100, 100)).astype(np.uint16)
    pixels.flat[:5] = 30000  # 0.05 % hot pixels must not squash the contrast
    ds = make_dataset(pixels, 15)
    display = display_values(ds, pixels)
    assert display.window == "percentile"
    body = display.values[pixels <= 2000]
    assert body.max() == 65535 and body.min() == 0
    assert np.percentile(body, 75) - np.percentile(body, 25) > 25000


def test_monochrome1_is_inverted_and_photometric_twins_are_exact_inverses():
    pixels = ramp(0, 4095, (64, 64), np.uint16)
    mono2 = display_values(make_dataset(pixels, 12, "MONOCHROME2"), pixels)
    mono1 = display_values(make_dataset(pixels, 12, "MONOCHROME1"), pixels)
    for depth, top in ((8, 255), (16, 65535)):
        a, b = quantise(mono1.values, depth, mono1.invert), quantise(mono2.values, depth, mono2.invert)
        assert (a.astype(np.int64) + b == top).all()
    low = quantise(mono1.values, 8, True)[0, 0]
    assert low == 255  # MONOCHROME1: the lowest stored value is shown white (bone)


# -- selection -------------------------------------------------------------------------------------


def header(**attrs) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = CR
    ds.Modality = "CR"
    for key, value in attrs.items():
        setattr(ds, key, value)
    return ds


def test_selection_keeps_frontal_chest_and_names_the_reason_for_the_rest():
    assert select_film(header(BodyPartExamined="CHEST", ViewPosition="PA")).status is None
    assert select_film(header(ViewPosition="AP")).status is None  # body part unset
    assert select_film(header(BodyPartExamined="HIP")).status == "skipped_body_part"
    assert select_film(header(Modality="MR")).status == "skipped_modality"
    assert select_film(header(Modality="DR")).status is None
    lateral = header(BodyPartExamined="CHEST", ViewPosition="LL")
    assert select_film(lateral).status == "skipped_lateral"
    assert select_film(lateral, keep_lateral=True).status is None
    assert select_film(header(SeriesDescription="Chest LAT")).status == "skipped_lateral"
    code = Dataset()
    code.CodeValue = "R-10206"
    assert select_film(header(ViewCodeSequence=Sequence([code]))).view == "AP"
    raw = header(SOPClassUID=DX_FOR_PROCESSING, Modality="DX")
    assert select_film(raw).status == "skipped_modality"


def test_redactor_removes_ids_and_name_parts_from_text():
    ds = header(PatientID="HN0042317", PatientName="Wang^Xiaoming")
    redact = Redactor.from_dataset(ds)
    text = redact("export/HN0042317/WANG_XIAOMING/Xiaoming-chest.dcm failed for Wang^Xiaoming")
    assert "HN0042317" not in text and "xiaoming" not in text.lower()


# -- resizing and load_film ------------------------------------------------------------------------


def test_pad_keeps_aspect_ratio_with_black_borders_and_stretch_fills():
    film = np.full((100, 50), 200, np.uint8)
    padded = fit_square(film, 64, "pad")
    assert padded.shape == (64, 64)
    assert (padded[:, :15] == 0).all() and (padded[:, 17:47] == 200).all()
    assert (fit_square(film, 64, "stretch") == 200).all()


def test_load_film_reads_dicom_without_preamble_and_png(tmp_path):
    pixels = ramp(0, 4095, (40, 30), np.uint16)
    path = write_dicom(
        tmp_path / "nested" / "IM0001", make_dataset(pixels, 12, "MONOCHROME1"), preamble=False
    )
    film = load_film(path)
    assert film.dtype == np.uint8 and film.shape == (40, 30)
    assert film[0, 0] > film[-1, -1]  # inverted: low stored values bright
    cv2.imwrite(str(tmp_path / "f.png"), film)
    assert (load_film(tmp_path / "f.png") == film).all()
    with pytest.raises(UserError, match="not found"):
        load_film(tmp_path / "missing.dcm")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="neither DICOM"):
        load_film(tmp_path / "notes.txt")


# -- a whole tree ---------------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "export"
    pixels = ramp(100, 3000, (90, 70), np.uint16)
    write_dicom(root / "PID-77341" / "1.dcm", make_dataset(pixels, 12))
    write_dicom(
        root / "PID-77341" / "s2" / "IMG0002", make_dataset(pixels, 12, "MONOCHROME1"), preamble=False
    )
    write_dicom(root / "other" / "lat.dcm", make_dataset(pixels, 12, ViewPosition="LL", PatientID="P2"))
    nopix = make_dataset(pixels, 12)
    del nopix.PixelData
    write_dicom(root / "other" / "nopix.dcm", nopix)
    (root / "other" / "README.txt").write_text("export notes\n")
    dicomdir = make_dataset(pixels, 12)
    dicomdir.SOPClassUID = "1.2.840.10008.1.3.10"
    write_dicom(root / "DICOMDIR", dicomdir)
    return root


def test_tree_walk_reads_dicom_by_content_and_lists_every_skip(tree, tmp_path):
    out = tmp_path / "out"
    summary = ingest(tree, out, IngestConfig(size=32), progress=False)
    images = pd.read_csv(out / "images.csv", dtype=str)
    errors = pd.read_csv(out / "errors.csv", dtype=str).set_index("source_path")["status"].to_dict()
    assert sorted(images["source_path"]) == ["{patient}/1.dcm", "{patient}/s2/IMG0002"]
    assert errors == {
        "DICOMDIR": "no_pixels",
        "other/README.txt": "not_dicom",
        "other/lat.dcm": "skipped_lateral",
        "other/nopix.dcm": "no_pixels",
    }
    assert summary.films == 2 and summary.patients == 1
    for png in images["png_path"]:
        img = cv2.imread(str(out / png), cv2.IMREAD_UNCHANGED)
        assert img.shape == (32, 32) and img.dtype == np.uint8
    assert images["image_id"].is_unique
    for path in out.rglob("*"):
        if path.is_file():
            assert b"PID-77341" not in path.read_bytes() and b"Sanfeng" not in path.read_bytes()

    with_lateral = ingest(tree, tmp_path / "out2", IngestConfig(size=32, keep_lateral=True), progress=False)
    assert with_lateral.films == 3


def test_shared_salt_file_gives_shared_patient_keys_and_settings_must_match_to_resume(tree, tmp_path):
    first = tmp_path / "a"
    ingest(tree, first, IngestConfig(size=32), progress=False)
    shared = IngestConfig(size=32, salt_file=first / "salt.txt")
    ingest(tree, tmp_path / "b", shared, progress=False)
    ingest(tree, tmp_path / "c", IngestConfig(size=32), progress=False)
    keys = {name: set(pd.read_csv(tmp_path / name / "images.csv")["patient_key"]) for name in "abc"}
    assert keys["a"] == keys["b"] and keys["a"].isdisjoint(keys["c"])

    again = ingest(tree, first, IngestConfig(size=32), progress=False)
    assert again.converted == 0 and again.resumed == 2
    with pytest.raises(UserError, match="other settings"):
        ingest(tree, first, IngestConfig(size=64), progress=False)
    with pytest.raises(UserError, match="salt file"):
        ingest(tree, tmp_path / "d", IngestConfig(salt_file=tmp_path / "nope.txt"), progress=False)


# -- a worker that dies ----------------------------------------------------------------------------


def die_on_three(n: int) -> int:
    """Work that kills its process for one input, as a decoder segfault would."""
    if n == 3:
        os._exit(9)
    return n * n


def test_a_crashing_task_is_isolated_and_the_rest_complete():
    with Workers(2) as workers:
        results = dict(workers.run(die_on_three, range(8)))
    assert results.pop(3) is Workers.CRASHED
    assert results == {n: n * n for n in range(8) if n != 3}
