"""One self-contained HTML file about a trained model: the data, the scores and a gallery of films.

Sections: the dataset's Table 1 and split table (from the dataset folder), the AUC table with
intervals and the ROC plot (from the evaluation folder), the heatmaps' localisation scores (from
the explain folder, where masks were known), and a gallery of test films, each with its heatmaps,
its report with the labeler's evidence marked, its true labels and the model's probabilities.
Every image is inlined as base64 PNG, so the file can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxr_regions import __version__
from cxr_regions.contracts import label_rows as labels_contract
from cxr_regions.contracts.evaluation_files import (
    PREDICTIONS,
    CalibrationInfo,
    CalibrationRow,
    EvaluationInfo,
)
from cxr_regions.contracts.explain_files import LOCALISATION
from cxr_regions.contracts.images import IMAGES
from cxr_regions.errors import UserError
from cxr_regions.fileio import write_text
from cxr_regions.imageio import png_bytes
from cxr_regions.regions import REGIONS, call, operating_thresholds
from cxr_regions.report.evidence import highlight, region_title

THUMBNAIL = 320
"""Longest side, in pixels, of the images inlined in the gallery."""

PALETTE = ("#8e44ad", "#2e86c1", "#d35400", "#c0392b", "#16a085", "#7f8c8d", "#b7950b", "#1abc9c")
"""Region colours in region order (matplotlib-like, readable on white)."""


def region_colours() -> dict[str, str]:
    """Each region's colour (``#rrggbb``), as the report and the reading room's overlays draw it."""
    return {region.key: colour for region, colour in zip(REGIONS, PALETTE, strict=False)}


def region_css() -> str:
    """One colour per region, for dots, evidence underlines and highlighted cue words."""
    rules = []
    for region, colour in zip(REGIONS, PALETTE, strict=False):
        k = region.key
        rules.append(
            f".dot.r-{k} {{ background: {colour}; }} .clause.r-{k} {{ border-color: {colour}; }} "
            f"mark.r-{k} {{ background: {colour}33; }} figcaption.r-{k}, li.r-{k} {{ color: {colour}; }}"
        )
    return "\n".join(rules)


@dataclass
class ReportInputs:
    """The folders and tables the report is made from (docs/data-contracts.md).

    ``labels`` (labels.csv) gives each report's evidence; ``images`` (images.csv) links a film's
    ``image_id`` to its report via ``accession_number`` (without it, report ids are image ids);
    ``reports`` maps a report id to its text.
    """

    dataset: Path
    evaluation: Path
    explain: Path | None = None
    labels: Path | None = None
    images: Path | None = None
    reports: Mapping[str, str] | None = None
    title: str = "cxr-regions report"
    phantom: bool = False
    notes: Sequence[str] = field(default_factory=list)
    gallery_size: int = 24


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def thumbnail_png(image: np.ndarray, longest: int = THUMBNAIL) -> bytes:
    """PNG bytes of a gray or RGB uint8 image, shrunk so that its longest side is at most ``longest``."""
    import cv2

    h, w = image.shape[:2]
    if max(h, w) > longest:
        scale = longest / max(h, w)
        image = cv2.resize(
            image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    return png_bytes(image)


def read_png_rgb(path: Path) -> np.ndarray:
    """An RGB (or gray) PNG file as a uint8 array."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise UserError(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if image.ndim == 3 else image


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _table(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "columns": [str(c) for c in frame.columns],
        "rows": [[_fmt(v) for v in row] for row in frame.itertuples(index=False)],
    }


