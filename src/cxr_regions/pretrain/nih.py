"""Read ChestX-ray14 in the layout NIH publishes it.

The official download (https://nihcc.app.box.com/v/ChestXray-NIHCC) unpacks to::

    NIH_DIR/
      Data_Entry_2017.csv          (or Data_Entry_2017_v2020.csv, the 2020 revision)
      train_val_list.txt           optional: the official patient-disjoint split
      test_list.txt
      images/00000001_000.png ...  (images_001.tar.gz ... images_012.tar.gz extracted)
      or images_001/images/...     (the per-archive folders of other mirrors)

Patient IDs are turned into a hashed ``patient_key`` here and go no further.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from cxr_regions.errors import UserError
from cxr_regions.pretrain.nih_findings import FINDING_KEYS, parse_finding_labels

DOWNLOAD_URL = "https://nihcc.app.box.com/v/ChestXray-NIHCC"
LABEL_FILES = ("Data_Entry_2017_v2020.csv", "Data_Entry_2017.csv")
LIST_FILES = ("train_val_list.txt", "test_list.txt")
REQUIRED_COLUMNS = ("Image Index", "Finding Labels", "Patient ID")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


@dataclass
class NihIndex:
    """The films of one ChestX-ray14 folder, one row each, with their image files found.

    ``table`` columns: ``image_id`` (NIH image index without extension), ``patient_key`` (hashed
    patient ID), ``view``, the 14 finding columns (0/1), ``path`` (absolute image path).
    ``missing`` lists CSV rows whose image was not found (kept only when the caller allows it);
    ``unlabelled`` counts image files that the label file does not list (not used).
    """

    root: Path
    labels_csv: Path
    table: pd.DataFrame
    missing: pd.DataFrame
    official_lists: dict[str, set[str]] | None
    unlabelled: int = 0


def patient_key(patient_id: object) -> str:
    """A stable key for one NIH patient ID that does not show the ID itself."""
    return hashlib.sha256(f"chestx14:{patient_id}".encode()).hexdigest()[:16]


def find_labels_csv(root: Path) -> Path:
    """The label file in ``root``: the v2020 revision where present, else the 2017 file."""
    for name in LABEL_FILES:
        if (root / name).is_file():
            return root / name
    raise UserError(
        f"no ChestX-ray14 label file in {root}: expected {' or '.join(LABEL_FILES)}. Download "
        f"Data_Entry_2017_v2020.csv from {DOWNLOAD_URL} and put it in that folder (see docs/chestx14.md)."
    )


def find_images(root: Path) -> dict[str, Path]:
    """Map file name -> path of every film in ``images/``, ``images_*/`` or ``images_*/images/``."""
    found: dict[str, Path] = {}
    for pattern in ("images*/*", "images*/images/*"):
        for path in sorted(root.glob(pattern)):
            if path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith(".") or not path.is_file():
                continue
            if path.name in found:
                raise UserError(
                    f"image {path.name} found twice: {found[path.name]} and {path}. Keep one copy of "
                    f"each film under {root} (an archive extracted twice?)."
                )
            found[path.name] = path.resolve()
    if not found:
        archives = sorted(root.glob("images_*.tar.gz"))
        hint = (
            f"extract the {len(archives)} images_*.tar.gz archives there first (tar xzf FILE -C {root})"
            if archives
            else f"download images_001.tar.gz ... images_012.tar.gz from {DOWNLOAD_URL}, extract them there"
        )
        raise UserError(f"no images under {root}/images or {root}/images_*/: {hint}.")
    return found


def read_official_lists(root: Path) -> dict[str, set[str]] | None:
    """``{"train_val": names, "test": names}`` from the official list files, or None where both are absent."""
    present = [name for name in LIST_FILES if (root / name).is_file()]
    if not present:
        return None
    if len(present) == 1:
        missing = next(name for name in LIST_FILES if name not in present)
        raise UserError(
            f"{root} has {present[0]} but not {missing}: put both official list files there "
            f"(from {DOWNLOAD_URL}) or remove both to use a patient-level split."
        )
    lists = {}
    for key, name in zip(("train_val", "test"), LIST_FILES, strict=True):
        lines = (root / name).read_text(encoding="utf-8").split()
        lists[key] = {line.strip() for line in lines if line.strip()}
    both = lists["train_val"] & lists["test"]
    if both:
        raise UserError(
            f"{len(both)} images are in both {LIST_FILES[0]} and {LIST_FILES[1]} (e.g. {sorted(both)[0]}): "
            "the list files are damaged; download them again."
        )
    return lists


def read_labels(labels_csv: Path) -> pd.DataFrame:
    """The NIH label file as one row per film: image name, patient key, view and the 14 findings."""
    try:
        raw = pd.read_csv(labels_csv, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {labels_csv}: {exc}") from exc
    raw.columns = [c.strip() for c in raw.columns]
    absent = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
    if absent:
        raise UserError(
            f"{labels_csv} lacks the column(s) {', '.join(absent)}; is it the NIH Data_Entry file? "
            f"Its columns are: {', '.join(raw.columns)}."
        )
    names = raw["Image Index"].str.strip()
    dup = names[names.duplicated()]
    if len(dup):
        raise UserError(
            f"{labels_csv}: image {dup.iloc[0]} is listed {int((names == dup.iloc[0]).sum())} times."
        )
    rows = []
    for line, (name, cell, pid) in enumerate(
        zip(names, raw["Finding Labels"], raw["Patient ID"].str.strip(), strict=True), start=2
    ):
        if not name or not pid:
            raise UserError(f"{labels_csv}, line {line}: empty Image Index or Patient ID.")
        try:
            rows.append(parse_finding_labels(cell))
        except ValueError as exc:
            raise UserError(f"{labels_csv}, line {line} ({name}): {exc}.") from None
    table = pd.DataFrame(rows, columns=list(FINDING_KEYS), dtype="int8")
    table.insert(0, "image_name", names.to_numpy())
    table.insert(1, "image_id", [Path(n).stem for n in names])
    table.insert(
        2, "patient_key", [patient_key(pid.lstrip("0") or "0") for pid in raw["Patient ID"].str.strip()]
    )
    view = raw["View Position"].str.strip() if "View Position" in raw.columns else ""
    table.insert(3, "view", view)
    return table


def read_nih(root: str | Path, allow_missing: bool = False) -> NihIndex:
    """Read a ChestX-ray14 folder: labels, image files and (where present) the official split lists.

    A CSV row whose image is absent is an error unless ``allow_missing`` (a partial download);
    then it is listed in ``NihIndex.missing``, never dropped silently.
    """
    root = Path(root).expanduser().resolve()
    if not root.is_dir():
        raise UserError(
            f"{root} is not a folder; give the folder holding ChestX-ray14 (see docs/chestx14.md)."
        )
    labels_csv = find_labels_csv(root)
    table = read_labels(labels_csv)
    images = find_images(root)
    table["path"] = [str(images[n]) if n in images else "" for n in table["image_name"]]
    found = table["path"] != ""
    missing = table.loc[~found, ["image_name", "image_id"]].reset_index(drop=True)
    if len(missing) and not allow_missing:
        raise UserError(
            f"{len(missing)} of {len(table)} films in {labels_csv.name} have no image under {root} "
            f"(first: {missing['image_name'].iloc[0]}). Extract all images_*.tar.gz archives, or pass "
            "--allow-missing to use the films present (the missing ones are listed in missing.csv)."
        )
    table = table.loc[found].reset_index(drop=True)
    return NihIndex(
        root=root,
        labels_csv=labels_csv,
        table=table,
        missing=missing,
        official_lists=read_official_lists(root),
        unlabelled=len(set(images) - set(table["image_name"])),
    )
