"""The dataset builder: patient-level split, oversampling, leak check, join and packing from files."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pandas as pd
import pytest

from cxr_regions.build import BuildConfig, build_dataset, build_from_arrays, open_dataset
from cxr_regions.build.oversample import label_shares
from cxr_regions.errors import UserError
from cxr_regions.regions import REGION_KEYS

PREVALENCE = {"thorax": 0.04, "lungs": 0.35, "aorta": 0.15, "heart": 0.2, "diaphragm": 0.06}


def make_table(n_patients: int = 240, seed: int = 0) -> tuple[np.ndarray, pd.DataFrame]:
    """Films of patients with 1-3 films each; rare thorax/diaphragm, some `u` values."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_patients):
        for f in range(int(rng.integers(1, 4))):
            values = {k: ("1" if rng.random() < q else "0") for k, q in PREVALENCE.items()}
            if rng.random() < 0.05:
                values["aorta"] = "u"
            rows.append({"image_id": f"img{p:04d}_{f}", "patient_key": f"key{p:04d}", **values})
    table = pd.DataFrame(rows)
    images = rng.integers(0, 256, size=(len(table), 32, 32), dtype=np.uint8)
    return images, table


@pytest.fixture(scope="module")
def arrays():
    return make_table()


@pytest.fixture(scope="module")
def clean(tmp_path_factory, arrays):
    images, table = arrays
    out = tmp_path_factory.mktemp("clean") / "ds"
    return open_dataset(build_from_arrays(out, images, table, BuildConfig(size=32, progress=False)))


@pytest.fixture(scope="module")
def paper(tmp_path_factory, arrays):
    images, table = arrays
    out = tmp_path_factory.mktemp("paper") / "ds"
    config = BuildConfig(size=32, protocol="paper", progress=False)
    return open_dataset(build_from_arrays(out, images, table, config))


def test_clean_split_never_puts_a_patient_in_two_splits(clean):
    per_patient = clean.manifest.groupby("patient_key")["split"].nunique()
    assert per_patient.max() == 1
    sizes = clean.manifest["split"].value_counts(normalize=True)
    assert sizes["train"] == pytest.approx(0.8, abs=0.05)
    assert sizes["val"] == pytest.approx(0.1, abs=0.04)
    assert sizes["test"] == pytest.approx(0.1, abs=0.04)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_region_with_ten_positives_has_positives_in_val_and_test(tmp_path, seed):
    images, table = make_table(n_patients=120, seed=seed)
    config = BuildConfig(size=32, seed=seed, progress=False)
    data = open_dataset(build_from_arrays(tmp_path / "ds", images, table, config))
    manifest = data.manifest
    for key in REGION_KEYS:
        if manifest[key].sum() >= 10:
            for split in ("val", "test"):
                assert manifest.loc[manifest["split"] == split, key].sum() > 0, (key, split)


def test_oversampling_touches_only_train_and_reaches_the_share(clean):
    manifest = clean.manifest
    assert (manifest.loc[manifest["split"] != "train", "repeat"] == 1).all()
    train = manifest[manifest["split"] == "train"]
    assert (train["repeat"] > 1).any()
    labels = train[list(REGION_KEYS)].to_numpy()
    plain = label_shares(labels, np.ones(len(train), dtype=int), REGION_KEYS)
    shares = label_shares(labels, train["repeat"].to_numpy(), REGION_KEYS)
    assert plain["thorax"] < 0.2 and plain["diaphragm"] < 0.2
    for key in REGION_KEYS:
        assert shares[key] >= 0.2 - 1e-9, key
    assert clean.meta.oversampling.share_after["thorax"] == pytest.approx(shares["thorax"])


def test_u_is_folded_to_abnormal_and_counted_raw(clean, arrays):
    _, table = arrays
    raw = clean.meta.raw_label_counts["aorta"]
    assert raw["u"] == (table["aorta"] == "u").sum() > 0
    assert clean.manifest["aorta"].sum() == raw["1"] + raw["u"]


