"""Train/val/test for ChestX-ray14, never splitting a patient's films.

With the official list files, ``test`` is ``test_list.txt`` and ``val`` is a share of the
``train_val_list.txt`` patients; without them, patients are split at random
(scikit-learn's ``GroupShuffleSplit``, groups = patients).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

from cxr_regions.errors import UserError
from cxr_regions.pretrain.nih import LIST_FILES, NihIndex
from cxr_regions.pretrain.prepare_config import SplitConfig

SPLITS = ("train", "val", "test")


def _hold_out(groups: pd.Series, fraction: float, seed: int) -> np.ndarray:
    """A boolean mask of the rows whose patient falls in a random ``fraction`` of the patients."""
    mask = np.zeros(len(groups), dtype=bool)
    if fraction <= 0 or groups.nunique() < 2:
        return mask
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    _, held = next(splitter.split(np.zeros(len(groups)), groups=groups.to_numpy()))
    mask[held] = True
    return mask


def assign_splits(index: NihIndex, config: SplitConfig | None = None) -> pd.Series:
    """The split (``train``/``val``/``test``) of each row of ``index.table``, patient-disjoint.

    Raises :class:`UserError` where the official lists leave a film out or put one patient
    in both lists.
    """
    config = config or SplitConfig()
    for name, value in (("val_fraction", config.val_fraction), ("test_fraction", config.test_fraction)):
        if not 0 <= value < 1:
            raise UserError(f"{name} must be in [0, 1), got {value}.")
    table = index.table
    split = pd.Series("train", index=table.index, dtype=object)
    if index.official_lists is not None:
        is_test = table["image_name"].isin(index.official_lists["test"]).to_numpy()
        in_train_val = table["image_name"].isin(index.official_lists["train_val"]).to_numpy()
        unlisted = table.loc[~(is_test | in_train_val), "image_name"]
        if len(unlisted):
            raise UserError(
                f"{len(unlisted)} films of {index.labels_csv.name} are in neither {LIST_FILES[0]} nor "
                f"{LIST_FILES[1]} (first: {unlisted.iloc[0]}): the list files do not belong to this "
                "label file. Use the files of one download, or remove both lists for a patient-level split."
            )
        crossing = set(table.loc[is_test, "patient_key"]) & set(table.loc[~is_test, "patient_key"])
        if crossing:
            raise UserError(
                f"{len(crossing)} patients have films in both {LIST_FILES[0]} and {LIST_FILES[1]}: "
                "the official split is patient-disjoint, so these lists are not the official ones."
            )
    else:
        is_test = _hold_out(table["patient_key"], config.test_fraction, config.seed)
    split[is_test] = "test"
    rest = ~is_test
    val_mask = np.zeros(len(table), dtype=bool)
    val_mask[np.flatnonzero(rest)] = _hold_out(
        table.loc[rest, "patient_key"].reset_index(drop=True), config.val_fraction, config.seed + 1
    )
    split[val_mask] = "val"
    return split
