"""A dataset folder: ``dataset.json`` (:class:`DatasetInfo`) and ``manifest.csv`` (:data:`MANIFEST`),
written by ``build`` and ``pretrain-prepare``, read by training, evaluation, explain, the report and
the reading room's demo films. ``dataset.json`` is written last: a folder without it is unfinished."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from cxr_regions.contracts.core import Document, Record, column
from cxr_regions.contracts.csv_table import Table
from cxr_regions.contracts.names import DATASET_JSON, MANIFEST_CSV

SPLITS: tuple[str, ...] = ("train", "val", "test")
IMAGES_FILE = "images.npy"
"""The packed uint8 array N×S×S in manifest order (``numpy.load(..., mmap_mode="r")``)."""
STATS_FILE = "stats.md"
UNMATCHED_FILE = "unmatched.csv"


class SplitCounts(Record):
    """Films and patients of one split; a ``pretrain-prepare`` folder adds one count per label."""

    model_config = ConfigDict(extra="allow")

    films: int = Field(description="Films (manifest rows) in the split.")
    patients: int = Field(description="Patients in the split.")
    epoch_draws: int | None = Field(None, description="Draws per training epoch (repeat factors summed).")

    def label(self, name: str) -> int | None:
        """The abnormal films of label ``name`` (``pretrain-prepare``), None where not labelled."""
        return (self.model_extra or {}).get(name)


class DatasetCounts(Record):
    """Films and patients, in all and per split."""

    films: int | None = Field(None, description="Manifest rows.")
    patients: int | None = Field(None, description="Patients.")
    source_films: int | None = Field(
        None, description="Distinct source films (fewer under `--protocol paper`)."
    )
    train: SplitCounts = Field(description="The training split.")
    val: SplitCounts = Field(description="The validation split.")
    test: SplitCounts = Field(description="The test split.")

    def split(self, name: str) -> SplitCounts:
        return {"train": self.train, "val": self.val, "test": self.test}[name]


class SplitLeak(Record):
    """How many films of an evaluation split share a source film or a patient with training."""

    films: int = Field(description="Films in the split.")
    sharing_source_film_with_train: int = Field(description="Films derived from a training film.")
    sharing_patient_with_train: int = Field(description="Films of a patient with training films.")
    fraction_sharing_source_film: float = Field(description="The first as a share of the films.")
    fraction_sharing_patient: float = Field(description="The second as a share of the films.")


class LeakCheck(Record):
    """The leak check run on every dataset."""

    val: SplitLeak = Field(description="The validation split against training.")
    test: SplitLeak = Field(description="The test split against training.")
    patients_in_several_splits: int = Field(description="Patients with films in more than one split.")
    leaking: bool = Field(description="Any of the above is not zero.")


class Oversampling(Record):
    """The repeat factors that lift rare labels to ``--min-share`` of the epoch."""

    scope: str = Field(
        description="Where the repeats apply (the training split, or all films before the split)."
    )
    share_before: dict[str, float] = Field(description="Label -> share of the epoch's draws before.")
    share_after: dict[str, float] = Field(description="Label -> share after.")
    boosted: list[str] = Field(description="Labels whose films were repeated.")
    unreachable: list[str] = Field(description="Labels that could not reach the share.")
    films: int = Field(description="Films the plan covers.")
    epoch_draws: int = Field(description="Draws per epoch after repeating.")
    max_repeat: int = Field(description="The largest repeat factor.")


class JoinCounts(Record):
    """What the join of images.csv and labels.csv kept and left out (``unmatched.csv`` lists them)."""

    films_in_images_csv: int = Field(description="Rows of images.csv.")
    reports_in_labels_csv: int = Field(description="Distinct report ids of labels.csv.")
    duplicate_report_rows_merged: int = Field(
        description="Repeated report rows combined (1 beats u beats 0)."
    )
    matched_films: int = Field(description="Films joined to a report.")
    films_without_report: int = Field(description="Films whose key matches no report.")
    reports_without_film: int = Field(description="Reports whose id matches no film.")
    films_left_out_other: int = Field(description="Films left out for other reasons (status, view, PNG).")
    reports_left_out_other: int = Field(description="Reports left out for other reasons (empty text).")


class PackedArray(Record):
    """The packed image array."""

    file: str = Field(description="Its file name (``images.npy``).")
    shape: list[int] = Field(description="N, S, S.")


class LabelMapping(Record):
    """One row of a region preparation's mapping of NIH findings to regions."""

    finding: str = Field(description="The NIH finding key.")
    region: str = Field(description="The region it marks abnormal.")
    reason: str = Field(description="Why (docs/chestx14.md).")


