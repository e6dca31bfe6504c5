"""Plain, detached snapshots of the reading room's rows, handed out by ``Store`` (safe across threads)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cxr_regions.regions import REGION_KEYS, VALUES, calls
from cxr_regions.serve.schema import Film, Verdict


def checked_labels(labels: Mapping[str, str]) -> dict[str, str]:
    """A verdict's labels in region order; ``ValueError`` unless each region has one of ``1``/``u``/``0``."""
    unknown = sorted(set(labels) - set(REGION_KEYS))
    missing = [k for k in REGION_KEYS if k not in labels]
    if unknown or missing:
        raise ValueError(
            f"a verdict needs one label per region ({', '.join(REGION_KEYS)}); "
            f"missing {missing or 'none'}, unknown {unknown or 'none'}"
        )
    bad = {k: v for k, v in labels.items() if v not in VALUES}
    if bad:
        raise ValueError(f"label values must be one of {', '.join(VALUES)}; got {bad}")
    return {k: labels[k] for k in REGION_KEYS}


@dataclass(frozen=True)
class FilmRecord:
    """A detached snapshot of one ``films`` row; JSON columns decoded (its full-depth header, which may
    hold VOI LUT tables, only through ``Store.film_depth``)."""

    id: int
    image_id: str
    sop_instance_uid: str | None
    content_sha256: str | None
    study_instance_uid: str | None
    accession: str | None
    source: str
    png_path: str
    width: int
    height: int
    received_at: datetime
    status: str
    read: bool
    error: str | None
    report_text: str | None
    report_labels: dict[str, str] | None
    report_evidence: str | None
    probabilities: dict[str, float] | None
    max_probability: float | None
    processed_at: datetime | None
    full_depth_path: str | None
    patient_key: str | None
    study_day: int | None
    urgent: bool
    raw_probabilities: dict[str, float] | None
    raw_max_probability: float | None

    @classmethod
    def of(cls, row: Film) -> FilmRecord:
        return cls(**{f.name: getattr(row, f.name) for f in dataclasses.fields(cls)})

    def calls(self, thresholds: Mapping[str, float]) -> dict[str, bool] | None:
        """Per region, called abnormal with ``thresholds`` (``regions.calls``); None before a result."""
        if not self.probabilities:
            return None
        return calls({k: self.probabilities[k] for k in REGION_KEYS}, thresholds)

    def flagged(self, thresholds: Mapping[str, float]) -> tuple[str, ...]:
        """The regions called abnormal with ``thresholds``, in region order (none before a result)."""
        return tuple(k for k, abnormal in (self.calls(thresholds) or {}).items() if abnormal)


@dataclass(frozen=True)
class VerdictRecord:
    """A detached snapshot of one reader's current verdict on a film."""

    id: int
    film_id: int
    reader: str
    labels: dict[str, str]
    note: str
    saved_at: datetime
    cardiothoracic_ratio: float | None = None
    measurements: dict | None = None

    @classmethod
    def of(cls, row: Verdict) -> VerdictRecord:
        labels = {k: getattr(row, k) for k in REGION_KEYS}
        return cls(
            row.id, row.film_id, row.reader, labels, row.note, row.saved_at,
            row.cardiothoracic_ratio, row.measurements,
        )  # fmt: skip
