"""Ingest on the real DICOM files in ../shared/data/dicom (skipped where that folder is absent)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pydicom
import pytest

from cxr_regions.ingest import IngestConfig, ingest, load_film
from helpers import shared_path

CHEST = [
    "966_fixed.dcm",
    "RG1_J2KR.dcm",
    "RG1_JLSN.dcm",
    "RG1_UNCI.dcm",
    "cr_chest_jpeg_mono1.dcm",
    "cr_chest_jpeg_mono2.dcm",
]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dicom_dir() -> Path:
    return shared_path("dicom")


@pytest.fixture(scope="module")
def salt_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("salt") / "hospital-salt.txt"
    path.write_text("5f0c2b7e9a41d3c8" * 4 + "\n")
    return path


@pytest.fixture(scope="module")
def clean_run(dicom_dir, salt_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    summary = ingest(dicom_dir, out, IngestConfig(salt_file=salt_file, workers=2), progress=False)
    images = pd.read_csv(out / "images.csv", dtype=str, keep_default_na=False)
    errors = pd.read_csv(out / "errors.csv", dtype=str, keep_default_na=False)
    return out, summary, images, errors


def png(out: Path, images: pd.DataFrame, source: str) -> np.ndarray:
    row = images.loc[images["source_path"] == source].iloc[0]
    return cv2.imread(str(out / row["png_path"]), cv2.IMREAD_UNCHANGED)


def test_the_six_chest_films_are_ingested_and_the_rest_listed_with_reasons(clean_run):
    out, summary, images, errors = clean_run
    assert sorted(images["source_path"]) == CHEST
    assert images["image_id"].is_unique and summary.films == 6
    for source in CHEST:
        img = png(out, images, source)
        assert img.shape == (256, 256) and img.dtype == np.uint8
        assert img.std() > 20  # a real picture, not a blank or saturated square
    status = dict(zip(errors["source_path"], errors["status"], strict=True))
    assert status == {
        "966.dcm": "decode_error",
        "RG2_JPLL.dcm": "skipped_body_part",
        "CT_small.dcm": "skipped_modality",
    }
    # 966.dcm comes first in the walk: the batch went on after it.
    assert "966_fixed.dcm" in set(images["source_path"])
    rg1 = images.loc[images["source_path"] == "RG1_UNCI.dcm"].iloc[0]
    assert (rg1["modality"], rg1["view"], rg1["rows"], rg1["columns"]) == ("CR", "PA", "1955", "1841")
    assert (rg1["bits_stored"], rg1["photometric"]) == ("15", "MONOCHROME1")


def test_bone_is_bright_in_every_output(clean_run):
    out, _, images, _ = clean_run
    for source in ("RG1_UNCI.dcm", "966_fixed.dcm", "cr_chest_jpeg_mono2.dcm"):
        img = png(out, images, source).astype(float)
        spine = img[96:160, 120:136].mean()  # mediastinum/spine: dense, bright
        lungs = (img[96:160, 60:90].mean() + img[96:160, 166:196].mean()) / 2  # air-filled, darker
        assert spine > lungs + 20, source


def test_photometric_twins_give_exactly_inverse_outputs(clean_run):
    out, _, images, _ = clean_run
    mono1 = png(out, images, "cr_chest_jpeg_mono1.dcm").astype(np.int64)
    mono2 = png(out, images, "cr_chest_jpeg_mono2.dcm").astype(np.int64)
    assert (mono1 + mono2 == 255).all()


def test_lossless_codecs_of_one_film_agree(clean_run, dicom_dir, tmp_path):
    out, _, images, _ = clean_run
    near = png(out, images, "RG1_JLSN.dcm").astype(int)  # JPEG-LS near-lossless of the J2K original
    assert np.abs(near - png(out, images, "RG1_J2KR.dcm")).max() <= 1
    # --decode reduced decodes the JPEG 2000 film at half resolution: within that decode's tolerance.
    tree = tmp_path / "in"
    tree.mkdir()
    for name in ("RG1_JLSN.dcm", "RG1_J2KR.dcm"):
        (tree / name).symlink_to(dicom_dir / name)
    ingest(tree, tmp_path / "reduced", IngestConfig(decode="reduced"), progress=False)
    table = pd.read_csv(tmp_path / "reduced" / "images.csv", dtype=str, keep_default_na=False)
    reduced = np.abs(
        png(tmp_path / "reduced", table, "RG1_JLSN.dcm").astype(int)
        - png(tmp_path / "reduced", table, "RG1_J2KR.dcm")
    )
    assert reduced.mean() <= 0.5 and reduced.max() <= 16


def test_no_patient_name_or_id_in_any_output_byte(clean_run, dicom_dir):
    out = clean_run[0]
    needles = set()
    for path in dicom_dir.iterdir():
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        for value in (ds.get("PatientName"), ds.get("PatientID")):
            if value:
                needles.add(str(value).encode())
        assert any(n in path.read_bytes() for n in needles)  # the identity really is in the input
    blobs = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(blobs) > 6
    for path, blob in blobs.items():
        for needle in needles:
            assert needle.lower() not in blob.lower(), f"{needle!r} found in {path}"


def test_16_bit_full_resolution_round_trips_the_stored_values(dicom_dir, tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    (source / "RG1_UNCI.dcm").symlink_to(dicom_dir / "RG1_UNCI.dcm")
    out = tmp_path / "out"
    ingest(source, out, IngestConfig(bit_depth=16, keep_full=True), progress=False)
    image_id = pd.read_csv(out / "images.csv", dtype=str)["image_id"].iloc[0]
    full = cv2.imread(str(out / "full" / f"{image_id}.png"), cv2.IMREAD_UNCHANGED)
    small = cv2.imread(str(out / "images" / f"{image_id}.png"), cv2.IMREAD_UNCHANGED)
    stored = pydicom.dcmread(dicom_dir / "RG1_UNCI.dcm").pixel_array
    assert full.dtype == np.uint16 and full.shape == stored.shape == (1955, 1841)
    assert small.dtype == np.uint16 and small.shape == (256, 256)
    # The window (15000 +- 15000) covers every stored value, so each PNG value must name exactly one
    # stored value and vice versa: the stored image is recovered exactly from the PNG.
    values, first = np.unique(full, return_index=True)
    inverse = dict(zip(values.tolist(), stored.ravel()[first].tolist(), strict=True))
    recovered = np.vectorize(inverse.__getitem__, otypes=[np.uint16])(full)
    assert (recovered == stored).all()
    assert len(values) == len(np.unique(stored))
    # MONOCHROME1: higher stored value, darker output.
    assert np.all(np.diff([inverse[v] for v in values.tolist()]) < 0)
    # The 8-bit full-resolution film is the same picture.
    eight = load_film(dicom_dir / "RG1_UNCI.dcm")
    assert np.abs(eight.astype(int) - np.rint(full / 257.0)).max() <= 1


@pytest.mark.slow  # kills and resumes an ingest process
def test_killed_run_resumed_equals_one_clean_run(clean_run, dicom_dir, salt_file, tmp_path):
    out = tmp_path / "killed"
    journal = out / "journal.jsonl"
    cli = Path(sys.executable).with_name("cxr-regions")
    command = [str(cli), "ingest", str(dicom_dir), str(out), "--workers", "2", "--salt-file", str(salt_file)]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and len(journal.read_text().splitlines()) >= 2:  # settings + one film
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.01)
    logs = proc.communicate(timeout=30)[0]
    assert proc.returncode == -signal.SIGKILL, logs.decode(errors="replace")
    assert not (out / "images.csv").exists()  # killed half-way: nothing listed yet
    done_before = len(list((out / "images").glob("*.png")))
    assert 1 <= done_before < 6

    summary = ingest(dicom_dir, out, IngestConfig(salt_file=salt_file, workers=1), progress=False)
    assert summary.resumed >= 1 and summary.resumed + summary.converted == 6
    clean = clean_run[0]
    for table in ("images.csv", "errors.csv"):
        assert (out / table).read_bytes() == (clean / table).read_bytes(), table
    assert sorted(p.name for p in (out / "images").iterdir()) == sorted(
        p.name for p in (clean / "images").iterdir()
    )
    for path in (clean / "images").iterdir():
        assert (out / "images" / path.name).read_bytes() == path.read_bytes()
    assert b"CompressedSamples" not in logs


def test_input_tree_is_left_untouched(dicom_dir, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("RG1_UNCI.dcm", "cr_chest_jpeg_mono1.dcm", "CT_small.dcm"):
        shutil.copy(dicom_dir / name, copy / name)
        (copy / name).chmod(0o644)  # writable, unlike the shared originals
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in copy.iterdir()}
    ingest(copy, tmp_path / "out", IngestConfig(size=64), progress=False)
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in copy.iterdir()} == before
