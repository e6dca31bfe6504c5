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

from cxr_regions.contracts.evaluation_files import (
    AUC,
    CALIBRATION_TABLE,
    PREDICTIONS,
    THRESHOLDS,
    CalibrationRow,
    EvaluationInfo,
    OperatingPointEntry,
    auc_entry,
)
from cxr_regions.contracts.run_folder import ModelInfo, SavedConfig
from cxr_regions.errors import UserError
from cxr_regions.evaluation.calibration import (
    Calibration,
    calibration_table,
    fit_calibration,
    reliability_figure,
    save_calibration,
)
from cxr_regions.evaluation.evaluate_config import EvaluateConfig
from cxr_regions.evaluation.metrics import (
    CI_LEVEL,
    AucResult,
    OperatingPoint,
    aucs_with_ci,
    operating_point,
    youden_threshold,
)
from cxr_regions.evaluation.summary import auc_markdown, roc_figure
from cxr_regions.fileio import write_text
from cxr_regions.regions import DEFAULT_THRESHOLD

EVALUATION_FILE = EvaluationInfo.FILE
PREDICTIONS_FILE = PREDICTIONS.file


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
    calibration: Calibration | None = None
    calibration_table: pd.DataFrame | None = None

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
    raw = table[list(label_names)]
    labels = raw.apply(pd.to_numeric, errors="coerce")
    empty = raw.isna() | raw.apply(lambda c: c.astype(str).str.strip().isin(["", "nan", "<NA>"]))
    bad = (~labels.isin([0, 1]) & ~empty).any(axis=1)
    if bad.any():
        row = table.index[bad][0]
        raise UserError(
            f"{where}: labels must be 0/1 or empty (missing); film {table.at[row, 'image_id']} has another"
        )
    table[list(label_names)] = labels.astype("Float64").astype(float)
    return table


def read_predictions(path: Path, label_names: Sequence[str]) -> pd.DataFrame:
    """Read a ``predictions.csv`` written by ``evaluate`` (the file, or its evaluation folder)."""
    return check_predictions(PREDICTIONS.read(path, label_names), label_names, str(PREDICTIONS.path_in(path)))


