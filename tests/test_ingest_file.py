"""``ingest_file``: one file through ingest's own steps gives the batch's row and the batch's PNGs."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from cxr_regions.contracts import IMAGES, ErrorRow, ImageRow
from cxr_regions.errors import UserError
from cxr_regions.ingest import IngestConfig, ingest, ingest_file, load_or_create_salt
from cxr_regions.ingest.deid import image_id
from cxr_regions.phantom import PhantomConfig, make_phantom
from helpers import shared_path

SALT = b"5f0c2b7e9a41d3c8" * 4  # what load_or_create_salt reads from the salt file below


def salt_file(folder: Path) -> Path:
    path = folder / "salt.txt"
    path.write_bytes(SALT + b"\n")
    return path


def batch_row(out: Path, source: str) -> ImageRow:
    images = IMAGES.read(out)
    return next(IMAGES.rows(images.loc[images["source_path"] == source]))


def test_a_real_film_gives_the_batch_row_and_the_same_pngs(tmp_path):
    dicom_dir = shared_path("dicom")
    copy = tmp_path / "tree"
    copy.mkdir()
    shutil.copy(dicom_dir / "RG1_UNCI.dcm", copy / "RG1_UNCI.dcm")
    config = IngestConfig(size=64, keep_full=True, salt_file=salt_file(tmp_path))
    ingest(copy, tmp_path / "batch", config, progress=False)
    assert load_or_create_salt(tmp_path, config.salt_file)[0] == SALT

    row = ingest_file(dicom_dir / "RG1_UNCI.dcm", tmp_path / "one", config, SALT)
    assert isinstance(row, ImageRow) and row.ok
    assert row == batch_row(tmp_path / "batch", "RG1_UNCI.dcm")
    assert row.image_id == image_id(SALT, row.sop_uid) and row.sop_uid
    assert (row.modality, row.view, row.rows, row.columns) == ("CR", "PA", 1955, 1841)
    assert row.study_uid and row.series_uid and row.status is None
    assert row.full_png_path == f"full/{row.image_id}.png"
    for name in (row.png_path, row.full_png_path):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "batch" / name).read_bytes()
    full = cv2.imread(str(tmp_path / "one" / row.full_png_path), cv2.IMREAD_UNCHANGED)
    assert full.shape == (1955, 1841)
    small = cv2.imread(str(tmp_path / "one" / row.png_path), cv2.IMREAD_UNCHANGED)
    assert small.shape == (64, 64) and small.dtype == np.uint8


def test_skipped_and_broken_files_come_back_as_error_rows(tmp_path):
    dicom_dir = shared_path("dicom")
    out = tmp_path / "out"
    expected = {
        "CT_small.dcm": "skipped_modality",
        "RG2_JPLL.dcm": "skipped_body_part",
        "966.dcm": "decode_error",
    }
    for name, status in expected.items():
        row = ingest_file(dicom_dir / name, out, IngestConfig(size=32), SALT)
        assert isinstance(row, ErrorRow) and not row.ok
        assert row.status == status and row.source_path == name and row.message
    text = tmp_path / "notes.txt"
    text.write_text("not a radiograph")
    assert ingest_file(text, out, IngestConfig(), SALT).status == "not_dicom"
    assert ingest_file(tmp_path / "missing.dcm", out, IngestConfig(), SALT).status == "unreadable"
    assert not list((out / "images").glob("*.png"))  # nothing written for films that are not kept


def test_an_unwritable_output_is_the_callers_error_not_the_films(tmp_path):
    dicom_dir = shared_path("dicom")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UserError, match="cannot create"):
        ingest_file(dicom_dir / "RG1_UNCI.dcm", blocker, IngestConfig(size=32), SALT)


def test_a_phantom_film_matches_the_batch_and_its_truth(tmp_path):
    made = make_phantom(tmp_path / "phantom", PhantomConfig(n=3, size=96, progress=False))
    tree = tmp_path / "phantom" / "dicom"
    ingest(tree, tmp_path / "batch", IngestConfig(size=64, salt_file=salt_file(tmp_path)), progress=False)
    truth = pd.read_csv(tmp_path / "phantom" / "truth.csv", dtype=str)
    assert len(truth) == made.films
    first = truth.iloc[0]
    path = tmp_path / "phantom" / first["dicom_path"]

    row = ingest_file(path, tmp_path / "one", IngestConfig(size=64), SALT, root=tree)
    assert row.ok and row.accession_number == first["accession_number"]
    batch = batch_row(tmp_path / "batch", row.source_path)
    assert row.source_path == path.relative_to(tree).as_posix()
    assert (row.image_id, row.patient_key) == (batch.image_id, batch.patient_key)
    assert not (tmp_path / "one" / row.full_png_path).exists()  # no --keep-full
    assert (tmp_path / "one" / row.png_path).read_bytes() == (
        tmp_path / "batch" / batch.png_path
    ).read_bytes()
    assert first["patient_id"] not in str(row)
