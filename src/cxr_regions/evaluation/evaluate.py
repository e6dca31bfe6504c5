"""Evaluate a trained run: AUCs with patient-bootstrap CIs, Youden operating points, ROC curves.

``evaluate_run`` predicts the chosen split (and the validation split, where the thresholds are
chosen) through ``cxr_regions.training.predict`` and writes the evaluation folder described in
docs/data-contracts.md. The scoring itself (``evaluate_predictions``) works on prediction tables
alone, so it can be reused on predictions made elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from cxr_regions.config import save_config
from cxr_regions.errors import UserError
from cxr_regions.evaluation.metrics import (
    CI_LEVEL,
    AucResult,
    OperatingPoint,
    aucs_with_ci,
    operating_point,
    youden_threshold,
)
from cxr_regions.fileio import atomic_path, write_csv, write_json, write_text
from cxr_regions.regions import label_title

DEFAULT_THRESHOLD = 0.5
EVALUATION_FILE = "evaluation.json"
PREDICTIONS_FILE = "predictions.csv"


@dataclass
class EvaluateConfig:
    """What ``evaluate`` was asked to do (saved as ``config.yaml`` in the evaluation folder)."""

    run: Path
    split: str = "test"
    out: Path | None = None
    dataset: Path | None = None
    n_boot: int = 1000
    seed: int = 0


@dataclass
class EvaluationResult:
    """The scores of one run on one split, and where they were written."""

    out: Path
    split: str
    label_names: list[str]
    auc: dict[str, AucResult]
    thresholds: dict[str, OperatingPoint]
    n_films: int
    n_patients: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_auc(self) -> AucResult:
        return self.auc["mean"]

    @property
    def undefined(self) -> list[str]:
        return [name for name in self.label_names if not self.auc[name].defined]


def default_evaluation_dir(run_dir: Path, split: str = "test") -> Path:
    """Where ``evaluate`` writes by default: ``RUN/evaluation`` for test, ``RUN/evaluation-<split>`` else."""
    return Path(run_dir) / ("evaluation" if split == "test" else f"evaluation-{split}")


def check_predictions(frame: pd.DataFrame, label_names: Sequence[str], where: str) -> pd.DataFrame:
    """The prediction table's columns in contract order, or a UserError naming what is missing."""
    wanted = ["image_id", "patient_key", *(f"p_{n}" for n in label_names), *label_names]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise UserError(f"{where}: prediction table lacks columns {', '.join(missing)}")
    if frame.empty:
        raise UserError(f"{where}: no films to evaluate (the split is empty)")
    table = frame[wanted].copy()
    table["image_id"] = table["image_id"].astype(str)
    table["patient_key"] = table["patient_key"].astype(str)
    bad = ~table[list(label_names)].isin([0, 1]).all(axis=1)
    if bad.any():
        row = table.index[bad][0]
        raise UserError(f"{where}: labels must be 0/1; film {table.at[row, 'image_id']} has other values")
    table[list(label_names)] = table[list(label_names)].astype(int)
    return table


def read_predictions(path: Path, label_names: Sequence[str]) -> pd.DataFrame:
    """Read a ``predictions.csv`` written by ``evaluate``."""
    frame = pd.read_csv(path, dtype={"image_id": str, "patient_key": str})
    return check_predictions(frame, label_names, str(path))