def evaluate_predictions(
    test: pd.DataFrame,
    label_names: Sequence[str],
    val: pd.DataFrame | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[dict[str, AucResult], dict[str, OperatingPoint]]:
    """AUCs (+ ``"mean"``) with intervals, and per-label operating points chosen on ``val``."""
    names = list(label_names)
    y = test[names].to_numpy(dtype=float)
    s = test[[f"p_{n}" for n in names]].to_numpy(dtype=float)
    auc = aucs_with_ci(y, s, test["patient_key"].to_numpy(), names, n_boot=n_boot, seed=seed)
    points: dict[str, OperatingPoint] = {}
    for j, name in enumerate(names):
        threshold, source = math.nan, "no val split"
        if val is not None:
            threshold = youden_threshold(val[name].to_numpy(float), val[f"p_{name}"].to_numpy(float))
            labelled = val[name].notna().any()
            source = "val Youden" if not math.isnan(threshold) else "val labels one class"
            source = source if labelled else "no labelled val film"
        if math.isnan(threshold):
            threshold, source = DEFAULT_THRESHOLD, f"default {DEFAULT_THRESHOLD} ({source})"
        points[name] = operating_point(y[:, j], s[:, j], threshold, source)
    return auc, points


def auc_frame(auc: dict[str, AucResult]) -> pd.DataFrame:
    """``auc.csv``: one row per label and the mean."""
    rows = [
        {"label": name, **asdict(r), "defined": r.defined, "reliable": r.reliable} for name, r in auc.items()
    ]
    return pd.DataFrame(rows)


def write_evaluation(result: EvaluationResult, test: pd.DataFrame) -> Path:
    """Write predictions.csv, auc.csv/.md, thresholds.csv, roc.png, then evaluation.json (last)."""
    out = result.out
    names = result.label_names
    written = test.astype({n: "Int64" for n in names})  # 0/1, empty where missing
    PREDICTIONS.write(out, written, names, float_format="%.6f")
    AUC.write(out, auc_frame(result.auc), float_format="%.4f")
    thresholds = pd.DataFrame([{"label": n, **asdict(op)} for n, op in result.thresholds.items()])
    THRESHOLDS.write(out, thresholds, float_format="%.4f")
    write_text(out / "auc.md", auc_markdown(result))
    roc_figure(test, names, result.auc, out / "roc.png")
    if result.calibration is not None and result.calibration_table is not None:
        save_calibration(result.calibration, out)
        CALIBRATION_TABLE.write(out, result.calibration_table, float_format="%.4f")
        reliability_figure(test, names, result.calibration, out / "reliability.png")
    calibration = None
    if result.calibration_table is not None:
        records = result.calibration_table.to_dict(orient="records")
        calibration = {r["label"]: CalibrationRow.model_validate(r) for r in records}
    document = EvaluationInfo(
        **result.info,
        split=result.split,
        n_films=result.n_films,
        n_patients=result.n_patients,
        ci_level=CI_LEVEL,
        labels=names,
        undefined=result.undefined,
        auc={name: auc_entry(r) for name, r in result.auc.items()},
        thresholds={name: OperatingPointEntry(**asdict(op)) for name, op in result.thresholds.items()},
        calibration=calibration,
    )
    return document.write(out)


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
    calibration = fit_calibration(val, names)
    result = EvaluationResult(
        out=Path(out),
        split=split,
        label_names=names,
        auc=auc,
        thresholds=points,
        n_films=len(test),
        n_patients=int(test["patient_key"].nunique()),
        info={**(info or {}), "n_boot": n_boot, "seed": seed},
        calibration=calibration,
        calibration_table=calibration_table(test, names, calibration, n_boot=n_boot, seed=seed),
    )
    write_evaluation(result, test)
    return result


def run_dataset(info: ModelInfo, run_dir: Path) -> Path:
    """The dataset folder a run was trained on, as recorded in its model.json."""
    if info.dataset_path:
        return Path(info.dataset_path)
    raise UserError(
        f"{ModelInfo.path_in(run_dir)} records no dataset path; pass the dataset folder with --dataset"
    )


def evaluate_run(
    run_dir: Path,
    split: str = "test",
    out: Path | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    dataset: Path | None = None,
) -> EvaluationResult:
    """Predict ``split`` (``train``, ``val``, ``test`` or ``all``) and val (thresholds, calibration)
    with a trained run and write its evaluation folder.

    ``dataset`` other than the run's own (another hospital, the public films) is an external
    validation: labels are matched by name and the overlap is reported
    (:mod:`cxr_regions.evaluation.external`).
    """
    # here: scoring saved predictions must not import torch
    from cxr_regions.evaluation.external import external_inputs, is_external, split_predictions
    from cxr_regions.training import load_run

    run_dir = Path(run_dir)
    EvaluateConfig(run=run_dir, split=split, n_boot=n_boot, seed=seed)  # the settings' checks
    loaded = load_run(run_dir)
    names = list(loaded.label_names)
    try:
        own = run_dataset(loaded.info, run_dir)
    except UserError:
        own = None
    dataset_dir = Path(dataset) if dataset else own
    if dataset_dir is None or not dataset_dir.exists():
        raise UserError(
            f"dataset folder {dataset_dir} (recorded in {run_dir}/model.json) does not exist; "
            "pass the dataset folder with --dataset"
        )
    info: dict[str, Any] = {
        "run": str(run_dir),
        "dataset": str(dataset_dir),
        "arch": loaded.info.arch,
        "init": loaded.info.init,
        "untrained_labels": list(loaded.info.untrained_labels),
    }
    if is_external(own, dataset_dir, names):
        test, val, facts = external_inputs(loaded, own, dataset_dir, split)
        info |= facts
        default = run_dir / f"evaluation-{dataset_dir.resolve().name}-{split}"
    else:
        test = split_predictions(loaded, dataset_dir, split)
        val = split_predictions(loaded, dataset_dir, "val") if split != "val" else test
        default = default_evaluation_dir(run_dir, split)
    out = Path(out) if out else default
    config = EvaluateConfig(run=run_dir, split=split, out=out, dataset=dataset_dir, n_boot=n_boot, seed=seed)
    SavedConfig.write(config, out, command="evaluate")
    result = score_predictions(test, names, out, split=split, val=val, n_boot=n_boot, seed=seed, info=info)
    if out == default_evaluation_dir(run_dir, "test"):
        # here: scoring saved predictions must not import torch
        from cxr_regions.training import write_model_card

        write_model_card(run_dir, evaluation_dir=out)
    return result


def read_evaluation(path: Path) -> EvaluationInfo:
    """Read ``evaluation.json`` from an evaluation folder (or the file itself)."""
    return EvaluationInfo.read(path)
