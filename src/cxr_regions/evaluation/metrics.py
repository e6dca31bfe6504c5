"""Operating points chosen on validation; the AUCs with patient-bootstrap intervals are
:mod:`cxr_regions.confidence` (shared with ``pretrain``), re-exported here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score, roc_curve

from cxr_regions.confidence import (  # noqa: F401  (this stage's public names)
    CI_LEVEL,
    MIN_RELIABLE_POSITIVES,
    AucResult,
    auc_with_ci,
    aucs_with_ci,
    bootstrap_aucs,
    patient_codes,
    patient_weights,
    percentile_ci,
    roc_auc,
    weighted_auc,
)
from cxr_regions.regions import call


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold (Youden's J on validation) and what it gives on the evaluated films."""

    threshold: float
    source: str
    sensitivity: float
    specificity: float
    f1: float
    tp: int
    fp: int
    tn: int
    fn: int


def youden_threshold(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """The score threshold maximising sensitivity + specificity - 1 over the labelled films (NaN
    labels are missing); NaN when they hold one class only."""
    y, s = _known(y_true, y_score)
    if len(np.unique(y)) < 2:
        return math.nan
    fpr, tpr, thresholds = roc_curve(y, s)
    finite = np.isfinite(thresholds)
    j = np.flatnonzero(finite)[np.argmax((tpr - fpr)[finite])]
    return float(thresholds[j])


def operating_point(y_true: np.ndarray, y_score: np.ndarray, threshold: float, source: str) -> OperatingPoint:
    """Sensitivity, specificity and F1 when calling ``score >= threshold`` abnormal (labelled films)."""
    y, s = _known(y_true, y_score)
    pred = call(s, threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    sens = tp / (tp + fn) if tp + fn else math.nan
    spec = tn / (tn + fp) if tn + fp else math.nan
    f1 = float(f1_score(y, pred, zero_division=np.nan)) if len(y) else math.nan
    return OperatingPoint(float(threshold), source, sens, spec, f1, tp, fp, tn, fn)


def _known(y_true: np.ndarray, y_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The labelled films only: labels as int, scores as float."""
    y = np.asarray(y_true, dtype=float)
    known = np.isfinite(y)
    return y[known].astype(int), np.asarray(y_score, dtype=float)[known]