def table1_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 1 (``cxr_regions.label.table1``) as the report shows it: titles and percentages."""
    return pd.DataFrame(
        {
            "label": [f"{r.label} {r.name_zh}".strip() for r in table.itertuples(index=False)],
            "films": table["films"],
            "overlap": ["" if pd.isna(v) else int(v) for v in table["overlap"]],
            "overlap rate": ["" if pd.isna(v) else f"{v:.1%}" for v in table["overlap_rate"]],
        }
    )


def dataset_tables(data: Any) -> dict[str, Any]:
    """Table 1 over the dataset's source films and the split table, from the stages' own code."""
    from cxr_regions.build import split_table
    from cxr_regions.label import table1

    manifest = data.manifest
    names = list(data.label_names)
    sources = manifest[manifest["image_id"].astype(str) == manifest["source_image_id"].astype(str)]
    return {
        "table1": _table(table1_display(table1(sources, names))),
        "splits": _table(split_table(manifest, names)),
        "meta": data.meta,
    }


def auc_table(evaluation: EvaluationInfo) -> dict[str, Any]:
    """The AUC table with intervals and operating points, from evaluate's ``evaluation.json``."""
    level = round(evaluation.ci_level * 100)
    rows = []
    for name in [*evaluation.labels, "mean"]:
        auc = evaluation.auc.get(name)
        point = evaluation.thresholds.get(name)
        value = _fmt(auc.auc) if auc else "–"
        ci = f"{_fmt(auc.ci_low)} – {_fmt(auc.ci_high)}" if auc and auc.auc is not None else "–"
        if auc is None or (auc.auc is None and auc.n_pos + auc.n_neg == 0):
            value = "not labelled"
        elif auc.auc is None:
            value = "undefined (one class)"
        elif name != "mean" and not auc.reliable:
            value += " (unreliable: < 10 abnormal)"
        rows.append(
            [
                region_title(name) if name != "mean" else "mean",
                value,
                ci,
                _fmt(auc.n_pos if auc else "") if name != "mean" else "",
                _fmt(auc.n_neg if auc else "") if name != "mean" else "",
                _fmt(point.threshold) if point else "",
                _fmt(point.sensitivity) if point else "",
                _fmt(point.specificity) if point else "",
            ]
        )
    columns = [
        "label",
        "AUC",
        f"{level}% CI",
        "abnormal",
        "normal",
        "threshold",
        "sensitivity",
        "specificity",
    ]
    return {"columns": columns, "rows": rows, "is_mean_last": True}


def calibration_table(evaluation: EvaluationInfo) -> dict[str, Any] | None:
    """Temperature, ECE and Brier before/after (with CIs) per region, from ``evaluation.json``."""
    rows = []
    for name, c in (evaluation.calibration or {}).items():

        def cell(metric: str, when: str, c: CalibrationRow = c) -> str:
            value = getattr(c, f"{metric}_{when}")
            if value is None:
                return "not labelled" if not c.n_films else "–"
            low, high = getattr(c, f"{metric}_{when}_ci_low"), getattr(c, f"{metric}_{when}_ci_high")
            return f"{value:.3f} ({_fmt(low)}–{_fmt(high)})"

        rows.append(
            {
                "region": region_title(name),
                "T": _fmt(c.temperature, 2),
                "ECE before": cell("ece", "before"),
                "ECE after": cell("ece", "after"),
                "Brier before": cell("brier", "before"),
                "Brier after": cell("brier", "after"),
                "fit": c.fit,
            }
        )
    return _table(pd.DataFrame(rows)) if rows else None


def localisation_table(explain: Path, manifest: pd.DataFrame) -> dict[str, Any] | None:
    """Pointing game and energy share per region from the explain folder's localisation.csv: over
    all scored films, and over those whose label says the region is abnormal (where a heatmap of
    the suspected area means something), each beside the chance level."""
    from cxr_regions.explain import summarise_by_label

    if not LOCALISATION.exists(explain):
        return None
    table = summarise_by_label(LOCALISATION.read(explain), manifest)

    def pct(value: float) -> str:
        return "–" if pd.isna(value) else f"{value:.0%}"

    rows = [
        {
            "region": region_title(row.region),
            "films": row.films,
            "pointing game": pct(row.pointing_game),
            "energy in mask": pct(row.energy_share),
            "abnormal films": row.abnormal_films,
            "pointing game (abnormal)": pct(row.pointing_game_abnormal),
            "energy in mask (abnormal)": pct(row.energy_share_abnormal),
            "chance (mask area)": pct(row.chance),
        }
        for row in table.itertuples(index=False)
    ]
    return _table(pd.DataFrame(rows))


def _report_links(inputs: ReportInputs) -> tuple[dict[str, str], dict[str, labels_contract.LabelRow]]:
    """image_id -> report id, and report id -> its labels.csv row."""
    link: dict[str, str] = {}
    if inputs.images is not None:
        table = IMAGES.read(inputs.images)
        if "accession_number" in table.columns:
            link = dict(zip(table["image_id"], table["accession_number"], strict=True))
    labels = labels_contract.read_rows(inputs.labels) if inputs.labels is not None else {}
    return link, labels


