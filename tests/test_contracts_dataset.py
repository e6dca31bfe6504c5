"""dataset.json and manifest.csv as contracts: build writes them through the records (with a schema
version), a file without a version reads as version 1, an unknown version is refused, and
``open_dataset`` reads them back typed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxr_regions.build import BuildConfig, build_from_arrays, open_dataset
from cxr_regions.contracts import MANIFEST, DatasetInfo
from cxr_regions.errors import UserError
from cxr_regions.regions import REGION_KEYS


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 60
    table = pd.DataFrame(
        {"image_id": [f"{i:03d}" for i in range(n)], "patient_key": [f"p{i // 2}" for i in range(n)]}
        | {k: rng.integers(0, 2, n) for k in REGION_KEYS}
    )
    images = rng.integers(0, 255, (n, 16, 16), dtype=np.uint8)
    out = tmp_path_factory.mktemp("contracts") / "ds"
    return build_from_arrays(out, images, table, BuildConfig(size=16, progress=False))


def test_build_writes_a_versioned_dataset_json_that_reads_back_typed(dataset):
    doc = json.loads((dataset / "dataset.json").read_text(encoding="utf-8"))
    assert doc["schema_version"] == 1 and doc["kind"] == "build"
    assert "join" not in doc  # built from arrays: no join, and an unset optional field is left out
    info = DatasetInfo.read(dataset)
    assert info.labels == list(REGION_KEYS) and info.size == 16
    assert info.counts.train.films + info.counts.val.films + info.counts.test.films == 60
    assert info.leak_check.leaking is False and info.oversampling.films == info.counts.train.films
    assert DatasetInfo.read(dataset / "dataset.json") == info
    assert open_dataset(dataset).meta == info


def test_a_file_without_a_version_is_version_1_and_an_unknown_version_is_refused(dataset, tmp_path):
    doc = json.loads((dataset / "dataset.json").read_text(encoding="utf-8"))
    del doc["schema_version"]
    old = tmp_path / "dataset.json"
    old.write_text(json.dumps(doc), encoding="utf-8")
    assert DatasetInfo.read(old).dataset_id == doc["dataset_id"]
    doc["schema_version"] = 2
    old.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UserError, match=r"schema version 2.*reads dataset.json versions 1 to 1"):
        DatasetInfo.read(old)
    doc["schema_version"] = "one"
    old.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UserError, match="schema version 'one'"):
        DatasetInfo.read(old)


def test_a_broken_or_foreign_document_says_what_is_wrong(dataset, tmp_path):
    doc = json.loads((dataset / "dataset.json").read_text(encoding="utf-8"))
    doc["size"] = "large"
    doc["from_a_newer_writer"] = {"kept": False}  # unknown keys are ignored
    bad = tmp_path / "dataset.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UserError, match=r"does not follow the dataset.json contract: size"):
        DatasetInfo.read(bad)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(UserError, match="cannot read"):
        DatasetInfo.read(bad)
    with pytest.raises(UserError, match=r"no dataset\.json in"):
        DatasetInfo.read(tmp_path / "elsewhere")


def test_the_manifest_keeps_ids_as_text_and_extra_columns_after_the_contracts(dataset, tmp_path):
    frame = MANIFEST.read(dataset, REGION_KEYS)
    assert frame.columns.tolist() == MANIFEST.columns(REGION_KEYS)[:-1]  # no `view` in a build
    assert frame["image_id"].str.len().eq(3).all()
    row = next(MANIFEST.rows(frame, REGION_KEYS))
    assert set(row.labels) == set(REGION_KEYS) and row.kind == "original"
    extra = frame.assign(nih_finding=1).drop(columns=["kind"])
    MANIFEST.write(tmp_path, extra, REGION_KEYS)
    header = (tmp_path / "manifest.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[-1] == "nih_finding" and "kind" not in header
    with pytest.raises(UserError, match="missing column"):
        MANIFEST.read(tmp_path, [*REGION_KEYS, "hernia"])
