"""The radiologists' verdicts out of the reading room: a labels.csv-format export and model agreement.

The export has the columns of ``label``'s labels.csv that ``label-eval --gold`` and ``build --labels``
read (``report_id``, the five regions as ``1``/``u``/``0``, ``label_string``), plus who read it and when
and the cardiothoracic ratio the reader measured (empty where none):
one row per (film, reader) verdict, oldest first. ``report_id`` is the film's accession number, or its
image id where it has none (then ``build --join image_id``). Several readers of one film give several rows;
``build`` combines them as it does repeated reports (``1`` beats ``u`` beats ``0``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from cxr_regions.contracts.verdict_export import VERDICTS
from cxr_regions.regions import REGION_KEYS, label_string, operating_thresholds, to_binary
from cxr_regions.serve.store import Store

EXPORT_COLUMNS: tuple[str, ...] = tuple(VERDICTS.columns(REGION_KEYS))


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def verdict_table(store: Store) -> pd.DataFrame:
    """Every current verdict as a labels.csv-format table (columns ``EXPORT_COLUMNS``), oldest first.

    ``text`` is the film's report (empty where it has none), so ``label-eval --gold`` can run the
    labeler on it; ``saved_at`` is ISO 8601 in UTC.
    """
    verdicts = store.verdicts()
    films = store.films(v.film_id for v in verdicts)
    rows = []
    for v in verdicts:
        film = films[v.film_id]
        rows.append(
            {
                "report_id": film.accession or film.image_id,
                **v.labels,
                "label_string": label_string(v.labels),
                "reader": v.reader,
                "saved_at": v.saved_at.isoformat(timespec="seconds"),
                "note": v.note,
                "cardiothoracic_ratio": _ratio(v.cardiothoracic_ratio),
                "image_id": film.image_id,
                "accession": film.accession or "",
                "text": film.report_text or "",
            }
        )
    return pd.DataFrame(rows, columns=list(EXPORT_COLUMNS), dtype=str)


def export_verdicts(store: Store, out: Path) -> int:
    """Write every verdict to ``out`` (atomically, UTF-8 CSV) in the labels.csv format; returns the rows."""
    table = verdict_table(store)
    VERDICTS.write(out, table, REGION_KEYS)
    return len(table)


@dataclass(frozen=True)
class RegionAgreement:
    """Model call vs radiologists for one region at ``threshold``: counts, sensitivity and specificity
    (NaN if undefined)."""

    region: str
    threshold: float
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


def agreement(store: Store, thresholds: Mapping[str, float]) -> dict[str, RegionAgreement]:
    """Per region, the model's call (``regions.call`` at the region's threshold, as the pages show it)
    against each radiologist's verdict.

    Every (film, reader) verdict on a film with probabilities is one case; films still queued or failed
    are left out. The radiologist's ``u`` counts as abnormal (the method's binary reading), so sensitivity
    is ``tp / (tp + fn)`` over the verdicts ``1`` or ``u`` and specificity ``tn / (tn + fp)`` over ``0``.
    A region missing from ``thresholds`` is called at ``regions.DEFAULT_THRESHOLD`` (0.5).
    """
    cuts = operating_thresholds(thresholds)
    verdicts = store.verdicts()
    films = store.films(v.film_id for v in verdicts)
    counts = {k: {"tp": 0, "fp": 0, "tn": 0, "fn": 0} for k in REGION_KEYS}
    for v in verdicts:
        calls = films[v.film_id].calls(cuts)
        if calls is None:
            continue
        for key, called in calls.items():
            truth = bool(to_binary(v.labels[key]))
            counts[key][("t" if called == truth else "f") + ("p" if called else "n")] += 1
    out = {}
    for key, c in counts.items():
        sens = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else math.nan
        spec = c["tn"] / (c["tn"] + c["fp"]) if c["tn"] + c["fp"] else math.nan
        out[key] = RegionAgreement(key, cuts[key], sum(c.values()), **c, sensitivity=sens, specificity=spec)
    return out
