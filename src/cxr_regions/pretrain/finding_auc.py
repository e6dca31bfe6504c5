"""Test AUC per finding of a pretraining run, with patient-bootstrap CIs, set beside CheXNet's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr_regions.confidence import AucResult, aucs_with_ci
from cxr_regions.fileio import write_csv
from cxr_regions.pretrain.chexnet import write_comparison
from cxr_regions.pretrain.nih_findings import FINDING_KEYS
from cxr_regions.training import predict


def finding_aucs(predictions: pd.DataFrame, n_boot: int = 1000, seed: int = 0) -> dict[str, AucResult]:
    """ROC AUC per finding (and ``mean``) from ``predict``'s table, each with its 95% patient-bootstrap
    CI and positive count (undefined where one class only)."""
    y = predictions[list(FINDING_KEYS)].to_numpy(dtype=float)
    s = predictions[[f"p_{k}" for k in FINDING_KEYS]].to_numpy(dtype=float)
    return aucs_with_ci(y, s, predictions["patient_key"].to_numpy(), FINDING_KEYS, n_boot=n_boot, seed=seed)


def evaluate_pretraining(run_dir: str | Path, dataset_dir: str | Path, split: str = "test") -> pd.DataFrame:
    """Predict ``split`` with the run's model and write, in the run folder, ``chestx14_predictions.csv``
    and ``chestx14_auc.csv`` / ``chestx14_auc.md`` (per-finding AUC beside CheXNet's); return the table."""
    run_dir = Path(run_dir)
    predictions = predict(run_dir, dataset_dir, split)
    write_csv(run_dir / "chestx14_predictions.csv", predictions, float_format="%.6f")
    return write_comparison(finding_aucs(predictions), run_dir)
