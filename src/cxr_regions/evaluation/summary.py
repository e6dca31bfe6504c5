"""What ``evaluate`` writes for people: ``auc.md`` (AUCs with CIs, operating points, calibration,
and what was not scored and why) and ``roc.png``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.metrics import roc_curve

from cxr_regions.evaluation.calibration import calibration_markdown
from cxr_regions.evaluation.metrics import CI_LEVEL, MIN_RELIABLE_POSITIVES, AucResult
from cxr_regions.fileio import atomic_path
from cxr_regions.regions import label_title

if TYPE_CHECKING:
    from cxr_regions.evaluation.assess import EvaluationResult


def auc_markdown(result: EvaluationResult) -> str:
    """``auc.md``: the AUC table with intervals, thresholds and the films it rests on."""
    pct = round(CI_LEVEL * 100)
    lines = [
        f"# Evaluation on the {result.split} split",
        "",
        f"{result.n_films} films of {result.n_patients} patients; {pct}% CIs from "
        f"{result.info.get('n_boot', '?')} patient resamples. An AUC over fewer than "
        f"{MIN_RELIABLE_POSITIVES} abnormal films is flagged unreliable.",
        *overlap_lines(result.info),
        "",
        f"| Label | AUC | {pct}% CI | abnormal | normal | threshold | sensitivity | specificity | F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in result.auc.items():
        title = "**mean**" if name == "mean" else label_title(name)
        auc = f"{r.auc:.3f}" if r.defined else ("not labelled" if r.n_pos + r.n_neg == 0 else "undefined")
        auc += " (unreliable)" if r.defined and not r.reliable and name != "mean" else ""
        ci = f"{r.ci_low:.3f}–{r.ci_high:.3f}" if r.defined and not math.isnan(r.ci_low) else "—"
        op = result.thresholds.get(name)
        ops = (
            [f"{op.threshold:.3f}", _pct(op.sensitivity), _pct(op.specificity), _num(op.f1)]
            if op
            else ["", "", "", ""]
        )
        lines.append(f"| {title} | {auc} | {ci} | {r.n_pos} | {r.n_neg} | " + " | ".join(ops) + " |")
    unlabelled = [n for n in result.undefined if result.auc[n].n_pos + result.auc[n].n_neg == 0]
    one_class = [n for n in result.undefined if n not in unlabelled]
    if unlabelled:
        lines += [
            "",
            f"Not labelled: {', '.join(unlabelled)} — no evaluated film has this label (missing, "
            "not normal), so there is nothing to score; the mean is over the other labels.",
        ]
    if one_class:
        lines += [
            "",
            f"Undefined: {', '.join(one_class)} — the labelled {result.split} films are all one class "
            "there, so no ROC curve exists; the mean is over the other labels.",
        ]
    partial = [
        f"{n} ({r.n_missing} films)" for n, r in result.auc.items() if r.n_missing and n not in unlabelled
    ]
    if partial:
        lines += ["", "Missing labels left out (scored over the labelled films): " + ", ".join(partial) + "."]
    note = "Thresholds: Youden's J on the validation split, applied to these films"
    if result.split in ("val", "all"):
        note += " (the same films: sensitivity and specificity are optimistic)"
    lines += ["", note + "."]
    defaults = [f"{n}: {op.source}" for n, op in result.thresholds.items() if op.source != "val Youden"]
    if defaults:
        lines.append("Not chosen on validation: " + "; ".join(defaults) + ".")
    if result.calibration_table is not None:
        lines += ["", *calibration_markdown(result.calibration_table)]
        lines += [
            "",
            "ECE: expected calibration error over 10 equal-width bins; both with 95% patient-bootstrap "
            "CIs. Calibration is monotone: AUCs and threshold decisions are unchanged.",
        ]
    return "\n".join(lines) + "\n"


def overlap_lines(info: dict[str, Any]) -> list[str]:
    """What ``auc.md`` says of an external validation: the labels matched by name."""
    overlap = info.get("label_overlap")
    if not overlap:
        return []
    lines = [
        f"External validation on `{info.get('dataset')}`: labels matched by name — scored: "
        f"{', '.join(overlap['scored']) or 'none'}."
    ]
    if overlap["run_only"]:
        lines.append(f"Predicted but not in the dataset (not labelled): {', '.join(overlap['run_only'])}.")
    if overlap["dataset_only"]:
        lines.append(f"In the dataset but not predicted by the run: {', '.join(overlap['dataset_only'])}.")
    if overlap.get("thresholds_from"):
        lines.append(f"Thresholds and calibration from: {overlap['thresholds_from']}.")
    return lines


def _pct(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1%}"


def _num(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.3f}"


def roc_figure(test: pd.DataFrame, label_names: Sequence[str], auc: dict[str, AucResult], path: Path) -> Path:
    """``roc.png``: one ROC curve per label, AUC and CI in the legend."""
    matplotlib.use("Agg")

    fig, ax = plt.subplots(figsize=(6, 6))
    for name in label_names:
        r = auc[name]
        if not r.defined:
            why = "not labelled" if r.n_pos + r.n_neg == 0 else "undefined (one class)"
            ax.plot([], [], " ", label=f"{name}: {why}")
            continue
        known = test[name].notna().to_numpy()
        fpr, tpr, _ = roc_curve(
            test[name].to_numpy(dtype=float)[known].astype(int),
            test[f"p_{name}"].to_numpy(dtype=float)[known],
        )
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