class DatasetInfo(Document):
    """``dataset.json``: what the dataset is, how it was made, and its counts."""

    FILE = DATASET_JSON
    WRITER = "cxr-regions build"

    kind: str = Field(
        "build",
        description="`build`, `chestx14` (pretrain-prepare) or `chestx14-regions` (with --regions).",
    )
    dataset_id: str = Field(
        description="The folder's name and a digest of its manifest: names this exact dataset."
    )
    protocol: str = Field(
        description="`clean` (split by patient first) or `paper` (the paper's leaking order)."
    )
    leaking: bool = Field(description="The leak check found a test or validation film tied to training.")
    labels: list[str] = Field(description="The label columns of the manifest, in order.")
    seed: int = Field(description="Seed of the split (and the paper protocol's augmentation).")
    size: int = Field(description="Side S of the packed square films, in pixels.")
    version: str = Field(description="The cxr-regions version that built it.")
    built_at: str = Field(description="When (ISO 8601, UTC).")
    inputs: dict[str, str] | None = Field(
        None, description="`build`'s inputs: `labels_csv` and `images_csv` (absolute paths), or `arrays`."
    )
    source: str | None = Field(None, description="pretrain-prepare: the ChestX-ray14 folder.")
    labels_csv: str | None = Field(None, description="pretrain-prepare: NIH's label file read.")
    split_source: str | None = Field(None, description="pretrain-prepare: official lists or a random split.")
    unlabelled_images: int | None = Field(
        None, description="pretrain-prepare: image files not in the label file."
    )
    missing_films: int | None = Field(None, description="pretrain-prepare: label rows without an image.")
    counts: DatasetCounts = Field(description="Films and patients, in all and per split.")
    leak_check: LeakCheck = Field(description="The leak check.")
    oversampling: Oversampling | None = Field(None, description="`build`: the oversampling plan.")
    raw_label_counts: dict[str, dict[str, int]] | None = Field(
        None, description="`build`: label -> counts of `1`, `u`, `0` before `u` is folded to 1."
    )
    join: JoinCounts | None = Field(None, description="`build` from tables: the join's counts.")
    images: PackedArray = Field(description="The packed array's file and shape.")
    manifest_sha256: str | None = Field(None, description="`build`: SHA-256 of manifest.csv.")
    manifest_digest: str | None = Field(
        None,
        description="pretrain-prepare: digest of the manifest, size and resizing (a rerun reuses a match).",
    )
    label_source: str | None = Field(
        None, description="Where the labels come from, where not the report labeler."
    )
    label_mapping: list[LabelMapping] | None = Field(
        None, description="pretrain-prepare --regions: the mapping."
    )
    unlabelled_labels: list[str] | None = Field(
        None, description="Labels missing on every film (not normal)."
    )
    sites: list[str] | None = Field(None, description="Where the films come from, where known.")
    config: dict[str, Any] = Field(
        description="The settings it was made with (as build.yaml / prepare.yaml)."
    )


class ManifestRow(Record):
    """One packed film: a row of ``manifest.csv``, in split order (train, val, test)."""

    index: int = column("Row in the packed array.")
    image_id: str = column("The film's id (images.csv's; `<source>~dup<k>` / `<source>~aug<k>` for copies).")
    patient_key: str = column("The salted patient key: the split is by patient.")
    labels: dict[str, Any] = column(
        "One column per label (dataset.json's `labels`): `0`/`1`, empty where the label is missing.",
        template="<label>",
    )
    label_string: str = column(
        "The labels as one string in order (`-` for a missing one in a region preparation)."
    )
    split: str = column("`train`, `val` or `test`.")
    repeat: int = column("Repeat factor for the training epoch (1 elsewhere).")
    source_image_id: str = column("The film a row derives from (itself under `clean`).")
    kind: str = column(
        "`original`, or under `--protocol paper` `duplicate` / `augmented`; not in pretrain-prepare's.",
        optional=True,
        default="original",
    )
    view: str | None = column("pretrain-prepare: NIH's view position.", optional=True)


MANIFEST = Table(MANIFEST_CSV, ManifestRow, "cxr-regions build", strip=False)
"""``manifest.csv``; ``MANIFEST.read(folder, labels)``. Columns after the contract's (a region
preparation's 14 finding columns) are kept as they are."""
