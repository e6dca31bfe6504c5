"""Packing the real NIH sample into the dataset format that `build` writes and training reads."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from cxr_regions.build import open_dataset
from cxr_regions.errors import UserError
from cxr_regions.pretrain.nih_findings import FINDING_KEYS
from cxr_regions.pretrain.nih_split import SplitConfig
from cxr_regions.pretrain.prepare import PrepareConfig, prepare_nih
from helpers import shared_path


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> tuple[Path, Path]:
    sample = shared_path("nih-sample")
    out = tmp_path_factory.mktemp("chestx14") / "prepared"
    prepare_nih(PrepareConfig(nih_dir=sample, out=out, size=64, workers=2, split=SplitConfig(seed=1)))
    return sample, out


def test_prepared_sample_opens_as_a_dataset_with_the_14_findings(prepared):
    _, out = prepared
    data = open_dataset(out)
    assert data.label_names == list(FINDING_KEYS)
    assert data.images.shape == (200, 64, 64) and data.images.dtype == np.uint8
    manifest = data.manifest
    assert set(manifest["split"]) == {"train", "val", "test"}
    per_split = [set(manifest.loc[manifest["split"] == s, "patient_key"]) for s in ("train", "val", "test")]
    assert not (per_split[0] & per_split[1] or per_split[0] & per_split[2] or per_split[1] & per_split[2])
    assert (manifest["repeat"] == 1).all()
    assert "Pneumonia" in (out / "stats.md").read_text()


def test_each_packed_image_is_its_own_film(prepared):
    sample, out = prepared
    data = open_dataset(out)
    rows = data.manifest.sample(8, random_state=0)
    packed = [data.images[i].astype(np.float32) for i in rows["index"]]
    for row, mine in zip(rows.itertuples(), packed, strict=True):
        film = cv2.imread(str(sample / "images" / f"{row.image_id}.png"), cv2.IMREAD_GRAYSCALE)
        small = cv2.resize(film, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float32)
        own = np.corrcoef(small.ravel(), mine.ravel())[0, 1]
        others = [np.corrcoef(small.ravel(), p.ravel())[0, 1] for p in packed if p is not mine]
        assert own > 0.95 and own > max(others)


def test_rerun_is_a_no_op_and_another_size_in_the_same_folder_is_refused(prepared):
    sample, out = prepared
    stamp = os.stat(out / "images.npy").st_mtime_ns
    prepare_nih(PrepareConfig(nih_dir=sample, out=out, size=64, workers=2, split=SplitConfig(seed=1)))
    assert os.stat(out / "images.npy").st_mtime_ns == stamp
    with pytest.raises(UserError, match="holds a prepared dataset of other films"):
        prepare_nih(PrepareConfig(nih_dir=sample, out=out, size=96, split=SplitConfig(seed=1)))


def test_a_preparation_stopped_by_a_broken_film_completes_when_rerun(tmp_path, prepared):
    sample, done = prepared
    nih = tmp_path / "nih"
    (nih / "images").mkdir(parents=True)
    os.symlink(sample / "Data_Entry_2017.csv", nih / "Data_Entry_2017.csv")
    names = sorted(p.name for p in (sample / "images").iterdir())
    for name in names:
        os.symlink(sample / "images" / name, nih / "images" / name)
    broken = nih / "images" / names[150]
    broken.unlink()
    broken.write_bytes(b"not a png")
    out = tmp_path / "prepared"
    config = PrepareConfig(
        nih_dir=nih, out=out, size=64, workers=1, split=SplitConfig(seed=1), progress=False
    )
    with pytest.raises(UserError, match=names[150]):
        prepare_nih(config)
    assert not (out / "dataset.json").exists()
    broken.unlink()
    os.symlink(sample / "images" / names[150], broken)
    prepare_nih(config)
    again, first = open_dataset(out), open_dataset(done)
    assert np.array_equal(np.asarray(again.images), np.asarray(first.images))
    assert again.manifest.equals(first.manifest)
