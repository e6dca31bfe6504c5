"""The phantom's DICOM export (nested folders, mixed syntaxes, files without extension) through ingest."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd

from cxr_regions import phantom
from cxr_regions.ingest import IngestConfig, fit_square, ingest, load_film


def test_every_phantom_film_is_ingested_with_one_key_per_patient(tmp_path):
    made = phantom.make_phantom(tmp_path / "phantom", phantom.PhantomConfig(n=6, size=96, progress=False))
    summary = ingest(tmp_path / "phantom" / "dicom", tmp_path / "out", IngestConfig(size=64), progress=False)
    assert summary.films == made.films and not summary.errors

    truth = pd.read_csv(tmp_path / "phantom" / "truth.csv", dtype=str)
    images = pd.read_csv(tmp_path / "out" / "images.csv", dtype=str)
    joined = images.merge(truth, on="accession_number", validate="one_to_one")
    assert len(joined) == made.films
    assert (joined.groupby("patient_id")["patient_key"].nunique() == 1).all()
    assert (joined.groupby("patient_key")["patient_id"].nunique() == 1).all()

    for blob in (p.read_bytes() for p in (tmp_path / "out").rglob("*") if p.is_file()):
        assert not any(pid.encode() in blob for pid in truth["patient_id"])

    # load_film's full decode is the same picture as the ingested PNG, whatever the encoding.
    for _, row in joined.iterrows():
        film = load_film(tmp_path / "phantom" / row["dicom_path"])
        assert film.dtype == np.uint8 and film.shape == (96, 96)
        ingested = cv2.imread(str(tmp_path / "out" / row["png_path"]), cv2.IMREAD_UNCHANGED)
        assert np.abs(fit_square(film, 64).astype(int) - ingested).max() <= 1
