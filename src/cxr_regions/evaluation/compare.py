"""Compare two runs on the same test films: per-label AUC differences with paired bootstrap CIs.

Both runs' scores are resampled with the *same* patient draws, so the interval of the difference
accounts for the films being shared (a paired design), and for films of one patient being alike.
The two-sided p-value is the bootstrap one: twice the smaller share of resampled differences on
either side of zero.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cxr_regions.contracts.evaluation_files import PREDICTIONS, EvaluationInfo
from cxr_regions.contracts.run_folder import ModelInfo, SavedConfig
from cxr_regions.errors import UserError
from cxr_regions.evaluation.assess import (
    check_predictions,
    default_evaluation_dir,
    read_evaluation,
    read_predictions,
    run_dataset,
)
from cxr_regions.evaluation.evaluate_config import CompareConfig
from cxr_regions.evaluation.metrics import CI_LEVEL, bootstrap_aucs, percentile_ci, roc_auc
from cxr_regions.fileio import write_csv, write_text
from cxr_regions.regions import label_title


def compare_predictions(
    a: pd.DataFrame,
    b: pd.DataFrame,
    label_names: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """AUC of A and B, the difference B − A and its paired CI, per label and for the mean.

    ``a`` and ``b`` must score the same films (matched by ``image_id``) with the same labels.
    """
    names = list(label_names)
    a = check_predictions(a, names, "run A predictions")
    b = check_predictions(b, names, "run B predictions")
    ids_a, ids_b = set(a["image_id"]), set(b["image_id"])
    if ids_a != ids_b or len(a) != len(b):
        raise UserError(
            f"the runs scored different films (A: {len(a)}, B: {len(b)}, shared: {len(ids_a & ids_b)}); "
            "a paired comparison needs both evaluated on the same dataset split"
        )
    merged = a.merge(b, on="image_id", suffixes=("_a", "_b"), validate="one_to_one")
    for name in names:
        same = (merged[f"{name}_a"] == merged[f"{name}_b"]) | (
            merged[f"{name}_a"].isna() & merged[f"{name}_b"].isna()
        )
        if not same.all():
            raise UserError(f"the runs' {name!r} labels differ for the same films: not the same dataset")
    y = merged[[f"{n}_a" for n in names]].to_numpy(dtype=float)  # NaN: missing, left out per label
    s_a = merged[[f"p_{n}_a" for n in names]].to_numpy(dtype=float)
    s_b = merged[[f"p_{n}_b" for n in names]].to_numpy(dtype=float)
    groups = merged["patient_key_a"].to_numpy()
    # one call: columns [A labels..., B labels...] share every patient resample
    boots = bootstrap_aucs(np.c_[y, y], np.c_[s_a, s_b], groups, n_boot=n_boot, seed=seed)
    k = len(names)
    point_a = np.array([roc_auc(y[:, j], s_a[:, j]) for j in range(k)])
    point_b = np.array([roc_auc(y[:, j], s_b[:, j]) for j in range(k)])
    diffs = boots[:, k:] - boots[:, :k]
    rows = [_row(name, point_a[j], point_b[j], diffs[:, j], len(y)) for j, name in enumerate(names)]
    defined = [j for j in range(k) if not math.isnan(point_a[j])]
    if defined:
        diff = boots[:, [k + j for j in defined]].mean(axis=1) - boots[:, defined].mean(axis=1)
        rows.append(_row("mean", point_a[defined].mean(), point_b[defined].mean(), diff, len(y)))
    else:
        rows.append(_row("mean", math.nan, math.nan, np.full(n_boot, np.nan), len(y)))
    return pd.DataFrame(rows)


def _row(name: str, auc_a: float, auc_b: float, diffs: np.ndarray, n_films: int) -> dict:
    low, high = percentile_ci(diffs)
    finite = diffs[np.isfinite(diffs)]
    if finite.size and not math.isnan(auc_a):
        p = min(1.0, 2 * min((finite <= 0).mean(), (finite >= 0).mean()))
    else:
        p = math.nan
    return {
        "label": name,
        "auc_a": auc_a,
        "auc_b": auc_b,
        "diff": auc_b - auc_a,
        "ci_low": low,
        "ci_high": high,
        "p_boot": p,
        "n_boot_valid": int(finite.size),
        "n_films": n_films,
    }


def compare_markdown(frame: pd.DataFrame, a: str, b: str, split: str, n_boot: int) -> str:
    """Markdown of :func:`compare_predictions`."""
    pct = round(CI_LEVEL * 100)
    lines = [
        f"# {b} (B) vs {a} (A) on the {split} split",
        "",
        f"Paired patient bootstrap, {n_boot} resamples; difference = B − A.",
        "",
        f"| Label | AUC A | AUC B | B − A | {pct}% CI | p |",
        "|---|---|---|---|---|---|",
    ]
    for r in frame.itertuples():
        title = "**mean**" if r.label == "mean" else label_title(r.label)
        if math.isnan(r.auc_a):
            lines.append(f"| {title} | undefined | undefined | — | — | — |")
            continue
        lines.append(
            f"| {title} | {r.auc_a:.3f} | {r.auc_b:.3f} | {r.diff:+.3f} | "
            f"{r.ci_low:+.3f} to {r.ci_high:+.3f} | {_p(r.p_boot, r.n_boot_valid)} |"
        )
    return "\n".join(lines) + "\n"


def _p(p: float, n_valid: int) -> str:
    """A bootstrap p-value cannot be below 1/resamples: say so rather than print 0."""
    return f"< {2 / n_valid:.3f}" if p == 0 and n_valid else f"{p:.3f}"


def _predictions_of(path: Path, split: str, dataset: Path | None) -> tuple[pd.DataFrame, list[str]]:
    """Predictions of an evaluation folder, of a run's evaluation folder, or made now from a run."""
    path = Path(path)
    for folder in (path, default_evaluation_dir(path, split)):
        if PREDICTIONS.exists(folder) and EvaluationInfo.exists(folder):
            doc = read_evaluation(folder)
            if doc.split != split:
                continue
            if dataset and Path(doc.dataset or "") != Path(dataset):
                continue
            return read_predictions(folder, doc.labels), list(doc.labels)
    if not ModelInfo.exists(path):
        raise UserError(
            f"{path} is neither a run folder ({ModelInfo.FILE}) nor an evaluation folder "
            f"({EvaluationInfo.FILE})"
        )
    # here: comparing saved predictions must not import torch
    from cxr_regions.training import load_run, predict

    loaded = load_run(path)
    names = list(loaded.label_names)
    return predict(loaded, Path(dataset) if dataset else run_dataset(loaded.info, path), split), names


def compare_runs(
    a: Path,
    b: Path,
    split: str = "test",
    n_boot: int = 1000,
    seed: int = 0,
    out: Path | None = None,
    dataset: Path | None = None,
) -> pd.DataFrame:
    """Compare run (or evaluation folder) ``b`` against ``a``; write compare.csv/.md into ``out``."""
    pred_a, names_a = _predictions_of(a, split, dataset)
    pred_b, names_b = _predictions_of(b, split, dataset)
    if names_a != names_b:
        raise UserError(f"the runs predict different labels: {names_a} vs {names_b}")
    frame = compare_predictions(pred_a, pred_b, names_a, n_boot=n_boot, seed=seed)
    if out is not None:
        out = Path(out)
        SavedConfig.write(CompareConfig(a, b, split, n_boot, seed, dataset, out), out, command="compare")
        write_csv(out / "compare.csv", frame, float_format="%.4f")
        write_text(out / "compare.md", compare_markdown(frame, str(a), str(b), split, n_boot))
    return frame
