"""Train/validation/test split by group (patient), multilabel-stratified over the labels.

Each group (a patient under the clean protocol, a single image under the paper's) gets the label
vector "has at least one positive film" per label plus a "has an all-normal film" column, and
iterative stratification (Sechidis et al. 2011, the ``iterative-stratification`` package) deals the
groups into the three splits so that every label's positives are shared out in proportion. A final
pass makes sure that each label with enough positives has some in validation and test.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import IterativeStratification

from cxr_regions.build.packed import SPLITS
from cxr_regions.errors import UserError


def group_labels(labels: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-group stratification targets: (unique groups, bool G×(L+1) — any positive per label, any
    all-normal film) and the group index of every row."""
    codes, uniques = pd.factorize(pd.Series(groups), sort=False)
    positive = labels.astype(bool)
    targets = np.zeros((len(uniques), positive.shape[1] + 1), dtype=bool)
    np.logical_or.at(targets[:, :-1], codes, positive)
    np.logical_or.at(targets[:, -1], codes, ~positive.any(axis=1))
    return targets, codes


def stratified_split(
    labels: np.ndarray,
    groups: np.ndarray | Sequence[str],
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    min_positives: int = 10,
) -> np.ndarray:
    """Assign each row to ``train``/``val``/``test`` so that no group spans two splits.

    ``labels``: binary N×L; ``groups``: N group keys (patient keys). Labels with at least
    ``min_positives`` positive rows are guaranteed positives in every split with a non-zero fraction
    (a group is moved from the split holding most of them when stratification left one empty).
    Returns an array of split names, one per row.
    """
    labels = np.asarray(labels)
    groups = np.asarray(groups)
    if len(labels) != len(groups):
        raise ValueError("labels and groups must have one row per film")
    targets, codes = group_labels(labels, groups)
    n_groups = len(targets)
    wanted = sum(1 for f in fractions if f > 0)
    if n_groups < wanted:
        raise UserError(
            f"cannot split {n_groups} patient(s) into {wanted} non-empty splits; add films or change --split"
        )
    rng = np.random.RandomState(seed)
    order = rng.permutation(n_groups)
    folds_shuffled = IterativeStratification(
        labels=targets[order], r=np.asarray(fractions, dtype=float), random_state=rng
    )
    folds = np.empty(n_groups, dtype=int)
    folds[order] = folds_shuffled
    _fill_empty_splits(folds, targets, codes, labels, fractions, min_positives)
    return np.asarray(SPLITS, dtype=object)[folds[codes]]


def _fill_empty_splits(
    folds: np.ndarray,
    targets: np.ndarray,
    codes: np.ndarray,
    labels: np.ndarray,
    fractions: tuple[float, float, float],
    min_positives: int,
) -> None:
    """Move whole groups so that each split with a non-zero fraction holds every label that has at
    least ``min_positives`` positive rows; empty splits get a group too. Works in place on ``folds``."""
    films_per_group = np.bincount(codes, minlength=len(folds))
    positives_per_group = np.zeros((len(folds), labels.shape[1]), dtype=int)
    np.add.at(positives_per_group, codes, labels.astype(int))
    active = [i for i, f in enumerate(fractions) if f > 0]
    columns = [j for j in range(labels.shape[1]) if labels[:, j].sum() >= min_positives] + [None]
    for target_fold in active:
        for j in columns:
            has = targets[:, j] if j is not None else np.ones(len(folds), dtype=bool)
            if np.any(has & (folds == target_fold)):
                continue
            counts = np.bincount(folds[has], minlength=len(fractions))
            donor = int(np.argmax(counts))
            if counts[donor] < 2:
                continue
            candidates = np.flatnonzero(has & (folds == donor))
            weight = films_per_group[candidates] if j is None else positives_per_group[candidates, j]
            best = candidates[np.lexsort((films_per_group[candidates], weight))[0]]
            folds[best] = target_fold


def patients_in_several_splits(patient_keys: Sequence[str], splits: Sequence[str]) -> list[str]:
    """The patient keys that occur in more than one split (empty when the split is clean)."""
    frame = pd.DataFrame({"patient_key": list(patient_keys), "split": list(splits)})
    per_patient = frame.groupby("patient_key", sort=False)["split"].nunique()
    return per_patient[per_patient > 1].index.tolist()
