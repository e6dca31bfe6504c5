"""``MODEL_CARD.md`` in every run folder: what the model learned from, how, how well, for what.

``train`` writes it when the run ends (data, recipe, validation figures); ``evaluate`` on the test
split writes it again with the test AUCs and their CIs, the calibration and the thresholds. It is
made from the run's own files (``model.json``, ``config.yaml``, the dataset folder, the evaluation
folder's ``evaluation.json``), so it can be regenerated at any time.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from cxr_regions.configfile import load_config
from cxr_regions.fileio import write_text
from cxr_regions.models.provenance import Provenance
from cxr_regions.regions import label_title

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


def _data_section(run_info: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Lines on the data set, and the limits it implies (labels never seen, few positives)."""
    from cxr_regions.build import open_dataset

    path = run_info.get("dataset_path")
    limits: list[str] = []
    if not path or not Path(path).is_dir():
        return [f"Data set `{path}` is not at hand: films and prevalence not shown."], limits
    data = open_dataset(path)
    meta, names = data.meta, data.label_names
    kind = str(meta.get("kind", "build"))
    lines = [
        f"- Data set: `{data.dataset_id}` ({kind}, {data.size} px), `{path}`.",
        f"- Sites: {', '.join(meta.get('sites', [])) or SITES.get(kind, 'not recorded (one export)')}.",
        f"- Label source: {meta.get('label_source') or SOURCES.get(kind, DEFAULT_SOURCE)}.",
    ]
    if meta.get("label_mapping"):
        pairs = "; ".join(f"{r['finding']} → {r['region']}" for r in meta["label_mapping"])
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


def _evaluation_sections(evaluation: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Test AUCs with CIs, calibration and thresholds from ``evaluation.json``; and limits."""
    limits: list[str] = []
    pct = round(float(evaluation.get("ci_level", 0.95)) * 100)
    lines = [
        f"## Test performance ({evaluation.get('split')} split of `{evaluation.get('dataset')}`)",
        "",
        f"{evaluation.get('n_films')} films of {evaluation.get('n_patients')} patients; {pct}% CIs from "
        f"{evaluation.get('n_boot')} patient resamples.",
        "",
        f"| region | AUC | {pct}% CI | abnormal | normal | note |",
        "|---|---:|---|---:|---:|---|",
    ]
    for name in [*evaluation["labels"], "mean"]:
        r = evaluation["auc"][name]
        title = "mean" if name == "mean" else label_title(name)
        if r["auc"] is None:
            note = "not labelled" if r["n_pos"] + r["n_neg"] == 0 else "undefined: one class"
            lines.append(f"| {title} | — | — | {r['n_pos']} | {r['n_neg']} | {note} |")
            continue
        note = "" if r.get("reliable", True) or name == "mean" else "unreliable: < 10 positives"
        if note:
            limits.append(f"{title}: test AUC over {r['n_pos']} abnormal films only — unreliable.")
        ci = f"{_num(r['ci_low'])}–{_num(r['ci_high'])}"
        lines.append(f"| {title} | {r['auc']:.3f} | {ci} | {r['n_pos']} | {r['n_neg']} | {note} |")
    calibration = evaluation.get("calibration") or {}
    if calibration:
        lines += [
            "",
            "## Calibration (temperature scaling fitted on validation; ECE and Brier on test)",
            "",
            "| region | T | ECE before → after | Brier before → after | fit |",
            "|---|---:|---|---|---|",
        ]
        for name, c in calibration.items():
            ece = f"{_num(c.get('ece_before'))} → {_num(c.get('ece_after'))}"
            brier = f"{_num(c.get('brier_before'))} → {_num(c.get('brier_after'))}"
            temperature = _num(c.get("temperature"), 2)
            lines.append(f"| {label_title(name)} | {temperature} | {ece} | {brier} | {c.get('fit')} |")
    lines += [
        "",
        "## Thresholds (Youden's J on validation; sensitivity and specificity on test)",
        "",
        "| region | threshold | source | sensitivity | specificity |",
        "|---|---:|---|---:|---:|",
    ]
    for name, t in evaluation.get("thresholds", {}).items():
        sens, spec = _num(t.get("sensitivity")), _num(t.get("specificity"))
        lines.append(f"| {label_title(name)} | {_num(t['threshold'])} | {t['source']} | {sens} | {spec} |")
    return lines, limits


def _research_only_lines(info: dict[str, Any]) -> list[str]:
    provenance = Provenance.from_dict(info.get("provenance"))
    if not provenance.research_only:
        return []
    return [
        "",
        f"**Research use only.** The starting weights ({provenance.weights}, {provenance.library}) are "
        f"published for research only ({provenance.intended_use or provenance.licence}); a model "
        "trained from them is too.",
    ]


def _starting_weights_section(info: dict[str, Any]) -> list[str]:
    """Where the weights came from, what input they expect, and what was frozen."""
    provenance = Provenance.from_dict(info.get("provenance"))
    mean, std = info.get("mean"), info.get("std")
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
        before = Provenance.from_dict(provenance.based_on)
        lines.append(f"- That checkpoint itself started from: {before.summary()}.")
    resize = info.get("resize_to")
    lines.append(
        f"- Input: one-channel films in [0, 1], {info.get('input_size')}-px crops"
        + (f" resized to {resize} px inside the model (--upsample)" if resize else "")
        + (
            f", repeated to {info.get('in_channels')} channels"
            if int(info.get("in_channels") or 1) > 1
            else ""
        )
        + f", normalised with mean {mean} and std {std}"
        + (
            f"; the weights were made for {info.get('native_size')}-px films."
            if info.get("native_size")
            else "."
        )
    )
    frozen = info.get("frozen")
    lines.append(f"- Frozen: {frozen['layers']}; {frozen['note']}." if frozen else "- Frozen: nothing.")
    return [*lines, ""]


def write_model_card(run_dir: str | Path, evaluation_dir: str | Path | None = None) -> Path:
    """Write ``RUN/MODEL_CARD.md`` (with the test evaluation of ``evaluation_dir``, by default
    ``RUN/evaluation`` where it exists); return its path."""
    run = Path(run_dir)
    info = json.loads((run / "model.json").read_text(encoding="utf-8"))
    config = load_config(run / "config.yaml") if (run / "config.yaml").is_file() else {}
    lines = [
        f"# Model card: `{run.name}`",
        "",
        f"{info.get('arch')} from {info.get('init')} ({info.get('init_source') or 'no file'}), "
        f"{info.get('input_size')} px input, labels: {', '.join(info.get('label_names', []))}. "
        f"Best epoch {info.get('best_epoch')} of {info.get('epochs_trained')} epochs trained.",
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
    lines += [f"- {k}: {config[k]}" for k in RECIPE_KEYS if k in config]
    lines.append("- loss: binary cross-entropy over the labelled regions only (a missing label adds nothing)")
    evaluation_dir = Path(evaluation_dir) if evaluation_dir else run / "evaluation"
    evaluation_file = evaluation_dir / "evaluation.json"
    lines.append("")
    if evaluation_file.is_file():
        section, more = _evaluation_sections(json.loads(evaluation_file.read_text(encoding="utf-8")))
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
