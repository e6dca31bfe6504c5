"""ChestX-ray14's 14 findings -> the five regions, following docs/labeling-policy.md.

NIH labels three of the five regions: a film is abnormal in a region when one of the findings
mapped to it is listed, and normal there otherwise. NIH says nothing of the thoracic cage or the
aorta, so ``thorax`` and ``aorta`` are *missing* on every film (an empty manifest cell), never
normal. The table and its reasons are in docs/chestx14.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_regions.contracts.dataset import DatasetInfo
from cxr_regions.label import table1, table1_markdown
from cxr_regions.pretrain.nih_findings import FINDING_KEYS
from cxr_regions.regions import REGION_KEYS

LABEL_SOURCE = "ChestX-ray14 findings (NIH, mined from reports), mapped to regions"
MISSING_MARK = "-"

# finding key -> region key, with the labelling policy's reason
FINDING_REGION: dict[str, tuple[str, str]] = {
    "atelectasis": ("lungs", "不张 is a lung word"),
    "cardiomegaly": ("heart", "an enlarged heart (心影增大) is the heart's"),
    "effusion": ("diaphragm", "pleural fluid (胸腔积液) is fixed to the diaphragm and costophrenic angles"),
    "infiltration": ("lungs", "渗出 is a lung word"),
    "mass": ("lungs", "a bare mass or opacity (影) is a lung focus; NIH's masses are mostly pulmonary"),
    "nodule": ("lungs", "a bare 结节 is a lung focus"),
    "pneumonia": ("lungs", "肺炎 is fixed to the lungs"),
    "pneumothorax": ("lungs", "air in the pleural space (气胸) is fixed to the lungs"),
    "consolidation": ("lungs", "实变 is a lung word"),
    "edema": ("lungs", "肺水肿 is fixed to the lungs"),
    "emphysema": ("lungs", "肺气肿 is fixed to the lungs (flattened domes are not in NIH's label)"),
    "fibrosis": ("lungs", "fibrosis (条索, 间质) is the lungs'"),
    "pleural_thickening": ("diaphragm", "the pleura (胸膜增厚) belongs to the diaphragm region"),
    "hernia": ("diaphragm", "NIH's hernias are hiatal/diaphragmatic: 膈疝 is fixed to the diaphragm"),
}
UNLABELLED_REGIONS: tuple[str, ...] = tuple(
    k for k in REGION_KEYS if k not in {r for r, _ in FINDING_REGION.values()}
)


def region_labels(findings: pd.DataFrame) -> pd.DataFrame:
    """The five region columns for films with the 14 finding columns (0/1).

    Labelled regions are ``1``/``0`` (int), unlabelled ones empty (``""``): a manifest cell read
    back as missing. Adds ``label_string`` with ``-`` for a missing region (e.g. ``-10-1``).
    """
    values = findings[list(FINDING_KEYS)].to_numpy(dtype=int)
    out = pd.DataFrame(index=findings.index)
    for region in REGION_KEYS:
        columns = [j for j, key in enumerate(FINDING_KEYS) if FINDING_REGION[key][0] == region]
        if columns:
            out[region] = values[:, columns].max(axis=1).astype(int)
        else:
            out[region] = ""
    out["label_string"] = [
        "".join(MISSING_MARK if v == "" else str(v) for v in row) for row in out[list(REGION_KEYS)].to_numpy()
    ]
    return out


def mapping_table() -> list[dict[str, str]]:
    """The mapping as rows (finding, region, reason) for dataset.json and the model card."""
    return [{"finding": k, "region": r, "reason": why} for k, (r, why) in FINDING_REGION.items()]


def region_counts(manifest: pd.DataFrame) -> dict[str, dict[str, int | None]]:
    """Abnormal films per region and split; ``None`` for a region with no labelled film."""
    out: dict[str, dict[str, int | None]] = {}
    for split in ("train", "val", "test"):
        rows = manifest[manifest["split"] == split]
        out[split] = {"films": len(rows), "patients": int(rows["patient_key"].nunique())}
        for region in REGION_KEYS:
            known = pd.to_numeric(rows[region].replace("", np.nan))
            out[split][region] = int(known.sum()) if known.notna().any() else None
    return out


def regions_manifest(findings_manifest: pd.DataFrame) -> pd.DataFrame:
    """The preparation's manifest with the five regions as its labels; the 14 findings stay as
    trailing columns, so that each region value can be traced to NIH's labels."""
    regions = region_labels(findings_manifest)
    front = ["index", "image_id", "patient_key"]
    rest = [c for c in findings_manifest.columns if c not in {*front, "label_string", *FINDING_KEYS}]
    return pd.concat(
        [findings_manifest[front], regions, findings_manifest[rest], findings_manifest[list(FINDING_KEYS)]],
        axis=1,
    )


def regions_meta(manifest: pd.DataFrame) -> dict[str, object]:
    """What ``dataset.json`` says of a region preparation (it replaces the findings' fields)."""
    return {
        "kind": "chestx14-regions",
        "labels": list(REGION_KEYS),
        "label_source": LABEL_SOURCE,
        "label_mapping": mapping_table(),
        "unlabelled_labels": list(UNLABELLED_REGIONS),
        "sites": ["NIH Clinical Center"],
        "counts": region_counts(manifest),
    }


def regions_stats_markdown(manifest: pd.DataFrame, meta: DatasetInfo) -> str:
    """``stats.md`` of a region preparation: films, patients, Table 1, and the mapping."""
    splits = ("train", "val", "test")
    counts = meta.counts.model_dump()
    lines = [
        "# ChestX-ray14 as the five regions",
        "",
        f"Source: `{meta.source}` ({meta.labels_csv}); split: {meta.split_source}; "
        f"{meta.size}×{meta.size} px. Labels: {LABEL_SOURCE}.",
        f"Not labelled (missing on every film, not normal): {', '.join(UNLABELLED_REGIONS)}.",
        "",
        "| | train | val | test |",
        "|---|---:|---:|---:|",
    ]
    for key in ("films", "patients", *REGION_KEYS):
        cells = ["not labelled" if counts[s][key] is None else str(counts[s][key]) for s in splits]
        lines.append(f"| {key} | {' | '.join(cells)} |")
    lines += ["", "## Table 1: all films", "", table1_markdown(table1(manifest, REGION_KEYS), title=None)]
    lines += ["## Mapping", "", "| NIH finding | region | reason |", "|---|---|---|"]
    lines += [f"| {r['finding']} | {r['region']} | {r['reason']} |" for r in mapping_table()]
    return "\n".join(lines) + "\n"