def evaluate_predictions(
    test: pd.DataFrame,
    label_names: Sequence[str],
    val: pd.DataFrame | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[dict[str, AucResult], dict[str, OperatingPoint]]:
    """AUCs (+ ``"mean"``) with intervals, and per-label operating points chosen on ``val``."""
    names = list(label_names)
    y = test[names].to_numpy(dtype=int)
    s = test[[f"p_{n}" for n in names]].to_numpy(dtype=float)
    auc = aucs_with_ci(y, s, test["patient_key"].to_numpy(), names, n_boot=n_boot, seed=seed)
    points: dict[str, OperatingPoint] = {}
    for j, name in enumerate(names):
        threshold, source = math.nan, "no val split"
        if val is not None:
            threshold = youden_threshold(val[name].to_numpy(int), val[f"p_{name}"].to_numpy(float))
            source = "val Youden" if not math.isnan(threshold) else "val labels one class"
        if math.isnan(threshold):
            threshold, source = DEFAULT_THRESHOLD, f"default {DEFAULT_THRESHOLD} ({source})"
        points[name] = operating_point(y[:, j], s[:, j], threshold, source)
    return auc, points


def auc_frame(auc: dict[str, AucResult]) -> pd.DataFrame:
    """``auc.csv``: one row per label and the mean."""
    rows = [{"label": name, **asdict(r), "defined": r.defined} for name, r in auc.items()]
    return pd.DataFrame(rows)


def auc_markdown(result: EvaluationResult) -> str:
    """``auc.md``: the AUC table with intervals, thresholds and the films it rests on."""
    pct = round(CI_LEVEL * 100)
    lines = [
        f"# Evaluation on the {result.split} split",
        "",
        f"{result.n_films} films of {result.n_patients} patients; {pct}% CIs from "
        f"{result.info.get('n_boot', '?')} patient resamples.",
        "",
        f"| Label | AUC | {pct}% CI | abnormal | normal | threshold | sensitivity | specificity | F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in result.auc.items():
        title = "**mean**" if name == "mean" else label_title(name)
        auc = f"{r.auc:.3f}" if r.defined else "undefined"
        ci = f"{r.ci_low:.3f}–{r.ci_high:.3f}" if r.defined and not math.isnan(r.ci_low) else "—"
        op = result.thresholds.get(name)
        ops = (
            [f"{op.threshold:.3f}", _pct(op.sensitivity), _pct(op.specificity), _num(op.f1)]
            if op
            else ["", "", "", ""]
        )
        lines.append(f"| {title} | {auc} | {ci} | {r.n_pos} | {r.n_neg} | " + " | ".join(ops) + " |")
    if result.undefined:
        lines += [
            "",
            f"Undefined: {', '.join(result.undefined)} — the {result.split} films are all one class "
            "there, so no ROC curve exists; the mean is over the other labels.",
        ]
    note = "Thresholds: Youden's J on the validation split, applied to these films"
    if result.split == "val":
        note += " (the same films: sensitivity and specificity are optimistic)"
    lines += ["", note + "."]
    defaults = [f"{n}: {op.source}" for n, op in result.thresholds.items() if op.source != "val Youden"]
    if defaults:
        lines.append("Not chosen on validation: " + "; ".join(defaults) + ".")
    return "\n".join(lines) + "\n"


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1%}"


def _num(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"


def roc_figure(test: pd.DataFrame, label_names: Sequence[str], auc: dict[str, AucResult], path: Path) -> Path:
    """``roc.png``: one ROC curve per label, AUC and CI in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    fig, ax = plt.subplots(figsize=(6, 6))
    for name in label_names:
        r = auc[name]
        if not r.defined:
            ax.plot([], [], " ", label=f"{name}: undefined (one class)")
            continue
        fpr, tpr, _ = roc_curve(test[name].to_numpy(dtype=int), test[f"p_{name}"].to_numpy(dtype=float))
        ax.plot(fpr, tpr, lw=1.6, label=f"{name}: {r.auc:.3f} ({r.ci_low:.2f}–{r.ci_high:.2f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.set(xlabel="1 − specificity", ylabel="sensitivity", xlim=(0, 1), ylim=(0, 1.01), aspect="equal")
    mean = auc["mean"]
    ax.set_title(f"ROC, mean AUC {mean.auc:.3f}" if mean.defined else "ROC")
    ax.legend(loc="lower right", fontsize=8)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def write_evaluation(result: EvaluationResult, test: pd.DataFrame) -> Path:
    """Write predictions.csv, auc.csv/.md, thresholds.csv, roc.png, then evaluation.json (last)."""
    out = result.out
    write_csv(out / PREDICTIONS_FILE, test, float_format="%.6f")
    write_csv(out / "auc.csv", auc_frame(result.auc), float_format="%.4f")
    thresholds = pd.DataFrame([{"label": n, **asdict(op)} for n, op in result.thresholds.items()])
    write_csv(out / "thresholds.csv", thresholds, float_format="%.4f")
    write_text(out / "auc.md", auc_markdown(result))
    roc_figure(test, result.label_names, result.auc, out / "roc.png")
    doc = {
        **result.info,
        "split": result.split,
        "n_films": result.n_films,
        "n_patients": result.n_patients,
        "ci_level": CI_LEVEL,
        "labels": result.label_names,
        "undefined": result.undefined,
        "auc": {name: {**asdict(r), "defined": r.defined} for name, r in result.auc.items()},
        "thresholds": {name: asdict(op) for name, op in result.thresholds.items()},
    }
    write_json(out / EVALUATION_FILE, _json_safe(doc))
    return out / EVALUATION_FILE


def score_predictions(
    test: pd.DataFrame,
    label_names: Sequence[str],
    out: Path,
    split: str = "test",
    val: pd.DataFrame | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    info: dict[str, Any] | None = None,
) -> EvaluationResult:
    """Score prediction tables and write the evaluation folder ``out``."""
    names = list(label_names)
    test = check_predictions(test, names, f"{split} predictions")
    # without validation films the thresholds fall back to 0.5, as thresholds.csv says
    val = check_predictions(val, names, "val predictions") if val is not None and len(val) else None
    auc, points = evaluate_predictions(test, names, val, n_boot=n_boot, seed=seed)
    result = EvaluationResult(
        out=Path(out),
        split=split,
        label_names=names,
        auc=auc,
        thresholds=points,
        n_films=len(test),
        n_patients=int(test["patient_key"].nunique()),
        info={**(info or {}), "n_boot": n_boot, "seed": seed},
    )
    write_evaluation(result, test)
    return result


def run_dataset(info: dict[str, Any], run_dir: Path) -> Path:
    """The dataset folder a run was trained on, as recorded in its model.json."""
    for key in ("dataset_path", "dataset"):
        value = info.get(key)
        if isinstance(value, str) and value:
            return Path(value)
    raise UserError(f"{run_dir}/model.json records no dataset path; pass the dataset folder with --dataset")


def evaluate_run(
    run_dir: Path,
    split: str = "test",
    out: Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    dataset: Path | None = None,
) -> EvaluationResult:
    """Predict ``split`` (and val, for thresholds) with a trained run and write its evaluation folder."""
    from cxr_regions.training import load_run, predict

    run_dir = Path(run_dir)
    if n_boot < 1:
        raise UserError(f"--n-boot must be at least 1, got {n_boot}")
    loaded = load_run(run_dir)
    names = list(loaded.label_names)
    dataset_dir = Path(dataset) if dataset else run_dataset(loaded.info, run_dir)
    if not dataset_dir.exists():
        raise UserError(
            f"dataset folder {dataset_dir} (recorded in {run_dir}/model.json) does not exist; "
            "pass the dataset folder with --dataset"
        )
    out = Path(out) if out else default_evaluation_dir(run_dir, split)
    test = predict(loaded, dataset_dir, split)
    val = predict(loaded, dataset_dir, "val") if split != "val" else test
    config = EvaluateConfig(run=run_dir, split=split, out=out, dataset=dataset_dir, n_boot=n_boot, seed=seed)
    save_config(config, out / "config.yaml", command="evaluate")
    info = {
        "run": str(run_dir),
        "dataset": str(dataset_dir),
        "arch": loaded.info.get("arch"),
        "init": loaded.info.get("init"),
    }
    return score_predictions(test, names, out, split=split, val=val, n_boot=n_boot, seed=seed, info=info)


def read_evaluation(path: Path) -> dict[str, Any]:
    """Read ``evaluation.json`` from an evaluation folder (or the file itself)."""
    import json

    path = Path(path)
    file = path / EVALUATION_FILE if path.is_dir() else path
    if not file.exists():
        raise UserError(f"no {EVALUATION_FILE} in {path}; run `cxr-regions evaluate` first")
    return json.loads(file.read_text(encoding="utf-8"))
