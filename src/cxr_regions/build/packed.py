"""Reading a dataset folder back: manifest, packed image array and ``dataset.json``.

Needs only numpy and pandas, so that evaluation and reporting code can read a dataset without torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cxr_regions.contracts.dataset import IMAGES_FILE, MANIFEST, SPLITS, DatasetInfo
from cxr_regions.errors import UserError

MISSING_OR_BINARY = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0}
MISSING_TEXT = frozenset({"", "nan", "<na>", "none"})
RESERVED_COLUMNS: frozenset[str] = frozenset(MANIFEST.columns())
"""Manifest columns that a label may not be named like."""


@dataclass
class PackedData:
    """A built dataset: ``manifest`` (one row per packed image), ``images`` (N×S×S uint8 memmap),
    ``meta`` (its ``dataset.json``, a :class:`~cxr_regions.contracts.DatasetInfo`)."""

    path: Path
    manifest: pd.DataFrame
    images: np.ndarray
    meta: DatasetInfo

    @property
    def label_names(self) -> list[str]:
        """The label columns, in order (the five region keys for ``build``, 14 findings for NIH)."""
        return list(self.meta.labels)

    @property
    def size(self) -> int:
        """Side length S of the packed square images."""
        return int(self.images.shape[1])

    @property
    def dataset_id(self) -> str:
        """A short id naming this exact dataset (folder name + manifest digest)."""
        return self.meta.dataset_id

    def split(self, name: str) -> pd.DataFrame:
        """The manifest rows of one split (``train``, ``val`` or ``test``)."""
        if name not in SPLITS:
            raise UserError(f"unknown split {name!r}; the splits are {', '.join(SPLITS)}")
        return self.manifest[self.manifest["split"] == name]

    def labels(self, rows: pd.DataFrame | None = None) -> np.ndarray:
        """Binary labels as float32 N×L, for all rows or the given manifest rows; NaN where a film's
        label is missing (an empty manifest cell: e.g. ChestX-ray14 says nothing of the aorta)."""
        frame = self.manifest if rows is None else rows
        return label_matrix(frame, self.label_names, str(MANIFEST.path_in(self.path)))

    def labelled(self, rows: pd.DataFrame | None = None) -> dict[str, int]:
        """Films with a label (0 or 1, not missing), per label name."""
        known = np.isfinite(self.labels(rows))
        return {name: int(known[:, j].sum()) for j, name in enumerate(self.label_names)}


def label_matrix(frame: pd.DataFrame, names: list[str], where: str = "manifest") -> np.ndarray:
    """The label columns as float32 N×L: ``0``/``1`` as numbers, an empty cell (or NaN) as NaN.

    Anything else is refused with the row it is on: a missing label must never become a silent 0.
    """
    out = np.empty((len(frame), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        text = frame[name].astype(str).str.strip().str.lower()
        values = text.map(MISSING_OR_BINARY)
        bad = values.isna() & ~text.isin(MISSING_TEXT)
        if bad.any():
            row = frame.index[bad.to_numpy()][0]
            raise UserError(
                f"{where}: label {name!r} of row {row} is {frame.at[row, name]!r}; labels must be 0, 1, "
                "or empty for a missing label"
            )
        out[:, j] = values.to_numpy(dtype=np.float32, na_value=np.nan)
    return out


def open_dataset(path: str | os.PathLike[str]) -> PackedData:
    """Open a dataset folder written by ``build`` (or ``build_from_arrays``, ``pretrain-prepare``).

    The image array is memory-mapped, so opening is instant whatever the dataset's size.
    """
    folder = Path(path)
    if not DatasetInfo.exists(folder):
        raise UserError(
            f"{folder} is not a built dataset: {DatasetInfo.FILE} is missing (run `cxr-regions build` "
            "first, or finish an interrupted build by running it again)"
        )
    meta = DatasetInfo.read(folder)
    for file in (MANIFEST.path_in(folder), folder / IMAGES_FILE):
        if not file.is_file():
            raise UserError(f"dataset {folder} is incomplete: {file.name} is missing; rebuild it")
    manifest = MANIFEST.read(folder, meta.labels)
    images = np.load(folder / IMAGES_FILE, mmap_mode="r")
    if images.ndim != 3 or images.dtype != np.uint8 or images.shape[1] != images.shape[2]:
        raise UserError(
            f"{folder / IMAGES_FILE}: expected a uint8 N×S×S array, found {images.dtype} {images.shape}"
        )
    if len(images) != len(manifest):
        raise UserError(
            f"dataset {folder} is inconsistent: {len(manifest)} manifest rows but {len(images)} "
            "packed images; rebuild it"
        )
    return PackedData(path=folder, manifest=manifest, images=images, meta=meta)
