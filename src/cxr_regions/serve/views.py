"""What the pages and the JSON endpoints show of a film: plain dicts, never a patient's identity.

A film's calls (the worklist's flags, the viewer's model column) come from its stored probabilities and
the thresholds the room runs with, through ``regions.calls``: one source, so the two always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from cxr_regions.regions import REGION_KEYS, REGIONS
from cxr_regions.serve.film_files import needs_preview
from cxr_regions.serve.records import FilmRecord, VerdictRecord
from cxr_regions.serve.worklist import DESCENDING_FIRST, DIRECTIONS, SORTS

PAGE_SIZE = 50
STATUS_FILTERS = ("new", "read", "all")
SHOWN_DECIMALS = 3
SATURATED_SHARE = 0.2
"""A region's probabilities are called saturated on a page's note when at least this share of the films
show as 0.000 or 1.000 (three decimals)."""
SATURATED_MIN_FILMS = 10


@dataclass
class WorklistFilters:
    """The worklist's query parameters (the worklist page, its JSON, and the viewer's previous/next):
    ``status`` all/new/read, flagged ``region``, accession search ``q``, ``sort`` column and ``order``
    (asc/desc; empty: the column's natural one). Unknown values fall back to the defaults."""

    status: str = "all"
    region: str = ""
    q: str = ""
    sort: str = "urgent"
    order: str = ""

    def store_query(self) -> dict[str, Any]:
        """The store's ``worklist`` / ``neighbours`` keywords."""
        return {
            "status": self.status if self.status in ("new", "read") else None,
            "region": self.region if self.region in REGION_KEYS else None,
            "sort": self.sort if self.sort in SORTS else "urgent",
            "direction": self.order if self.order in DIRECTIONS else None,
            "q": self.q.strip()[:64] or None,
        }

    def params(self) -> dict[str, str]:
        """The parameters that differ from the defaults (for links and the forms' hidden fields)."""
        defaults = asdict(WorklistFilters())
        return {k: v for k, v in asdict(self).items() if v and v != defaults[k]}

    def encoded(self, **changes: str) -> str:
        defaults = asdict(WorklistFilters())
        merged = {**self.params(), **changes}
        return urlencode({k: v for k, v in merged.items() if v and v != defaults.get(k)})

    def sort_links(self) -> dict[str, dict[str, Any]]:
        """Per sortable column: the worklist link sorting by it (the other way round where it is the
        sort already), whether it is the sort, and its arrow."""
        query = self.store_query()
        out = {}
        for key in SORTS:
            on = query["sort"] == key
            natural = "desc" if key in DESCENDING_FIRST else "asc"
            now = query["direction"] or natural
            flipped = ("asc" if now == "desc" else "desc") if on else natural
            order = "" if flipped == natural else flipped
            out[key] = {
                "on": on,
                "arrow": "▼" if now == "desc" else "▲",
                "href": f"/worklist?{self.encoded(sort=key, order=order)}",
            }
        return out


def shown_probability(p: float | None) -> str:
    """A probability as every page prints it: three decimals."""
    return "" if p is None else f"{p:.{SHOWN_DECIMALS}f}"


def film_summary(film: FilmRecord, thresholds: Mapping[str, float]) -> dict[str, Any]:
    """A worklist row: accession, received time, processing status, read/new, urgent, flags and
    probabilities."""
    probabilities = film.probabilities or {}
    return {
        "id": film.id,
        "accession": film.accession or "",
        "received_at": film.received_at.strftime("%Y-%m-%d %H:%M:%S") + " UTC",
        "status": film.status,
        "read": bool(film.read),
        "state": "read" if film.read else "new",
        "urgent": bool(film.urgent),
        "flags": list(film.flagged(thresholds)),
        "max_probability": film.max_probability,
        "max_probability_shown": shown_probability(film.max_probability),
        "raw_max_probability": film.raw_max_probability,
        "probabilities": {k: probabilities.get(k) for k in REGION_KEYS} if probabilities else None,
        "error": film.error,
        "source": film.source,
        "url": f"/films/{film.id}",
    }


def region_rows(film: FilmRecord, thresholds: Mapping[str, float]) -> list[dict[str, Any]]:
    """Per region: names, probability, threshold, the model's call and the report's label."""
    probabilities = film.probabilities or {}
    raw = film.raw_probabilities or {}
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
                "raw_p": raw.get(region.key),
                "threshold": thresholds[region.key],
                "call": None if called is None else ("1" if called else "0"),
                "report": report.get(region.key),
            }
        )
    return rows


def film_urls(film: FilmRecord) -> dict[str, str | None]:
    """Where the viewer finds a film: the full-depth PNG (None for pictures, which only have their
    display PNG), the display PNG, and the downscaled first frame of a large film (else None)."""
    return {
        "full_depth_url": f"/films/{film.id}/full-depth.png" if film.full_depth_path else None,
        "display_url": f"/films/{film.id}/image.png",
        "first_frame_url": (
            f"/films/{film.id}/first-frame.jpg" if needs_preview(film.width, film.height) else None
        ),
    }


def verdict_view(verdict: VerdictRecord) -> dict[str, Any]:
    """A saved verdict as JSON: reader, labels, note, time, and the cardiothoracic ratio."""
    return {
        "reader": verdict.reader,
        "labels": verdict.labels,
        "note": verdict.note,
        "saved_at": verdict.saved_at.isoformat(),
        "cardiothoracic_ratio": verdict.cardiothoracic_ratio,
        "measurements": verdict.measurements,
    }


def relative_days(days: int | None) -> str:
    """``same day``, ``412 days earlier (1.1 years)``, ``30 days later``; ``date unknown`` for None."""
    if days is None:
        return "date unknown"
    if days == 0:
        return "same day"
    word = "earlier" if days < 0 else "later"
    span = abs(days)
    years = f" ({span / 365.25:.1f} years)" if span >= 365 else ""
    return f"{span} day{'s' if span != 1 else ''} {word}{years}"


def prior_rows(
    film: FilmRecord, others: list[FilmRecord], verdicts: Mapping[int, list[VerdictRecord]],
    thresholds: Mapping[str, float],
) -> list[dict[str, Any]]:  # fmt: skip
    """The patient's other films as the viewer lists them: when (relative to this film), the model's
    flags, and each reader's verdict."""
    rows = []
    for other in others:
        days = None
        if other.study_day is not None and film.study_day is not None:
            days = other.study_day - film.study_day
        rows.append(
            {
                "id": other.id,
                "url": f"/films/{other.id}",
                "accession": other.accession or "",
                "days": days,
                "when": relative_days(days),
                "flags": list(other.flagged(thresholds)),
                "status": other.status,
                "verdicts": [
                    {"reader": v.reader, "labels": v.labels, "cardiothoracic_ratio": v.cardiothoracic_ratio}
                    for v in verdicts.get(other.id, [])
                ],
                **film_urls(other),
                "thumbnail_url": f"/films/{other.id}/first-frame.jpg",
            }
        )
    return rows


def saturation_notes(counts: Mapping[str, tuple[int, int]], calibrated: bool) -> list[str]:
    """Notes for regions where many films' probabilities show as 0.000 or 1.000 (``counts``: per region
    the films at either end and the films with probabilities)."""
    notes = []
    for region in REGIONS:
        ends, total = counts.get(region.key, (0, 0))
        if total >= SATURATED_MIN_FILMS and ends / total >= SATURATED_SHARE:
            why = "after calibration" if calibrated else "as the model gives them"
            notes.append(
                f"{region.en} {region.zh}: {ends} of {total} films ({ends / total:.0%}) have a probability "
                f"of 0.000 or 1.000 {why}; films that tie are ordered by the model's uncalibrated score."
            )
    return notes
