"""The radiologists' verdicts out of the reading room: a labels.csv-format export and model agreement.

The export is a labels.csv (:mod:`cxr_regions.contracts.labels`: ``report_id``, the five regions as
``1``/``u``/``0``, ``label_string``..., read by ``label-eval --gold`` and ``build --labels``), plus who read
it and when: one row per (film, reader) verdict, oldest first. ``report_id`` is the film's accession
number, or its image id where it has none (then ``build --join image_id``). Several readers of one film
give several rows; ``build`` combines them as it does repeated reports (``1`` beats ``u`` beats ``0``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from cxr_regions.contracts import labels as labels_contract
from cxr_regions.regions import REGION_KEYS, to_binary
from cxr_regions.serve.store import DEFAULT_THRESHOLD, Store

VERDICT_COLUMNS: tuple[str, ...] = ("reader", "saved_at", "note", "image_id", "accession", "text")
"""The columns after labels.csv's: who read the film and when, the note, the film, its report."""
EXPORT_COLUMNS: tuple[str, ...] = (*labels_contract.COLUMNS, *VERDICT_COLUMNS)


def verdict_rows(store: Store) -> list[labels_contract.LabelRow]:
    """Every current verdict as a labels.csv row (with ``VERDICT_COLUMNS`` as extras), oldest first.

    ``text`` is the film's report (empty where it has none), so ``label-eval --gold`` can run the
    labeler on it; ``saved_at`` is ISO 8601 in UTC. A verdict has no evidence: ``evidence`` is ``[]``.
    """
    verdicts = store.verdicts()
    films = store.films(v.film_id for v in verdicts)
    rows = []
    for v in verdicts:
        film = films[v.film_id]
        extra = {
            "reader": v.reader,
            "saved_at": v.saved_at.isoformat(timespec="seconds"),
            "note": v.note or "",
            "image_id": film.image_id,
            "accession": film.accession or "",
            "text": film.report_text or "",
        }
        rows.append(labels_contract.LabelRow(film.accession or film.image_id, dict(v.labels), extra=extra))
    return rows


def export_verdicts(store: Store, out: Path) -> int:
    """Write every verdict to ``out`` (atomically, UTF-8 CSV) in the labels.csv format; returns the rows."""
    rows = verdict_rows(store)
    labels_contract.write(out, rows, extra=VERDICT_COLUMNS)
    return len(rows)


@dataclass(frozen=True)
class RegionAgreement:
    """Model call vs radiologists for one region: counts, sensitivity and specificity (NaN if undefined).

    ``threshold`` is None where the stored flags were used.
    """

    region: str
    threshold: float | None
    n: int
    tp: int
    fp: int
    tn: int
    fn: int
    sensitivity: float
    specificity: float

    def to_dict(self) -> dict:
        """The numbers with undefined rates as None (JSON has no NaN)."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


def agreement(store: Store, thresholds: Mapping[str, float] | None = None) -> dict[str, RegionAgreement]:
    """Per region, the model's call (probability >= threshold) against each radiologist's verdict.

    Every (film, reader) verdict on a film with probabilities is one case; films still queued or failed
    are left out. The radiologist's ``u`` counts as abnormal (the method's binary reading), so sensitivity
    is ``tp / (tp + fn)`` over the verdicts ``1`` or ``u`` and specificity ``tn / (tn + fp)`` over ``0``.
    Without ``thresholds`` the calls stored with each result (the worklist's flags) are used; a region
    missing from ``thresholds`` uses ``DEFAULT_THRESHOLD`` (0.5).
    """
    verdicts = store.verdicts()
    films = store.films(v.film_id for v in verdicts)
    counts = {k: {"tp": 0, "fp": 0, "tn": 0, "fn": 0} for k in REGION_KEYS}
    for v in verdicts:
        film = films[v.film_id]
        if not film.probabilities:
            continue
        for key in REGION_KEYS:
            if thresholds is None:
                called = key in film.flagged
            else:
                called = film.probabilities[key] >= float(thresholds.get(key, DEFAULT_THRESHOLD))
            truth = bool(to_binary(v.labels[key]))
            counts[key][("t" if called == truth else "f") + ("p" if called else "n")] += 1
    out = {}
    for key, c in counts.items():
        sens = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else math.nan
        spec = c["tn"] / (c["tn"] + c["fp"]) if c["tn"] + c["fp"] else math.nan
        threshold = None if thresholds is None else float(thresholds.get(key, DEFAULT_THRESHOLD))
        out[key] = RegionAgreement(key, threshold, sum(c.values()), **c, sensitivity=sens, specificity=spec)
    return out
