"""``MODEL_CARD.md`` in every run folder: what the model learned from, how, how well, for what.

``train`` writes it when the run ends (data, recipe, validation figures); ``evaluate`` on the test
split writes it again with the test AUCs and their CIs, the calibration and the thresholds. It is
made from the run's own files (``model.json``, ``config.yaml``, the dataset folder, the evaluation
folder's ``evaluation.json``), so it can be regenerated at any time.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from cxr_regions.contracts.evaluation_files import EvaluationInfo
from cxr_regions.contracts.run_folder import ModelInfo, SavedConfig
from cxr_regions.fileio import write_text
from cxr_regions.regions import label_title
from cxr_regions.training.recipe import TrainConfig

MODEL_CARD = "MODEL_CARD.md"
DEFAULT_SOURCE = "report labels from `cxr-regions label` (docs/labeling-policy.md)"
SOURCES = {"chestx14": "ChestX-ray14's 14 findings (NIH, mined from reports)"}
SITES = {"chestx14": "NIH Clinical Center"}
RECIPE_KEYS = (
    "arch",
    "init",
    "input_size",
    "epochs",
    "batch_size",
    "lr",
    "lr_schedule",
    "lr_factor",
    "lr_patience",
    "patience",
    "augment",
    "seed",
    "precision",
)
INTENDED_USE = (
    "Research and development: to study region-level classification of frontal chest radiographs, "
    "as a starting point for fine-tuning on a hospital's own labelled films, and to triage films for "
    "a radiologist's reading in a study. Not a medical device: not for diagnosis or for any decision "
    "about a patient without a radiologist's reading."
)


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _data_section(run_info: ModelInfo) -> tuple[list[str], list[str]]:
    """Lines on the data set, and the limits it implies (labels never seen, few positives)."""
    from cxr_regions.build import open_dataset

    path = run_info.dataset_path
    limits: list[str] = []
    if not path or not Path(path).is_dir():
        return [f"Data set `{path}` is not at hand: films and prevalence not shown."], limits
    data = open_dataset(path)
    meta, names = data.meta, data.label_names
    kind = meta.kind
    lines = [
        f"- Data set: `{data.dataset_id}` ({kind}, {data.size} px), `{path}`.",
        f"- Sites: {', '.join(meta.sites or []) or SITES.get(kind, 'not recorded (one export)')}.",
        f"- Label source: {meta.label_source or SOURCES.get(kind, DEFAULT_SOURCE)}.",
    ]
    if meta.label_mapping:
        pairs = "; ".join(f"{r.finding} → {r.region}" for r in meta.label_mapping)
        lines.append(f"- Mapping (docs/chestx14.md): {pairs}.")
        limits.append(
            "A mapped region's 0 means none of its NIH findings was listed, not a reading of the region."
        )
    lines += ["", "| split | films | patients | " + " | ".join(label_title(n) for n in names) + " |"]
    lines.append("|---|---:|---:|" + "---:|" * len(names))
    for split in ("train", "val", "test"):
        rows = data.split(split)
        values = data.labels(rows)
        cells = []
        for j, name in enumerate(names):
            known = values[:, j][~_isnan(values[:, j])]
            if not len(known):
                cells.append("not labelled")
                if split == "train":
                    limits.append(f"{label_title(name)}: never seen labelled in training (untrained output).")
                continue
            if split == "train" and known.sum() < 10:
                limits.append(f"{label_title(name)}: only {int(known.sum())} abnormal training films.")
            cells.append(f"{int(known.sum())}/{len(known)} ({known.mean():.0%})")
        patients = rows["patient_key"].nunique()
        lines.append(f"| {split} | {len(rows)} | {patients} | " + " | ".join(cells) + " |")
    lines += ["", "Cells: abnormal films / labelled films (prevalence); `not labelled`: missing, not normal."]
    return lines, limits


def _isnan(values: Any) -> Any:
    import numpy as np

    return np.isnan(values)


def _evaluation_sections(evaluation: EvaluationInfo) -> tuple[list[str], list[str]]:
    """Test AUCs with CIs, calibration and thresholds from ``evaluation.json``; and limits."""
    limits: list[str] = []
    pct = round(evaluation.ci_level * 100)
    lines = [
        f"## Test performance ({evaluation.split} split of `{evaluation.dataset}`)",
        "",
        f"{evaluation.n_films} films of {evaluation.n_patients} patients; {pct}% CIs from "
        f"{evaluation.n_boot} patient resamples.",
        "",
        f"| region | AUC | {pct}% CI | abnormal | normal | note |",
        "|---|---:|---|---:|---:|---|",
    ]
    for name in [*evaluation.labels, "mean"]:
        r = evaluation.auc[name]
        title = "mean" if name == "mean" else label_title(name)
        if r.auc is None:
            note = "not labelled" if r.n_pos + r.n_neg == 0 else "undefined: one class"
            lines.append(f"| {title} | — | — | {r.n_pos} | {r.n_neg} | {note} |")
            continue
        note = "" if r.reliable or name == "mean" else "unreliable: < 10 positives"
        if note:
            limits.append(f"{title}: test AUC over {r.n_pos} abnormal films only — unreliable.")
        ci = f"{_num(r.ci_low)}–{_num(r.ci_high)}"
        lines.append(f"| {title} | {r.auc:.3f} | {ci} | {r.n_pos} | {r.n_neg} | {note} |")
    calibration = evaluation.calibration or {}
    if calibration:
        lines += [
            "",
            "## Calibration (temperature scaling fitted on validation; ECE and Brier on test)",
            "",
            "| region | T | ECE before → after | Brier before → after | fit |",
            "|---|---:|---|---|---|",
        ]
        for name, c in calibration.items():
            ece = f"{_num(c.ece_before)} → {_num(c.ece_after)}"
            brier = f"{_num(c.brier_before)} → {_num(c.brier_after)}"
            lines.append(f"| {label_title(name)} | {_num(c.temperature, 2)} | {ece} | {brier} | {c.fit} |")
    lines += [
        "",
        "## Thresholds (Youden's J on validation; sensitivity and specificity on test)",
        "",
        "| region | threshold | source | sensitivity | specificity |",
        "|---|---:|---|---:|---:|",
    ]
    for name, t in evaluation.thresholds.items():
        sens, spec = _num(t.sensitivity), _num(t.specificity)
        lines.append(f"| {label_title(name)} | {_num(t.threshold)} | {t.source} | {sens} | {spec} |")
    return lines, limits


def _research_only_lines(info: ModelInfo) -> list[str]:
    provenance = info.weights_provenance()
    if not provenance.research_only:
        return []
    return [
        "",
        f"**Research use only.** The starting weights ({provenance.weights}, {provenance.library}) are "
        f"published for research only ({provenance.intended_use or provenance.licence}); a model "
        "trained from them is too.",
    ]


def _starting_weights_section(info: ModelInfo) -> list[str]:
    """Where the weights came from, what input they expect, and what was frozen."""
    provenance = info.weights_provenance()
    lines = [
        "## Starting weights",
        "",
        f"- Source: {provenance.weights} ({provenance.library}"
        f"{' ' + provenance.library_version if provenance.library_version else ''}).",
    ]
    if provenance.file:
        lines.append(f"- File: `{provenance.file}`, SHA-256 `{provenance.sha256}`.")
    if provenance.converted_file:
        lines.append(
            f"- Converted once from a pickle to `{provenance.converted_file}` (SHA-256 "
            f"`{provenance.converted_sha256}`); runs read only that safetensors file."
        )
    if provenance.url:
        lines.append(f"- Published at: {provenance.url}")
    lines += [
        f"- Licence as published: {provenance.licence or 'not stated'}.",
        f"- Intended use as published: {provenance.intended_use or 'not stated'}.",
    ]
    if provenance.based_on:
        lines.append(f"- That checkpoint itself started from: {provenance.based_on.summary()}.")
    resize = info.resize_to
    lines.append(
        f"- Input: one-channel films in [0, 1], {info.input_size}-px crops"
        + (f" resized to {resize} px inside the model (--upsample)" if resize else "")
        + (f", repeated to {info.in_channels} channels" if info.in_channels > 1 else "")
        + f", normalised with mean {info.mean} and std {info.std}"
        + (f"; the weights were made for {info.native_size}-px films." if info.native_size else ".")
    )
    frozen = info.frozen
    lines.append(f"- Frozen: {frozen.layers}; {frozen.note}." if frozen else "- Frozen: nothing.")
    return [*lines, ""]


def write_model_card(run_dir: str | Path, evaluation_dir: str | Path | None = None) -> Path:
    """Write ``RUN/MODEL_CARD.md`` (with the test evaluation of ``evaluation_dir``, by default
    ``RUN/evaluation`` where it exists); return its path."""
    run = Path(run_dir)
    info = ModelInfo.read(run)
    config = SavedConfig.read(run).as_config(TrainConfig) if SavedConfig.exists(run) else None
    lines = [
        f"# Model card: `{run.name}`",
        "",
        f"{info.arch} from {info.init} ({info.init_source or 'no file'}), "
        f"{info.input_size} px input, labels: {', '.join(info.label_names)}. "
        f"Best epoch {info.best_epoch} of {info.epochs_trained} epochs trained.",
        "",
        "## Intended use",
        "",
        INTENDED_USE,
        *_research_only_lines(info),
        "",
        *_starting_weights_section(info),
        "## Data",
        "",
    ]
    data_lines, limits = _data_section(info)
    lines += [*data_lines, "", "## Training recipe", ""]
    lines += [f"- {k}: {getattr(config, k)}" for k in RECIPE_KEYS if config is not None]
    lines.append("- loss: binary cross-entropy over the labelled regions only (a missing label adds nothing)")
    evaluation_dir = Path(evaluation_dir) if evaluation_dir else run / "evaluation"
    lines.append("")
    if EvaluationInfo.exists(evaluation_dir):
        section, more = _evaluation_sections(EvaluationInfo.read(evaluation_dir))
        lines += section
        limits += more
    else:
        lines += [
            "## Test performance",
            "",
            "Not evaluated yet: run `cxr-regions evaluate RUN` (test AUCs with their CIs and positive",
            "counts, calibration, thresholds); this card is then written again with them.",
        ]
    limits += [
        "Labels come from report text (or NIH's mined findings), not from a reading of every film; "
        "label noise bounds the measurable AUC.",
        "Frontal films only; never flipped; performance on another hospital, population or device is "
        "unknown until measured (`cxr-regions evaluate RUN --dataset OTHER`).",
    ]
    lines += ["", "## Known limits", "", *[f"- {item}" for item in limits], ""]
    path = run / MODEL_CARD
    write_text(path, "\n".join(lines))
    return path