def gallery(inputs: ReportInputs, data: Any, evaluation: EvaluationInfo) -> list[dict[str, Any]]:
    """Cards for up to ``gallery_size`` test films (films with abnormal labels first)."""
    names = list(evaluation.labels)
    predictions = PREDICTIONS.read(inputs.evaluation, names)
    points = evaluation.thresholds
    cuts = operating_thresholds({n: points[n].threshold if n in points else None for n in names}, names)
    calibration = _calibration(inputs.evaluation)
    untrained = set(evaluation.untrained_labels)
    manifest = data.manifest.assign(image_id=data.manifest["image_id"].astype(str))
    index = dict(zip(manifest["image_id"], manifest["index"], strict=True))
    predictions = predictions.assign(_abnormal=predictions[names].sum(axis=1)).sort_values("image_id")
    abnormal, normal = predictions[predictions["_abnormal"] > 0], predictions[predictions["_abnormal"] == 0]
    n_normal = min(len(normal), max(inputs.gallery_size - len(abnormal), inputs.gallery_size // 4))
    chosen = pd.concat([abnormal.head(inputs.gallery_size - n_normal), normal.head(n_normal)])
    link, labels = _report_links(inputs)
    cards = []
    for row in chosen.to_dict("records"):
        image_id = row["image_id"]
        film = data.images[int(index[image_id])] if image_id in index else None
        report_id = link.get(image_id, image_id)
        label_row = labels.get(report_id)
        evidence = [e for e in label_row.evidence if e.value != "0"] if label_row else []
        text = (inputs.reports or {}).get(report_id)
        heat_dir = inputs.explain / "heatmaps" / image_id if inputs.explain else None
        regions = []
        for name in names:
            raw = float(row[f"p_{name}"])
            predicted = call(raw, cuts[name]) and name not in untrained  # raw scale, as the thresholds
            p = calibration.apply_label(name, raw) if calibration else raw
            p = None if name in untrained else p
            truth = None if pd.isna(row[name]) else int(row[name])
            overlay = heat_dir / f"{name}.png" if heat_dir else None
            regions.append(
                {
                    "key": name,
                    "title": region_title(name),
                    "truth": truth,
                    "report": label_row.values.get(name, "") if label_row else "",
                    "p": p,
                    "predicted": predicted,
                    "correct": None if truth is None else predicted == bool(truth),
                    "overlay": data_uri(thumbnail_png(read_png_rgb(overlay)))
                    if predicted and overlay is not None and overlay.exists()
                    else None,
                }
            )
        cards.append(
            {
                "image_id": image_id,
                "film": data_uri(thumbnail_png(np.asarray(film))) if film is not None else None,
                "regions": regions,
                "truth_string": "".join("-" if r["truth"] is None else str(r["truth"]) for r in regions),
                "predicted_string": "".join(
                    "-" if r["p"] is None else ("1" if r["predicted"] else "0") for r in regions
                ),
                "report_id": report_id if (label_row or text) else None,
                "report_html": highlight(text, evidence) if text else None,
                "evidence": [] if text else evidence,
                "has_heatmaps": heat_dir is not None and heat_dir.exists(),
            }
        )
    return cards


def _calibration(folder: Path) -> Any:
    """The calibration ``evaluate`` saved beside the thresholds, or None (older folders)."""
    from cxr_regions import evaluation

    return evaluation.load_calibration(folder) if CalibrationInfo.exists(folder) else None


def read_evaluation(folder: Path) -> EvaluationInfo:
    """evaluate's ``evaluation.json``, checking that its ``predictions.csv`` is there too."""
    result = EvaluationInfo.read(folder)
    if not PREDICTIONS.exists(folder):
        raise UserError(f"no {PREDICTIONS.file} in {folder}; run `cxr-regions evaluate` on the run again")
    return result


def render(inputs: ReportInputs) -> str:
    """The report's HTML text."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    from cxr_regions.build import open_dataset

    for label, path in (("dataset", inputs.dataset), ("evaluation", inputs.evaluation)):
        if not Path(path).is_dir():
            raise UserError(f"{label} folder {path} does not exist")
    data = open_dataset(inputs.dataset)
    evaluation = read_evaluation(inputs.evaluation)
    roc = inputs.evaluation / "roc.png"
    reliability = inputs.evaluation / "reliability.png"
    env = Environment(loader=PackageLoader("cxr_regions.report", "templates"), autoescape=select_autoescape())
    context = {
        "title": inputs.title,
        "phantom": inputs.phantom,
        "notes": list(inputs.notes),
        "dataset": dataset_tables(data),
        "auc": auc_table(evaluation),
        "evaluation": evaluation,
        "roc": data_uri(roc.read_bytes()) if roc.exists() else None,
        "reliability": data_uri(reliability.read_bytes()) if reliability.exists() else None,
        "calibrated": _calibration(inputs.evaluation) is not None,
        "calibration": calibration_table(evaluation),
        "localisation": localisation_table(inputs.explain, data.manifest) if inputs.explain else None,
        "cards": gallery(inputs, data, evaluation),
        "n_test": evaluation.n_films,
        "version": __version__,
        "written_at": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "region_css": region_css(),
        "css": (Path(__file__).parent / "templates" / "report.css").read_text(encoding="utf-8"),
    }
    return env.get_template("report.html").render(**context)


def write_html_report(out: os.PathLike[str] | str, inputs: ReportInputs) -> Path:
    """Write the report to ``out`` (UTF-8, atomically) and return its path."""
    return write_text(out, render(inputs))
