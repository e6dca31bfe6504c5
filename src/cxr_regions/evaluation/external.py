"""External validation: a run scored on a data set it was not trained on, labels matched by name.

Thresholds and calibration are never chosen on the films being scored: they come from the run's
own validation split (its training data set), and where that data set is not at hand the
thresholds fall back to 0.5 and the probabilities stay uncalibrated, as ``auc.md`` says.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cxr_regions.errors import UserError

SPLITS_ALL = ("train", "val", "test")


def label_overlap(run_labels: Sequence[str], dataset_labels: Sequence[str]) -> dict[str, list[str]]:
    """Which labels are scored (in both), predicted only, and in the data set only."""
    return {
        "scored": [n for n in run_labels if n in dataset_labels],
        "run_only": [n for n in run_labels if n not in dataset_labels],
        "dataset_only": [n for n in dataset_labels if n not in run_labels],
    }


def split_predictions(loaded: Any, dataset_dir: Path, split: str, match_labels: bool = False) -> pd.DataFrame:
    """Predictions on one split, or on every split for ``all`` (with a ``split`` column)."""
    from cxr_regions.training import predict

    if split != "all":
        return predict(loaded, dataset_dir, split, match_labels=match_labels)
    parts = []
    for name in SPLITS_ALL:
        part = predict(loaded, dataset_dir, name, match_labels=match_labels)
        parts.append(part.assign(split=name))
    frame = pd.concat(parts, ignore_index=True)
    if frame.empty:
        raise UserError(f"{dataset_dir}: no films in any split")
    return frame


def is_external(run_dataset: Path | None, dataset_dir: Path, run_labels: Sequence[str]) -> bool:
    """True when ``dataset_dir`` is not the folder the run was trained on, or has other labels."""
    from cxr_regions.build import open_dataset

    if run_dataset is None or not Path(run_dataset).exists():
        return True
    if Path(run_dataset).resolve() != Path(dataset_dir).resolve():
        return True
    return list(open_dataset(dataset_dir).label_names) != list(run_labels)


def external_inputs(
    loaded: Any, run_dataset: Path | None, dataset_dir: Path, split: str
) -> tuple[pd.DataFrame, pd.DataFrame | None, dict[str, Any]]:
    """The films to score on ``dataset_dir`` (labels matched by name), the validation predictions
    that choose thresholds and calibration (the run's own val split, or None), and what to report."""
    from cxr_regions.build import open_dataset

    names = list(loaded.label_names)
    overlap: dict[str, Any] = dict(label_overlap(names, open_dataset(dataset_dir).label_names))
    if not overlap["scored"]:
        raise UserError(
            f"{dataset_dir} has no label of the run ({', '.join(names)}); its labels are "
            f"{', '.join(overlap['dataset_only'])}: nothing to score"
        )
    test = split_predictions(loaded, dataset_dir, split, match_labels=True)
    val = None
    overlap["thresholds_from"] = (
        "none: the run's own data set is not at hand, so thresholds are 0.5 and probabilities uncalibrated"
    )
    if run_dataset is not None and Path(run_dataset).exists():
        val = split_predictions(loaded, Path(run_dataset), "val")
        overlap["thresholds_from"] = f"the run's own validation split ({run_dataset})"
    return test, val, {"external": True, "label_overlap": overlap}
