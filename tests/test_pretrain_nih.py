"""Reading ChestX-ray14 in its official layout, and splitting it without crossing patients."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from cxr_regions.errors import UserError
from cxr_regions.pretrain.nih import read_nih
from cxr_regions.pretrain.nih_findings import FINDING_KEYS, parse_finding_labels
from cxr_regions.pretrain.nih_split import SplitConfig, assign_splits
from helpers import shared_path


@pytest.fixture(scope="module")
def nih_sample() -> Path:
    return shared_path("nih-sample")


def _layout(tmp: Path, sample: Path, images_at: str = "images") -> Path:
    """A ChestX-ray14 folder of links to the real sample: label file + image folder, no copies."""
    root = tmp / "nih"
    (root / images_at).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(sample / "images", root / images_at)
    os.symlink(sample / "Data_Entry_2017.csv", root / "Data_Entry_2017.csv")
    return root


def _patients_per_split(table: pd.DataFrame, split: pd.Series) -> dict[str, set[str]]:
    return {name: set(table.loc[split == name, "patient_key"]) for name in ("train", "val", "test")}


def test_reader_parses_the_real_label_file_and_finds_every_film(nih_sample):
    index = read_nih(nih_sample)
    table = index.table
    raw = pd.read_csv(nih_sample / "Data_Entry_2017.csv")
    assert len(table) == 200 and len(index.missing) == 0
    assert table["patient_key"].nunique() == raw["Patient ID"].nunique() == 137
    assert all(
        Path(p).is_file() and Path(p).name == n
        for p, n in zip(table["path"], table["image_name"], strict=True)
    )
    assert index.official_lists is None
    # The data README's counts: 94 "No Finding" films (all zero), 106 with pneumonia, 3 hernia.
    assert (table[list(FINDING_KEYS)].sum(axis=1) == 0).sum() == 94
    assert table["pneumonia"].sum() == 106 and table["hernia"].sum() == 3
    assert table["pleural_thickening"].sum() == raw["Finding Labels"].str.contains("Pleural_Thickening").sum()
    # The raw NIH patient ID never appears as a key.
    assert not set(table["patient_key"]) & set(raw["Patient ID"].astype(str))


def test_reader_finds_images_in_the_per_archive_folders(tmp_path, nih_sample):
    root = _layout(tmp_path, nih_sample, images_at="images_001/images")
    index = read_nih(root)
    assert len(index.table) == 200
    assert all(Path(p).is_file() for p in index.table["path"])


def test_missing_films_are_an_error_unless_allowed_and_then_listed(tmp_path, nih_sample):
    root = tmp_path / "nih"
    (root / "images").mkdir(parents=True)
    names = sorted(p.name for p in (nih_sample / "images").iterdir())
    for name in names[:-3]:
        os.symlink(nih_sample / "images" / name, root / "images" / name)
    os.symlink(nih_sample / "Data_Entry_2017.csv", root / "Data_Entry_2017.csv")
    with pytest.raises(UserError, match=r"3 of 200 films.*--allow-missing"):
        read_nih(root)
    index = read_nih(root, allow_missing=True)
    assert len(index.table) == 197
    assert sorted(index.missing["image_name"]) == names[-3:]


def test_a_folder_without_the_label_file_says_what_to_download(tmp_path):
    (tmp_path / "images").mkdir()
    with pytest.raises(UserError, match=r"Data_Entry_2017.*nihcc\.app\.box\.com"):
        read_nih(tmp_path)


def test_finding_labels_no_finding_is_all_zero_and_unknown_labels_are_refused():
    assert set(parse_finding_labels("No Finding").values()) == {0}
    both = parse_finding_labels("Effusion|Pleural_Thickening")
    assert [k for k, v in both.items() if v] == ["effusion", "pleural_thickening"]
    with pytest.raises(ValueError, match="Pneumonitis"):
        parse_finding_labels("Pneumonia|Pneumonitis")
    with pytest.raises(ValueError, match="No Finding"):
        parse_finding_labels("No Finding|Mass")


def test_patient_level_split_without_list_files_keeps_each_patient_in_one_split(nih_sample):
    index = read_nih(nih_sample)
    split = assign_splits(index, SplitConfig(val_fraction=0.1, test_fraction=0.2, seed=3))
    patients = _patients_per_split(index.table, split)
    assert all(patients.values()), "every split gets patients"
    assert not patients["train"] & patients["val"]
    assert not patients["train"] & patients["test"]
    assert not patients["val"] & patients["test"]
    assert len(patients["test"]) == pytest.approx(0.2 * 137, abs=1)


def test_official_list_files_give_test_and_val_comes_from_train_val_patients(tmp_path, nih_sample):
    root = _layout(tmp_path, nih_sample)
    raw = pd.read_csv(nih_sample / "Data_Entry_2017.csv")
    test_patients = sorted(raw["Patient ID"].unique())[::4]
    is_test = raw["Patient ID"].isin(test_patients)
    (root / "test_list.txt").write_text("\n".join(raw.loc[is_test, "Image Index"]) + "\n")
    # The official lists cover all 112,120 films; names beyond this download are ignored.
    (root / "train_val_list.txt").write_text(
        "\n".join([*raw.loc[~is_test, "Image Index"], "99999999_000.png"])
    )
    index = read_nih(root)
    split = assign_splits(index, SplitConfig(val_fraction=0.2, seed=0))
    by_name = dict(zip(index.table["image_name"], split, strict=True))
    assert {n for n, s in by_name.items() if s == "test"} == set(raw.loc[is_test, "Image Index"])
    patients = _patients_per_split(index.table, split)
    assert patients["val"] and not patients["val"] & patients["train"]
    assert not patients["test"] & (patients["train"] | patients["val"])


def test_list_files_that_split_a_patient_or_come_alone_are_refused(tmp_path, nih_sample):
    root = _layout(tmp_path, nih_sample)
    raw = pd.read_csv(nih_sample / "Data_Entry_2017.csv")
    names = list(raw["Image Index"])
    (root / "test_list.txt").write_text("\n".join(names[::2]))
    with pytest.raises(UserError, match=r"train_val_list\.txt"):
        read_nih(root)
    (root / "train_val_list.txt").write_text("\n".join(names[1::2]))
    with pytest.raises(UserError, match="patients have films in both"):
        assign_splits(read_nih(root))


def test_the_2020_label_file_is_preferred_and_a_bad_row_is_named(tmp_path, nih_sample):
    root = tmp_path / "nih"
    root.mkdir()
    os.symlink(nih_sample / "images", root / "images")
    raw = pd.read_csv(nih_sample / "Data_Entry_2017.csv", dtype=str)
    raw.iloc[:50].to_csv(root / "Data_Entry_2017_v2020.csv", index=False)
    raw.to_csv(root / "Data_Entry_2017.csv", index=False)
    index = read_nih(root, allow_missing=False)
    assert index.labels_csv.name == "Data_Entry_2017_v2020.csv" and len(index.table) == 50
    assert index.unlabelled == 150
    raw.loc[7, "Finding Labels"] = "Effusion|Pleural Effusion"
    raw.iloc[:50].to_csv(root / "Data_Entry_2017_v2020.csv", index=False)
    with pytest.raises(UserError, match=rf"line 9 \({raw.loc[7, 'Image Index']}\).*'Pleural Effusion'"):
        read_nih(root)
