"""ROC AUC with patient-cluster bootstrap intervals, and operating points chosen on validation.

Films of one patient are not independent, so the bootstrap resamples *patients* (with replacement)
and weights every film by how often its patient was drawn. The AUC of each resample is computed for
all resamples at once from those weights (a weighted Mann-Whitney statistic), which is exactly
scikit-learn's ``roc_auc_score`` with ``sample_weight`` and takes milliseconds for 1,000 resamples.
A label whose films are all one class has no AUC: it is reported as undefined (NaN), never as 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score, roc_curve

CI_LEVEL = 0.95
_CHUNK_CELLS = 4_000_000  # resamples x films held in memory at once


@dataclass(frozen=True)
class AucResult:
    """One AUC with its bootstrap interval; ``auc`` is NaN when the labels are all one class."""

    auc: float
    ci_low: float
    ci_high: float
    n_pos: int
    n_neg: int
    n_boot_valid: int

    @property
    def defined(self) -> bool:
        return not math.isnan(self.auc)


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """scikit-learn's ROC AUC, or NaN when ``y_true`` holds only one class."""
    y_true = np.asarray(y_true).astype(int)
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(roc_auc_score(y_true, np.asarray(y_score, dtype=float)))


def patient_codes(groups: Sequence | np.ndarray) -> np.ndarray:
    """Integer codes 0..G-1 for the patient of each film."""
    _, codes = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    return codes.reshape(-1)


def patient_weights(codes: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """``n_boot`` × films matrix: how many times each film's patient was drawn in each resample."""
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    draws = rng.integers(0, n_groups, size=(n_boot, n_groups))
    offsets = np.arange(n_boot)[:, None] * n_groups
    counts = np.bincount((draws + offsets).ravel(), minlength=n_boot * n_groups)
    return counts.reshape(n_boot, n_groups)[:, codes].astype(float)


def weighted_auc(y_true: np.ndarray, y_score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUC for each row of ``weights`` (resamples × films); NaN where a row lacks either class.

    Ties count one half, as in ``roc_auc_score``.
    """
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(y_score, dtype=float)
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    order = np.argsort(s, kind="mergesort")
    s_sorted = s[order]
    starts = np.flatnonzero(np.r_[True, s_sorted[1:] != s_sorted[:-1]])
    w_sorted = w[:, order]
    pos = np.add.reduceat(w_sorted * y[order], starts, axis=1)
    neg = np.add.reduceat(w_sorted * ~y[order], starts, axis=1)
    neg_below = np.cumsum(neg, axis=1) - neg
    total_pos, total_neg = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (neg_below + 0.5 * neg)).sum(axis=1) / (total_pos * total_neg)
    auc[(total_pos == 0) | (total_neg == 0)] = np.nan
    return auc


def bootstrap_aucs(
    y_true: np.ndarray,
    y_score: np.ndarray,
    groups: Sequence | np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """Resampled AUCs, ``n_boot`` × labels (NaN where a resample holds one class of a label).

    ``y_true`` and ``y_score`` are films × labels (or one label as a vector); every label sees the
    same patient resamples, so that differences and means between labels are paired.
    """
    y = _as_matrix(y_true)
    s = _as_matrix(y_score)
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in shape")
    codes = patient_codes(groups)
    if len(codes) != y.shape[0]:
        raise ValueError(f"{len(codes)} patient keys for {y.shape[0]} films")
    rng = np.random.default_rng(seed)
    out = np.full((n_boot, y.shape[1]), np.nan)
    chunk = max(1, _CHUNK_CELLS // max(1, y.shape[0]))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        w = patient_weights(codes, stop - start, rng)
        for j in range(y.shape[1]):
            out[start:stop, j] = weighted_auc(y[:, j], s[:, j], w)
    return out


def percentile_ci(samples: np.ndarray, level: float = CI_LEVEL) -> tuple[float, float]:
    """Percentile interval of the finite samples (NaN, NaN when there are none)."""
    finite = np.asarray(samples, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def auc_with_ci(
    y_true: np.ndarray,
    y_score: np.ndarray,
    groups: Sequence | np.ndarray,
    n_boot: int = 1000,
    seed: int = 0,
) -> AucResult:
    """One label's AUC and its 95% interval from ``n_boot`` patient resamples."""
    y = np.asarray(y_true).astype(int).reshape(-1)
    auc = roc_auc(y, y_score)
    n_pos = int(y.sum())
    if math.isnan(auc):
        return AucResult(math.nan, math.nan, math.nan, n_pos, len(y) - n_pos, 0)
    boots = bootstrap_aucs(y, y_score, groups, n_boot, seed)[:, 0]
    low, high = percentile_ci(boots)
    return AucResult(auc, low, high, n_pos, len(y) - n_pos, int(np.isfinite(boots).sum()))


def aucs_with_ci(
    y_true: np.ndarray,
    y_score: np.ndarray,
    groups: Sequence | np.ndarray,
    names: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, AucResult]:
    """Per-label AUCs with intervals plus ``"mean"``: the mean over the defined labels.

    The mean's ``n_pos`` / ``n_neg`` count films abnormal in any label / in none.
    The mean's interval comes from the same resamples (a resample where a defined label turns
    one-class is left out of the mean's interval and counted in ``n_boot_valid``).
    """
    y = _as_matrix(y_true).astype(int)
    s = _as_matrix(y_score)
    boots = bootstrap_aucs(y, s, groups, n_boot, seed)
    results: dict[str, AucResult] = {}
    for j, name in enumerate(names):
        auc = roc_auc(y[:, j], s[:, j])
        n_pos = int(y[:, j].sum())
        if math.isnan(auc):
            results[name] = AucResult(math.nan, math.nan, math.nan, n_pos, len(y) - n_pos, 0)
            continue
        low, high = percentile_ci(boots[:, j])
        results[name] = AucResult(auc, low, high, n_pos, len(y) - n_pos, int(np.isfinite(boots[:, j]).sum()))
    defined = [j for j, name in enumerate(names) if results[name].defined]
    if defined:
        mean = float(np.mean([results[names[j]].auc for j in defined]))
        mean_boots = boots[:, defined].mean(axis=1)
        low, high = percentile_ci(mean_boots)
        valid = int(np.isfinite(mean_boots).sum())
    else:
        mean, low, high, valid = math.nan, math.nan, math.nan, 0
    any_abnormal = int(y.any(axis=1).sum())
    results["mean"] = AucResult(mean, low, high, any_abnormal, len(y) - any_abnormal, valid)
    return results


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
    """The score threshold maximising sensitivity + specificity - 1; NaN when one class only."""
    y = np.asarray(y_true).astype(int)
    if len(np.unique(y)) < 2:
        return math.nan
    fpr, tpr, thresholds = roc_curve(y, np.asarray(y_score, dtype=float))
    finite = np.isfinite(thresholds)
    j = np.flatnonzero(finite)[np.argmax((tpr - fpr)[finite])]
    return float(thresholds[j])


def operating_point(y_true: np.ndarray, y_score: np.ndarray, threshold: float, source: str) -> OperatingPoint:
    """Sensitivity, specificity and F1 when calling ``score >= threshold`` abnormal."""
    y = np.asarray(y_true).astype(int)
    pred = (np.asarray(y_score, dtype=float) >= threshold).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    sens = tp / (tp + fn) if tp + fn else math.nan
    spec = tn / (tn + fp) if tn + fp else math.nan
    f1 = float(f1_score(y, pred, zero_division=np.nan))
    return OperatingPoint(float(threshold), source, sens, spec, f1, tp, fp, tn, fn)


def _as_matrix(values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values)
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr
