"""Calibration: a temperature per label fitted on validation, ECE and Brier score before/after on
the evaluated films with patient-bootstrap CIs, and the reliability diagram.

Temperature scaling (Guo et al. 2017) divides each label's logit by one positive number chosen to
minimise the validation log-loss (``scipy.optimize``). It is strictly monotone: AUCs and the
Youden thresholds' decisions are the same before and after, only the probabilities change. The
Brier score and the reliability curve are scikit-learn's (``brier_score_loss``,
``calibration_curve``). The fitted calibration is saved as ``calibration.json`` beside
``thresholds.csv``; :func:`load_calibration` reads it back for ``explain``, the HTML report and the
reading room.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from cxr_regions.confidence import patient_codes, patient_weights, percentile_ci
from cxr_regions.contracts.evaluation_files import CalibrationInfo
from cxr_regions.errors import UserError
from cxr_regions.fileio import atomic_path

CALIBRATION_FILE = CalibrationInfo.FILE
METHOD = "temperature"
N_BINS = 10
MIN_FILMS = 10
_EPS = 1e-7


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Calibration:
    """Per-label temperatures; ``apply`` maps raw probabilities to calibrated ones.

    ``notes`` says per label how its temperature was chosen (``fitted on N val films``, or why it
    was left at 1: too few labelled validation films, one class only).
    """

    labels: list[str]
    temperatures: dict[str, float]
    notes: dict[str, str] = field(default_factory=dict)
    method: str = METHOD
    fitted_on: str = "val"

    def apply_label(self, label: str, probs: Any) -> Any:
        """One label's probabilities (a number or an array) calibrated; unknown labels unchanged."""
        t = self.temperatures.get(label, 1.0)
        out = _sigmoid(_logit(probs) / t)
        return float(out) if np.ndim(out) == 0 else out

    def apply(self, probs: Mapping[str, Any] | np.ndarray) -> Any:
        """Calibrate ``{label: probability or array}`` (same keys back) or an N×L array whose
        columns are :attr:`labels` in order."""
        if isinstance(probs, Mapping):
            return {k: self.apply_label(k, v) for k, v in probs.items()}
        arr = np.asarray(probs, dtype=float)
        if arr.shape[-1] != len(self.labels):
            raise ValueError(f"{arr.shape[-1]} columns for a calibration of {len(self.labels)} labels")
        return np.stack([self.apply_label(k, arr[..., j]) for j, k in enumerate(self.labels)], axis=-1)

    @property
    def fitted(self) -> list[str]:
        """Labels whose temperature was fitted (the others are left at 1: raw = calibrated)."""
        return [k for k in self.labels if self.notes.get(k, "").startswith("fitted")]


def fit_temperature(y: np.ndarray, p: np.ndarray) -> float:
    """The temperature minimising the log-loss of ``sigmoid(logit(p) / T)`` (T in 0.05..20)."""
    z, y = _logit(p), np.asarray(y, dtype=float)

    def nll(log_t: float) -> float:
        q = np.clip(_sigmoid(z / math.exp(log_t)), _EPS, 1 - _EPS)
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

    return float(math.exp(minimize_scalar(nll, bounds=(math.log(0.05), math.log(20)), method="bounded").x))


def fit_calibration(val: pd.DataFrame | None, label_names: Sequence[str]) -> Calibration:
    """Fit one temperature per label on validation predictions (``p_<label>`` and labels, NaN =
    missing); a label with fewer than :data:`MIN_FILMS` labelled films or one class keeps T = 1."""
    temps, notes = {}, {}
    for name in label_names:
        temps[name] = 1.0
        if val is None or not len(val):
            notes[name] = "not fitted: no validation films"
            continue
        y = val[name].to_numpy(dtype=float)
        known = np.isfinite(y)
        if known.sum() < MIN_FILMS:
            notes[name] = f"not fitted: {int(known.sum())} labelled validation films (< {MIN_FILMS})"
        elif len(np.unique(y[known])) < 2:
            notes[name] = "not fitted: validation films all one class"
        else:
            temps[name] = fit_temperature(y[known], val[f"p_{name}"].to_numpy(dtype=float)[known])
            notes[name] = f"fitted on {int(known.sum())} validation films"
    return Calibration(labels=list(label_names), temperatures=temps, notes=notes)


def save_calibration(calibration: Calibration, out: Path) -> Path:
    """Write ``calibration.json`` in the evaluation folder ``out``."""
    return CalibrationInfo(**asdict(calibration)).write(out)


def load_calibration(path: str | Path) -> Calibration:
    """The calibration saved by ``evaluate``: an evaluation folder or its ``calibration.json``.

    ``load_calibration(EVAL_DIR).apply({"heart": 0.8, ...})`` gives calibrated probabilities.
    """
    if not CalibrationInfo.exists(path):
        raise UserError(f"no {CALIBRATION_FILE} in {path}: run `cxr-regions evaluate` (it fits one on val)")
    return Calibration(**CalibrationInfo.read(path).model_dump())


def _weighted_scores(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ECE (10 equal-width bins) and Brier score for each row of weights (resamples × films)."""
    bins = np.minimum((p * N_BINS).astype(int), N_BINS - 1)
    onehot = np.zeros((len(p), N_BINS))
    onehot[np.arange(len(p)), bins] = 1.0
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(w @ (onehot * y[:, None]) - w @ (onehot * p[:, None])).sum(axis=1)
        return gap / total, (w @ (p - y) ** 2) / total


def calibration_table(
    test: pd.DataFrame,
    label_names: Sequence[str],
    calibration: Calibration,
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """``calibration.csv``: per label, ECE and Brier before and after calibration on ``test``, each
    with a 95% patient-bootstrap interval (the same resamples for before and after)."""
    rows = []
    for name in label_names:
        y = test[name].to_numpy(dtype=float)
        known = np.isfinite(y)
        row: dict[str, Any] = {
            "label": name,
            "temperature": calibration.temperatures.get(name, 1.0),
            "fit": calibration.notes.get(name, ""),
            "n_films": int(known.sum()),
            "n_pos": int(y[known].sum()),
        }
        y, groups = y[known], test["patient_key"].to_numpy()[known]
        raw = test[f"p_{name}"].to_numpy(dtype=float)[known]
        w = patient_weights(patient_codes(groups), n_boot, np.random.default_rng(seed)) if len(y) else None
        for when, p in (("before", raw), ("after", calibration.apply_label(name, raw))):
            for metric in ("ece", "brier"):
                row |= dict.fromkeys(f"{metric}_{when}{part}" for part in ("", "_ci_low", "_ci_high"))
            if w is None:
                continue
            ece, _ = _weighted_scores(y, np.asarray(p), np.ones((1, len(y))))
            boot_ece, boot_brier = _weighted_scores(y, np.asarray(p), w)
            row[f"ece_{when}"] = float(ece[0])
            row[f"brier_{when}"] = float(brier_score_loss(y.astype(int), p, labels=[0, 1]))
            for metric, boots in (("ece", boot_ece), ("brier", boot_brier)):
                row[f"{metric}_{when}_ci_low"], row[f"{metric}_{when}_ci_high"] = percentile_ci(boots)
        rows.append(row)
    return pd.DataFrame(rows)


def reliability_figure(
    test: pd.DataFrame, label_names: Sequence[str], calibration: Calibration, path: Path
) -> Path:
    """``reliability.png``: per label, observed frequency against mean predicted probability in
    10 bins, raw and calibrated; a label without labelled films says so."""
    # here: serve and explain read calibrations without plotting
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # here: after the backend is chosen

    fig, axes = plt.subplots(1, len(label_names), figsize=(3.2 * len(label_names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], label_names, strict=True):
        y = test[name].to_numpy(dtype=float)
        known = np.isfinite(y)
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
        ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal", title=name, xlabel="predicted")
        if len(np.unique(y[known])) < 2:
            ax.text(0.5, 0.5, "not labelled" if not known.any() else "one class", ha="center")
            continue
        raw = test[f"p_{name}"].to_numpy(dtype=float)[known]
        for label, p, style in (("raw", raw, "o-"), ("calibrated", calibration.apply_label(name, raw), "s-")):
            frac, mean = calibration_curve(y[known].astype(int), p, n_bins=N_BINS)
            ax.plot(mean, frac, style, ms=3, lw=1.2, label=label)
        ax.legend(loc="upper left", fontsize=7)
    axes[0][0].set_ylabel("observed frequency")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return Path(path)


def calibration_markdown(table: pd.DataFrame) -> list[str]:
    """Lines for ``auc.md``: ECE and Brier before → after with CIs, per label."""

    def cell(row: Any, metric: str, when: str) -> str:
        value = getattr(row, f"{metric}_{when}")
        if value is None or pd.isna(value):
            return "—"
        low, high = getattr(row, f"{metric}_{when}_ci_low"), getattr(row, f"{metric}_{when}_ci_high")
        return f"{value:.3f} ({low:.3f}–{high:.3f})"

    lines = [
        "## Calibration (temperature scaling fitted on validation)",
        "",
        "| Label | T | ECE before | ECE after | Brier before | Brier after | fit |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in table.itertuples(index=False):
        if row.n_films == 0:
            lines.append(f"| {row.label} | — | not labelled | | | | {row.fit} |")
            continue
        cells = [cell(row, m, w) for m in ("ece", "brier") for w in ("before", "after")]
        lines.append(f"| {row.label} | {row.temperature:.2f} | {' | '.join(cells)} | {row.fit} |")
    return lines