def test_leak_check_finds_paper_leakage_and_none_under_clean(clean, paper):
    assert clean.meta.leaking is False
    assert clean.meta.leak_check.test.sharing_source_film_with_train == 0
    assert clean.meta.leak_check.test.sharing_patient_with_train == 0
    leak = paper.meta.leak_check
    assert paper.meta.leaking is True
    assert leak.test.sharing_source_film_with_train > 0.5 * leak.test.films
    assert leak.patients_in_several_splits > 0
    stats = (paper.path / "stats.md").read_text(encoding="utf-8")
    assert "LEAKING" in stats


def test_paper_protocol_expands_by_the_papers_factor(paper, arrays):
    _, table = arrays
    manifest = paper.manifest
    assert len(manifest) == round(len(table) * 8632 / 1877)
    assert set(manifest["source_image_id"]) == set(table["image_id"])
    originals = manifest[manifest["kind"] == "original"]
    source_rows = table.set_index("image_id").index.get_indexer(originals["image_id"])
    images, _ = arrays
    assert np.array_equal(paper.images[originals["index"].to_numpy()], images[source_rows])
    augmented = manifest[manifest["kind"] == "augmented"].iloc[0]
    source = images[table.index[table["image_id"] == augmented["source_image_id"]][0]]
    assert not np.array_equal(paper.images[augmented["index"]], source)
    for key in ("thorax", "diaphragm"):
        assert manifest[key].mean() >= 0.2 - 1e-9


def write_ingest(folder, n_patients=30, seed=0):
    """A fake ingest folder: PNGs of several sizes and an images.csv as docs/data-contracts.md says."""
    rng = np.random.default_rng(seed)
    (folder / "png").mkdir(parents=True)
    images, reports = [], []
    for p in range(n_patients):
        for f in range(2):
            image_id = f"im{p:03d}{f}"
            shape = (256, 256) if f == 0 else (300, 240)
            pixels = rng.integers(0, 256, size=shape, dtype=np.uint8)
            cv2.imwrite(str(folder / "png" / f"{image_id}.png"), pixels)
            images.append(
                {
                    "image_id": image_id,
                    "png_path": f"png/{image_id}.png",
                    "patient_key": f"pk{p:03d}",
                    "accession_number": f"A{p:03d}",
                    "view": "PA",
                }
            )
        values = {k: str(int(rng.random() < 0.3)) for k in REGION_KEYS}
        reports.append({"report_id": f"A{p:03d}", **values, "label_string": "", "status": "ok"})
    images.append(
        {**images[0], "image_id": "orphan", "accession_number": "A999", "png_path": "png/im0000.png"}
    )
    reports.append({"report_id": "R-nofilm", **dict.fromkeys(REGION_KEYS, "0"), "status": "ok"})
    pd.DataFrame(images).to_csv(folder / "images.csv", index=False)
    pd.DataFrame(reports).to_csv(folder / "labels.csv", index=False)
    return folder


def test_build_from_files_joins_by_accession_and_packs_exact_pixels(tmp_path):
    ingest = write_ingest(tmp_path / "ingest")
    out = build_dataset(
        ingest / "labels.csv", ingest / "images.csv", tmp_path / "ds", BuildConfig(progress=False, workers=2)
    )
    data = open_dataset(out)
    assert len(data.manifest) == 60
    meta = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    assert meta["join"]["films_without_report"] == 1
    assert meta["join"]["reports_without_film"] == 1
    unmatched = pd.read_csv(out / "unmatched.csv")
    assert set(unmatched["id"]) == {"orphan", "R-nofilm"}
    square = data.manifest[data.manifest["image_id"].str.endswith("0")].iloc[0]
    png = cv2.imread(str(ingest / "png" / f"{square['image_id']}.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(data.images[square["index"]], png)
    assert data.images.shape == (60, 256, 256)
    for column in ("index", "image_id", "patient_key", *REGION_KEYS, "label_string", "split", "repeat"):
        assert column in data.manifest.columns


def test_bad_label_value_is_a_user_error(tmp_path, arrays):
    images, table = arrays
    table = table.copy()
    table.loc[3, "heart"] = "maybe"
    with pytest.raises(UserError, match="heart"):
        build_from_arrays(tmp_path / "ds", images, table, BuildConfig(size=32, progress=False))


def test_build_command_writes_both_protocols(tmp_path):
    from typer.testing import CliRunner

    from cxr_regions.cli import app

    ingest = write_ingest(tmp_path / "ingest", n_patients=20)
    args = ["build", "--labels", str(ingest / "labels.csv"), "--images", str(ingest / "images.csv")]
    result = CliRunner().invoke(app, [*args, str(tmp_path / "clean"), "--size", "64"])
    assert result.exit_code == 0, result.output
    assert "1 films without report" in result.output
    result = CliRunner().invoke(app, [*args, str(tmp_path / "paper"), "--size", "64", "--protocol", "paper"])
    assert result.exit_code == 0, result.output
    assert "LEAKING" in result.output
    paper = open_dataset(tmp_path / "paper")
    assert paper.meta.leaking is True and len(paper.manifest) == round(40 * 8632 / 1877)


def test_join_by_image_id_lists_every_film_and_report_left_out(tmp_path):
    ingest = write_ingest(tmp_path / "ingest", n_patients=10)
    images = pd.read_csv(ingest / "images.csv", dtype=str)
    images.loc[1, "view"] = "LATERAL"
    images.to_csv(ingest / "images.csv", index=False)
    labels = pd.DataFrame(
        {"report_id": images["image_id"], **dict.fromkeys(REGION_KEYS, "0"), "status": "ok"}
    )
    labels.loc[2, ["lungs", "status"]] = ["0", "empty_text"]
    labels.loc[3, "heart"] = "u"
    labels.to_csv(ingest / "labels.csv", index=False)
    config = BuildConfig(join="image_id", views=("PA",), size=32, progress=False)
    data = open_dataset(build_dataset(ingest / "labels.csv", ingest / "images.csv", tmp_path / "ds", config))
    unmatched = pd.read_csv(data.path / "unmatched.csv")
    films = unmatched[unmatched["kind"] == "film"].set_index("id")["reason"]
    reports = unmatched[unmatched["kind"] == "report"].set_index("id")["reason"]
    lateral, empty = images.loc[1, "image_id"], images.loc[2, "image_id"]
    assert films[lateral] == "view LATERAL not selected"
    assert reports[lateral].startswith("its film(s) left out")
    assert reports[empty] == "report text is empty"
    assert data.meta.join.reports_without_film == 0
    assert len(data.manifest) == len(images) - 2
    assert not {lateral, empty} & set(data.manifest["image_id"])
    heart = data.manifest.set_index("image_id").loc[images.loc[3, "image_id"], "heart"]
    assert heart == 1


def test_a_share_that_cannot_be_reached_is_reported_not_looped(tmp_path):
    rng = np.random.default_rng(0)
    names = [f"finding{i}" for i in range(8)]
    n = 400
    which = rng.integers(0, 8, n)
    table = pd.DataFrame(
        {"image_id": [f"i{k}" for k in range(n)], "patient_key": [f"p{k}" for k in range(n)]}
    )
    for j, name in enumerate(names):
        table[name] = (which == j).astype(int)
    images = np.zeros((n, 16, 16), dtype=np.uint8)
    config = BuildConfig(size=16, min_share=0.2, progress=False)
    data = open_dataset(build_from_arrays(tmp_path / "ds", images, table, config, label_names=names))
    oversampling = data.meta.oversampling
    assert oversampling.unreachable, "8 disjoint labels cannot each be 20% of the draws"
    assert oversampling.epoch_draws <= (10 / (1 - 0.2) + 1) * oversampling.films
    assert data.label_names == names and list(data.manifest.columns[3:11]) == names


def test_stats_md_holds_table1_of_all_films_and_of_each_split(clean):
    from cxr_regions.label import table1

    stats = (clean.path / "stats.md").read_text(encoding="utf-8")
    manifest = clean.manifest
    for split in ("all films", "train", "val", "test"):
        part = manifest if split == "all films" else manifest[manifest["split"] == split]
        counts = table1(part, clean.label_names).set_index("label")
        section = stats.split(f"## Table 1: {split}\n", 1)[1].split("\n## ", 1)[0]
        assert f"| heart | 心影 | {counts.loc['heart', 'films']} |" in section
        assert f"| total | 合计 | {len(part)} |" in section
