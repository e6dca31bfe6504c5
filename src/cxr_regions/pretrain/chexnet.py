"""CheXNet's per-finding test AUCs, the reference a ChestX-ray14 pretraining run is set beside.

Rajpurkar et al., "CheXNet: Radiologist-Level Pneumonia Detection on Chest X-Rays with Deep
Learning", arXiv:1711.05225 (2017), Table 2 (DenseNet121 on ChestX-ray14; their own
patient split, not the official test list, so the comparison is indicative).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from cxr_regions.confidence import MIN_RELIABLE_POSITIVES, AucResult
from cxr_regions.fileio import write_csv, write_text
from cxr_regions.pretrain.nih_findings import FINDINGS

CITATION = "Rajpurkar et al. 2017 (CheXNet, arXiv:1711.05225), Table 2"
CHEXNET_AUC: dict[str, float] = {
    "atelectasis": 0.8094,
    "cardiomegaly": 0.9248,
    "effusion": 0.8638,
    "infiltration": 0.7345,
    "mass": 0.8676,
    "nodule": 0.7802,
    "pneumonia": 0.7680,
    "pneumothorax": 0.8887,
    "consolidation": 0.7901,
    "edema": 0.8878,
    "emphysema": 0.9371,
    "fibrosis": 0.8047,
    "pleural_thickening": 0.8062,
    "hernia": 0.9164,
}
CHEXNET_MEAN = 0.841


def _parts(value: Any) -> tuple[float, float, float, int | None]:
    """AUC, CI low, CI high and positives of an ``AucResult`` (or of a bare AUC: no CI)."""
    if isinstance(value, AucResult):
        return value.auc, value.ci_low, value.ci_high, value.n_pos
    return float(value), math.nan, math.nan, None


def comparison_table(
    aucs: Mapping[str, float | AucResult], positives: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """One row per finding (and a final ``mean`` row): our AUC with its 95% patient-bootstrap CI
    (where ``aucs`` holds :class:`~cxr_regions.confidence.AucResult`), the positive test films,
    ``reliable`` (at least 10 of them), CheXNet's AUC and the difference.

    A finding whose AUC is undefined (NaN: one class only in the test split) shows as empty
    and is left out of our mean, which then says over how many findings it was taken.
    """
    rows = []
    for f in FINDINGS:
        ours, low, high, n_pos = _parts(aucs.get(f.key, math.nan))
        if positives is not None:
            n_pos = int(positives.get(f.key, 0))
        rows.append(
            {
                "finding": f.key,
                "name": f.name,
                "positives": n_pos,
                "auc": ours,
                "ci_low": low,
                "ci_high": high,
                "reliable": n_pos is not None and not math.isnan(ours) and n_pos >= MIN_RELIABLE_POSITIVES,
                "chexnet_auc": CHEXNET_AUC[f.key],
                "difference": ours - CHEXNET_AUC[f.key],
            }
        )
    table = pd.DataFrame(rows)
    defined = table["auc"].notna()
    mean = float(table.loc[defined, "auc"].mean()) if defined.any() else math.nan
    _, low, high, _ = (
        _parts(aucs["mean"]) if isinstance(aucs.get("mean"), AucResult) else (0, *[math.nan] * 2, 0)
    )
    table.loc[len(table)] = {
        "finding": "mean",
        "name": f"mean ({int(defined.sum())} of {len(FINDINGS)} findings)",
        "positives": None,
        "auc": mean,
        "ci_low": low,
        "ci_high": high,
        "reliable": bool(defined.any()),
        "chexnet_auc": CHEXNET_MEAN,
        "difference": mean - CHEXNET_MEAN,
    }
    return table


def _auc(value: float, sign: str = "") -> str:
    return "—" if math.isnan(value) else f"{value:{sign}.3f}"


def comparison_markdown(table: pd.DataFrame, title: str = "ChestX-ray14 test AUC") -> str:
    """The comparison as a Markdown table, with the reference cited, CIs, and undefined and
    unreliable AUCs explained."""
    lines = [
        f"# {title}",
        "",
        "| finding | positives | AUC | 95% CI | CheXNet | difference |",
        "|---|---:|---:|---|---:|---:|",
    ]
    for row in table.itertuples(index=False):
        positives = "" if row.positives is None or pd.isna(row.positives) else str(int(row.positives))
        name = f"**{row.name}**" if row.finding == "mean" else row.name
        auc, ref, diff = _auc(row.auc), f"{row.chexnet_auc:.4f}", _auc(row.difference, "+")
        if not math.isnan(row.auc) and not row.reliable and row.finding != "mean":
            auc += " (unreliable)"
        ci = "—" if pd.isna(row.ci_low) else f"{row.ci_low:.3f}–{row.ci_high:.3f}"
        lines.append(f"| {name} | {positives} | {auc} | {ci} | {ref} | {diff} |")
    lines += [
        "",
        f"Reference: {CITATION}. CheXNet used its own patient split; this run is evaluated on its",
        "test split (the official test_list.txt where present), so the comparison is indicative.",
        "95% CI: patient-bootstrap percentile interval (films of one patient resampled together).",
        f"(unreliable): fewer than {MIN_RELIABLE_POSITIVES} positive test films, too few to read the AUC.",
        "— : AUC undefined, the test split holds only one class of that finding.",
        "",
    ]
    return "\n".join(lines)


def write_comparison(
    aucs: Mapping[str, float | AucResult], out_dir: str | Path, positives: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """Write ``chestx14_auc.csv`` and ``chestx14_auc.md`` in ``out_dir``; return the table."""
    table = comparison_table(aucs, positives)
    out_dir = Path(out_dir)
    write_csv(out_dir / "chestx14_auc.csv", table, float_format="%.4f")
    write_text(out_dir / "chestx14_auc.md", comparison_markdown(table))
    return table
