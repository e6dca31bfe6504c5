"""Joining films (``images.csv`` from ingest) to their reports' labels (``labels.csv`` from label).

A film is joined to its report by accession number (``images.accession_number`` = ``labels.report_id``,
the default for a PACS export) or by image id. Every film or report that does not make it into the
dataset is listed with the reason (``unmatched.csv``), and counted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cxr_regions.contracts import label_rows as labels_contract
from cxr_regions.contracts.images import IMAGES
from cxr_regions.errors import UserError
from cxr_regions.regions import REGION_KEYS, VALUES, strongest

JOIN_KEYS = ("accession", "image_id")
UNMATCHED_COLUMNS = ["kind", "id", "reason"]
_TRUE = {"1", "1.0", "true", "yes", "u"}
_FALSE = {"0", "0.0", "false", "no"}


def raw_values(frame: pd.DataFrame, label_names: Sequence[str], where: str, id_col: str) -> pd.DataFrame:
    """The label columns as ``1``/``u``/``0`` text (ints, floats and booleans accepted), or a clear error."""
    out = pd.DataFrame(index=frame.index)
    for name in label_names:
        text = frame[name].astype(str).str.strip().str.lower()
        text = text.where(~text.isin(_FALSE), "0").where(~text.isin(_TRUE - {"u"}), "1")
        bad = ~text.isin(VALUES)
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise UserError(
                f"{where}: row {pos + 2} ({id_col} {frame[id_col].iloc[pos]!r}) has {name}="
                f"{frame[name].iloc[pos]!r}; label values must be 1, u or 0 "
                f"({int(bad.sum())} bad value(s) in column {name})"
            )
        out[name] = text
    return out


def fold(raw: pd.DataFrame, label_names: Sequence[str]) -> pd.DataFrame:
    """``1``/``u``/``0`` text -> 0/1 ints, ``u`` counted as abnormal (the method's reading)."""
    return pd.DataFrame({n: (raw[n] != "0").astype(np.int8) for n in label_names}, index=raw.index)


def value_counts(raw: pd.DataFrame, label_names: Sequence[str]) -> dict[str, dict[str, int]]:
    """Counts of ``1``, ``u`` and ``0`` per label (kept in the stats before ``u`` is folded)."""
    return {n: {v: int((raw[n] == v).sum()) for v in VALUES} for n in label_names}


@dataclass
class JoinResult:
    """Matched films with their raw label values, the rows left out with reasons, and the counts."""

    films: pd.DataFrame
    unmatched: pd.DataFrame
    summary: dict[str, int]


def join_tables(
    labels_csv: str | os.PathLike[str],
    images_csv: str | os.PathLike[str],
    on: str = "accession",
    views: Sequence[str] = (),
) -> JoinResult:
    """Join ``images.csv`` to ``labels.csv``. ``films`` has ``image_id``, ``patient_key``, ``png``
    (absolute path, resolved against the folder of ``images.csv``) and the five raw label values."""
    if on not in JOIN_KEYS:
        raise UserError(f"--join must be one of {', '.join(JOIN_KEYS)}, got {on!r}")
    key_col = "accession_number" if on == "accession" else "image_id"
    labels = labels_contract.read(labels_csv)  # region values checked: 1, u or 0
    images = IMAGES.read(images_csv, need=[key_col])
    left_out: list[pd.DataFrame] = []

    def leave_out(kind: str, ids: pd.Series, reason: str | pd.Series) -> None:
        if len(ids):
            left_out.append(pd.DataFrame({"kind": kind, "id": ids.to_numpy(), "reason": reason}))

    dup_images = images["image_id"][images["image_id"].duplicated(keep=False)]
    if len(dup_images):
        raise UserError(
            f"{images_csv}: image_id must be unique; repeated: {', '.join(sorted(set(dup_images))[:5])}"
        )
    labels = labels[labels["report_id"] != ""]
    if "status" in labels.columns:
        empty = labels["status"] == "empty_text"
        leave_out("report", labels["report_id"][empty], "report text is empty")
        labels = labels[~empty]
    n_reports = labels["report_id"].nunique()
    duplicated_reports = int(labels["report_id"].duplicated().sum())
    merged = labels.groupby("report_id", sort=False)[list(REGION_KEYS)].agg(strongest).reset_index()

    n_films = len(images)
    all_film_keys = set(images[key_col])
    if "status" in images.columns:
        bad = ~images["status"].str.lower().isin(["", "ok"])
        leave_out("film", images["image_id"][bad], "ingest status " + images["status"][bad])
        images = images[~bad]
    if views:
        if "view" not in images.columns:
            raise UserError(f"{images_csv}: --views needs a view column, which this table lacks")
        other = ~images["view"].str.upper().isin({v.upper() for v in views})
        leave_out("film", images["image_id"][other], "view " + images["view"][other] + " not selected")
        images = images[~other]
    no_patient = images["patient_key"] == ""
    leave_out("film", images["image_id"][no_patient], "no patient key")
    images = images[~no_patient]

    joined = images.merge(merged, left_on=key_col, right_on="report_id", how="left", indicator=True)
    orphan = joined["_merge"] == "left_only"
    reason = "no report with this accession number" if on == "accession" else "no report with this image id"
    leave_out("film", joined["image_id"][orphan], reason)
    joined = joined[~orphan]
    unused = ~merged["report_id"].isin(images[key_col])
    films_left_out = unused & merged["report_id"].isin(all_film_keys)
    leave_out("report", merged["report_id"][films_left_out], "its film(s) left out (see the film rows)")
    unused &= ~films_left_out
    leave_out("report", merged["report_id"][unused], "no film with this id")

    root = Path(images_csv).resolve().parent
    joined = joined.assign(png=[str(root / p) for p in joined["png_path"]])
    missing = ~joined["png"].map(os.path.isfile)
    leave_out("film", joined["image_id"][missing], "PNG missing: " + joined["png_path"][missing])
    joined = joined[~missing]

    films = joined[["image_id", "patient_key", "png", *REGION_KEYS]].reset_index(drop=True)
    unmatched = (
        pd.concat(left_out, ignore_index=True) if left_out else pd.DataFrame(columns=UNMATCHED_COLUMNS)
    )
    summary = {
        "films_in_images_csv": n_films,
        "reports_in_labels_csv": n_reports,
        "duplicate_report_rows_merged": duplicated_reports,
        "matched_films": len(films),
        "films_without_report": int(orphan.sum()),
        "reports_without_film": int(unused.sum()),
        "films_left_out_other": int((unmatched["kind"] == "film").sum()) - int(orphan.sum()),
        "reports_left_out_other": int((unmatched["kind"] == "report").sum()) - int(unused.sum()),
    }
    return JoinResult(films=films, unmatched=unmatched, summary=summary)
