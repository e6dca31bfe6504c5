"""The paper's Table 1: normal films, and per region the abnormal films, how many of them are
abnormal in at least one other region too (the overlap) and the overlap rate.

The one implementation: ``label-stats`` tabulates a labels file with it, ``build`` a dataset's films
(all and per split, over any label names, e.g. ChestX-ray14's findings), ``report`` the source films.
``u`` counts as abnormal (the method's binary reading). Rows whose report had no text
(status ``empty_text``) are not films of known label: they are left out and counted apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from cxr_regions.regions import BY_KEY, REGION_KEYS, to_binary

COLUMNS = ("label", "name_zh", "films", "overlap", "overlap_rate")
MISSING = -1
NOT_LABELLED = "not labelled"
_MISSING_TEXT = {"", "nan", "<na>", "none"}


def binary_matrix(frame: pd.DataFrame, label_names: Sequence[str] = REGION_KEYS) -> np.ndarray:
    """N×labels array of 0/1 from region columns holding ``1``/``u``/``0`` (or 0/1 numbers);
    :data:`MISSING` (-1) where a cell is empty (a label the source does not give, never a 0)."""
    missing = [k for k in label_names if k not in frame.columns]
    if missing:
        raise KeyError(
            f"region column(s) {', '.join(missing)} missing; "
            f"the columns are: {', '.join(map(str, frame.columns))}"
        )
    out = np.zeros((len(frame), len(label_names)), dtype=np.int8)
    for j, key in enumerate(label_names):
        values = frame[key].astype(str).str.strip().str.lower()
        values = values.replace({"1.0": "1", "0.0": "0", "true": "1", "false": "0"})
        out[:, j] = [MISSING if v in _MISSING_TEXT else to_binary(v) for v in values]
    return out


def table1(labels_frame: pd.DataFrame, label_names: Sequence[str] = REGION_KEYS) -> pd.DataFrame:
    """Table 1 of the paper for a labels (or dataset manifest) frame.

    Rows: ``normal`` (films with no abnormal label), one per label in order, and ``total``.
    Columns: label, name_zh (a region's Chinese name, else empty), films, overlap (abnormal in
    another label too), overlap_rate. A label missing from every film (empty cells, e.g. the aorta
    of ChestX-ray14) has ``films`` = :data:`NOT_LABELLED` and no overlap: it is not a count of 0.
    ``normal`` counts films with no abnormal label among the labels they have.
    """
    frame = labels_frame
    if "status" in frame.columns:
        frame = frame[frame["status"].astype(str) != "empty_text"]
    matrix = binary_matrix(frame, label_names)
    per_film = (matrix == 1).sum(axis=1)
    normal = int((per_film == 0).sum())
    rows: list[dict[str, Any]] = [{"label": "normal", "name_zh": "正常", "films": normal, "overlap": None}]
    for j, name in enumerate(label_names):
        column = matrix[:, j] == 1
        zh = BY_KEY[name].zh if name in BY_KEY else ""
        if len(frame) and (matrix[:, j] == MISSING).all():
            rows.append({"label": name, "name_zh": zh, "films": NOT_LABELLED, "overlap": None})
            continue
        abnormal = int(column.sum())
        overlap = int((column & (per_film > 1)).sum())
        rows.append({"label": name, "name_zh": zh, "films": abnormal, "overlap": overlap})
    rows.append(
        {"label": "total", "name_zh": "合计", "films": len(frame), "overlap": int((per_film > 1).sum())}
    )
    table = pd.DataFrame(rows, columns=list(COLUMNS[:-1]))
    rates: list[float | None] = []
    for row in rows:
        if row["label"] == "normal" or row["films"] == NOT_LABELLED:
            rates.append(None)
        elif row["label"] == "total":
            abnormal_films = int((per_film > 0).sum())
            rates.append(round(row["overlap"] / abnormal_films, 4) if abnormal_films else None)
        else:
            rates.append(round(row["overlap"] / row["films"], 4) if row["films"] else None)
    table["overlap_rate"] = rates
    table["overlap"] = table["overlap"].astype("Int64")
    return table


def table1_markdown(
    table: pd.DataFrame, title: str | None = "Table 1: films per label", skipped: int = 0, note: bool = True
) -> str:
    """Table 1 as Markdown (rates as percentages), with a note on what overlap means unless ``note``
    is False. ``total``'s overlap counts multi-region films."""
    lines = []
    if title:
        lines += [f"### {title}", ""]
    lines += ["| label | 标签 | films | overlap | overlap rate |", "|---|---|---:|---:|---:|"]
    for row in table.itertuples(index=False):
        overlap = "" if pd.isna(row.overlap) else str(int(row.overlap))
        rate = (
            "" if row.overlap_rate is None or pd.isna(row.overlap_rate) else f"{100 * row.overlap_rate:.1f}%"
        )
        lines.append(f"| {row.label} | {row.name_zh} | {row.films} | {overlap} | {rate} |")
    if note:
        lines.append("")
        lines.append(
            "Overlap: abnormal films of the region that are abnormal in at least one other region too; "
            "`u` counts as abnormal. In the total row: films abnormal in two regions or more, "
            "over all abnormal films."
        )
    if skipped:
        lines.append(f"{skipped} report(s) without text (status empty_text) are left out.")
    return "\n".join(lines) + "\n"
