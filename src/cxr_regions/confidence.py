"""ROC AUC with patient-cluster bootstrap intervals: the one implementation every stage uses
(``evaluate``, ``compare``, ``pretrain``'s finding table), so every printed AUC carries its CI.

Films of one patient are not independent, so the bootstrap resamples *patients* (with replacement)
and weights every film by how often its patient was drawn. The AUC of each resample is computed for
all resamples at once from those weights (a weighted Mann-Whitney statistic), which is exactly
scikit-learn's ``roc_auc_score`` with ``sample_weight`` and takes milliseconds for 1,000 resamples.
A label whose films are all one class has no AUC: it is reported as undefined (NaN), never as 0.5.
Labels may be missing per film (NaN): each label is scored over the films that have it, with the
same patient resamples for all labels. An AUC over fewer than :data:`MIN_RELIABLE_POSITIVES`
positive films is flagged unreliable (``AucResult.reliable``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

CI_LEVEL = 0.95
MIN_RELIABLE_POSITIVES = 10
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
    n_missing: int = 0

    @property
    def defined(self) -> bool:
        return not math.isnan(self.auc)

    @property
    def reliable(self) -> bool:
        """Defined and over at least :data:`MIN_RELIABLE_POSITIVES` positive films."""
        return self.defined and self.n_pos >= MIN_RELIABLE_POSITIVES

    def text(self, digits: int = 3) -> str:
        """``0.812 (0.70–0.90; 23 pos)``, ``undefined (...)`` or ``not labelled``, flagged when unreliable."""
        if not self.defined:
            if self.n_pos + self.n_neg == 0:
                return "not labelled"
            return f"undefined ({self.n_pos} pos, {self.n_neg} neg)"
        ci = "no CI" if math.isnan(self.ci_low) else f"{self.ci_low:.{digits}f}–{self.ci_high:.{digits}f}"
        flag = ", unreliable: < 10 positives" if not self.reliable else ""
        return f"{self.auc:.{digits}f} ({ci}; {self.n_pos} pos{flag})"


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """scikit-learn's ROC AUC over the labelled films (NaN labels are missing), or NaN when they
    hold only one class."""
    y = np.asarray(y_true, dtype=float).reshape(-1)
    known = np.isfinite(y)
    y, s = y[known].astype(int), np.asarray(y_score, dtype=float).reshape(-1)[known]
    if len(np.unique(y)) < 2:
        return math.nan
    return float(roc_auc_score(y, s))


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
    same patient resamples, so that differences and means between labels are paired. A label is
    scored over the films that have it (``y_true`` not NaN).
    """
    y = _as_matrix(y_true).astype(float)
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
            known = np.isfinite(y[:, j])
            if known.any():
                out[start:stop, j] = weighted_auc(y[known, j], s[known, j], w[:, known])
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
    """One label's AUC and its 95% interval from ``n_boot`` patient resamples (NaN labels: missing)."""
    y = np.asarray(y_true, dtype=float).reshape(-1)
    return aucs_with_ci(y, np.asarray(y_score, dtype=float).reshape(-1), groups, ["x"], n_boot, seed)["x"]


def aucs_with_ci(
    y_true: np.ndarray,
    y_score: np.ndarray,
    groups: Sequence | np.ndarray,
    names: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, AucResult]:
    """Per-label AUCs with intervals plus ``"mean"``: the mean over the defined labels.

    The mean's ``n_pos`` / ``n_neg`` count films abnormal in any label / in none of those they have.
    The mean's interval comes from the same resamples (a resample where a defined label turns
    one-class is left out of the mean's interval and counted in ``n_boot_valid``).
    """
    y = _as_matrix(y_true).astype(float)
    s = _as_matrix(y_score)
    boots = bootstrap_aucs(y, s, groups, n_boot, seed)
    results: dict[str, AucResult] = {}
    for j, name in enumerate(names):
        known = np.isfinite(y[:, j])
        auc = roc_auc(y[:, j], s[:, j])
        n_pos = int(y[known, j].sum())
        n_neg, n_missing = int(known.sum()) - n_pos, int((~known).sum())
        if math.isnan(auc):
            results[name] = AucResult(math.nan, math.nan, math.nan, n_pos, n_neg, 0, n_missing)
            continue
        low, high = percentile_ci(boots[:, j])
        valid = int(np.isfinite(boots[:, j]).sum())
        results[name] = AucResult(auc, low, high, n_pos, n_neg, valid, n_missing)
    defined = [j for j, name in enumerate(names) if results[name].defined]
    if defined:
        mean = float(np.mean([results[names[j]].auc for j in defined]))
        mean_boots = boots[:, defined].mean(axis=1)
        low, high = percentile_ci(mean_boots)
        valid = int(np.isfinite(mean_boots).sum())
    else:
        mean, low, high, valid = math.nan, math.nan, math.nan, 0
    any_abnormal = int((y == 1).any(axis=1).sum())
    results["mean"] = AucResult(mean, low, high, any_abnormal, len(y) - any_abnormal, valid)
    return results


def _as_matrix(values: np.ndarray) -> np.ndarray:
    arr = np.asarray(values)
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr
