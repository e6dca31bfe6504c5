"""What the pages and the JSON endpoints show of a film: plain dicts, never a patient's identity.

A film's calls (the worklist's flags, the viewer's model column) come from its stored probabilities and
the thresholds the room runs with, through ``regions.calls``: one source, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cxr_regions.regions import REGION_KEYS, REGIONS
from cxr_regions.serve.records import FilmRecord

PAGE_SIZE = 50
STATUS_FILTERS = ("new", "read", "all")


def film_summary(film: FilmRecord, thresholds: Mapping[str, float]) -> dict[str, Any]:
    """A worklist row: accession, received time, processing status, read/new, flags and probabilities."""
    probabilities = film.probabilities or {}
    return {
        "id": film.id,
        "accession": film.accession or "",
        "received_at": film.received_at.strftime("%Y-%m-%d %H:%M:%S") + " UTC",
        "status": film.status,
        "read": bool(film.read),
        "state": "read" if film.read else "new",
        "flags": list(film.flagged(thresholds)),
        "max_probability": film.max_probability,
        "probabilities": {k: probabilities.get(k) for k in REGION_KEYS} if probabilities else None,
        "error": film.error,
        "source": film.source,
        "url": f"/films/{film.id}",
    }


def region_rows(film: FilmRecord, thresholds: Mapping[str, float]) -> list[dict[str, Any]]:
    """Per region: names, probability, threshold, the model's call and the report's label."""
    probabilities = film.probabilities or {}
    calls = film.calls(thresholds) or {}
    report = film.report_labels or {}
    rows = []
    for i, region in enumerate(REGIONS):
        called = calls.get(region.key)
        rows.append(
            {
                "key": region.key,
                "zh": region.zh,
                "en": region.en,
                "number": i + 1,
                "p": probabilities.get(region.key),
                "threshold": thresholds[region.key],
                "call": None if called is None else ("1" if called else "0"),
                "report": report.get(region.key),
            }
        )
    return rows


def worklist_query(status: str, region: str, sort: str) -> dict[str, str | None]:
    """The store's worklist filters from the page's query (unknown values fall back to the defaults)."""
    return {
        "status": status if status in ("new", "read") else None,
        "region": region if region in REGION_KEYS else None,
        "sort": sort if sort in ("suspicion", "received") else "suspicion",
    }
