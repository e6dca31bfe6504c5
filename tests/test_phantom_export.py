"""The phantom command's output: byte-identical by seed, readable DICOM as a PACS exports it, reports
in GB18030 + XLSX, truth and masks, and the labeler's agreement on reports.csv."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest
from typer.testing import CliRunner

from cxr_regions.label import Labeler
from cxr_regions.phantom import PhantomConfig, Prevalence, make_phantom
from cxr_regions.regions import REGION_KEYS

SIZE = 96


def _make(out: Path, seed: int = 3, n: int = 16, workers: int = 1) -> Path:
    prevalence = Prevalence.parse("balanced")
    config = PhantomConfig(n=n, size=SIZE, seed=seed, prevalence=prevalence, workers=workers, progress=False)
    make_phantom(out, config)
    return out


@pytest.fixture(scope="module")
def phantom(tmp_path_factory) -> Path:
    return _make(tmp_path_factory.mktemp("phantom") / "out")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _dicoms(root: Path) -> list[Path]:
    return [p for p in sorted((root / "dicom").rglob("*")) if p.is_file()]


def test_same_seed_gives_byte_identical_output_and_another_seed_does_not(phantom, tmp_path):
    again = _files(_make(tmp_path / "again", workers=2))  # and parallel workers change nothing
    first = _files(phantom)
    assert sorted(first) == sorted(again)
    assert [name for name in first if first[name] != again[name]] == []
    other = _files(_make(tmp_path / "other", seed=4, n=4))
    assert other["reports.csv"] != first["reports.csv"]


def test_every_dicom_reads_back_and_decodes_like_a_pacs_export(phantom):
    truth = pd.read_csv(phantom / "truth.csv", dtype=str)
    paths = _dicoms(phantom)
    assert len(paths) == len(truth) == 16
    syntaxes, photometric, modality, bits = set(), set(), set(), set()
    for path in paths:
        ds = pydicom.dcmread(path)
        pixels = ds.pixel_array
        assert pixels.shape == (SIZE, SIZE) and pixels.max() < 2**ds.BitsStored
        assert ds.BodyPartExamined == "CHEST" and ds.ViewPosition in ("PA", "AP")
        assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID
        assert "PHANTOM" in ds.ImageComments
        syntaxes.add(ds.file_meta.TransferSyntaxUID)
        photometric.add(ds.PhotometricInterpretation)
        modality.add(ds.Modality)
        bits.add(int(ds.BitsStored))
    assert any(pydicom.uid.UID(s).is_compressed for s in syntaxes), syntaxes
    assert photometric == {"MONOCHROME1", "MONOCHROME2"} and modality == {"CR", "DX"}
    assert bits <= {12, 14, 15, 16} and len(bits) > 1
    assert any(p.suffix == "" for p in paths) and any(p.suffix == ".dcm" for p in paths)
    assert all(len(p.relative_to(phantom / "dicom").parts) >= 4 for p in paths)
    assert set(truth["dicom_path"]) == {str(p.relative_to(phantom)) for p in paths}


def test_monochrome1_films_are_stored_inverted(phantom):
    """Air (top corners) is dark and the mediastinum bright once MONOCHROME1 is inverted back."""
    seen = set()
    for path in _dicoms(phantom):
        ds = pydicom.dcmread(path)
        px = ds.pixel_array.astype(float) / (2**ds.BitsStored - 1)
        air = np.concatenate([px[:5, :5].ravel(), px[:5, -5:].ravel()]).mean()
        centre = px[SIZE // 3 : SIZE // 2, SIZE // 2 - 4 : SIZE // 2 + 4].mean()
        if ds.PhotometricInterpretation == "MONOCHROME1":
            assert air > centre + 0.3, path
        else:
            assert centre > air + 0.3, path
        seen.add(ds.PhotometricInterpretation)
    assert seen == {"MONOCHROME1", "MONOCHROME2"}


def test_ids_link_dicom_truth_and_reports_with_several_films_per_patient(phantom):
    truth = pd.read_csv(phantom / "truth.csv", dtype=str)
    assert list(truth.columns[:8]) == ["film_id", "accession_number", "patient_id", *REGION_KEYS]
    assert set(truth[list(REGION_KEYS)].stack()) <= {"0", "1", "u"}
    assert truth["accession_number"].is_unique
    assert truth["patient_id"].value_counts().max() >= 2
    by_accession = truth.set_index("accession_number")
    for path in _dicoms(phantom):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        assert by_accession.loc[ds.AccessionNumber, "patient_id"] == ds.PatientID
    raw = (phantom / "reports.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    reports = pd.read_csv(io.BytesIO(raw), encoding="gb18030", dtype=str)
    assert list(reports.columns) == ["accession_number", "findings", "impression"]
    assert set(reports["accession_number"]) == set(truth["accession_number"])
    xlsx = pd.read_excel(phantom / "reports.xlsx", dtype=str)
    pd.testing.assert_frame_equal(xlsx, reports)


def test_masks_are_saved_per_film_at_film_size(phantom):
    truth = pd.read_csv(phantom / "truth.csv", dtype=str)
    for film_id in truth["film_id"]:
        with np.load(phantom / "masks" / f"{film_id}.npz") as masks:
            assert sorted(masks.files) == sorted(REGION_KEYS)
            heart = masks["heart"]
            assert heart.dtype == bool and heart.shape == (SIZE, SIZE)
            assert np.nonzero(heart)[1].mean() > SIZE / 2


def test_labeler_agrees_with_truth_on_reports_csv(phantom):
    truth = pd.read_csv(phantom / "truth.csv", dtype=str).set_index("accession_number")
    reports = pd.read_csv(phantom / "reports.csv", encoding="gb18030", dtype=str)
    labeler = Labeler()
    agree = total = 0
    for row in reports.itertuples():
        got = labeler.label(f"{row.findings}\n{row.impression}").values
        for key in REGION_KEYS:
            total += 1
            agree += got[key] == truth.loc[row.accession_number, key]
    assert agree / total >= 0.99


def test_command_writes_a_preview_and_refuses_a_non_empty_folder(tmp_path):
    from cxr_regions.cli import app

    out = tmp_path / "cli"
    runner = CliRunner()
    result = runner.invoke(app, ["phantom", str(out), "--n", "16", "--size", "64", "--preview"])
    assert result.exit_code == 0, result.output
    sheet = cv2.imread(str(out / "preview.png"), cv2.IMREAD_GRAYSCALE)
    assert sheet is not None and sheet.shape[1] == 4 * 256 and sheet.shape[0] > 4 * 256
    again = runner.invoke(app, ["phantom", str(out), "--n", "2", "--size", "64"])
    assert again.exit_code != 0 and "not empty" in str(again.exception)
