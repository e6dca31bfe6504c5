"""Test AUC per finding of a pretraining run, set beside CheXNet's."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from cxr_regions.fileio import write_csv
from cxr_regions.pretrain.chexnet import write_comparison
from cxr_regions.pretrain.findings import FINDING_KEYS


def finding_aucs(predictions: pd.DataFrame) -> tuple[dict[str, float], dict[str, int]]:
    """ROC AUC and positive count per finding from ``predict``'s table (NaN where one class only)."""
    from sklearn.metrics import roc_auc_score

    aucs, positives = {}, {}
    for key in FINDING_KEYS:
        truth = predictions[key].astype(int)
        positives[key] = int(truth.sum())
        both_classes = truth.nunique() == 2
        aucs[key] = float(roc_auc_score(truth, predictions[f"p_{key}"])) if both_classes else math.nan
    return aucs, positives


def evaluate_pretraining(run_dir: str | Path, dataset_dir: str | Path, split: str = "test") -> pd.DataFrame:
    """Predict ``split`` with the run's model and write, in the run folder, ``chestx14_predictions.csv``
    and ``chestx14_auc.csv`` / ``chestx14_auc.md`` (per-finding AUC beside CheXNet's); return the table."""
    from cxr_regions.training import predict

    run_dir = Path(run_dir)
    predictions = predict(run_dir, dataset_dir, split)
    write_csv(run_dir / "chestx14_predictions.csv", predictions, float_format="%.6f")
    aucs, positives = finding_aucs(predictions)
    return write_comparison(aucs, run_dir, positives)
