"""The worklist's query: which films (status, flagged region, accession search) in which order (any
column, either direction), as SQLAlchemy expressions for ``Store.worklist`` and ``Store.neighbours``.

Triage order (``suspicion``): the highest calibrated probability first, ties broken by the highest
uncalibrated one (a strongly calibrated region gives many films the same 1.000), then newest first.
``urgent`` (the default) puts urgent films before all others, each group in triage order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, case, func, or_, select

from cxr_regions.regions import REGION_KEYS, call, threshold_or_default
from cxr_regions.serve.records import FilmRecord
from cxr_regions.serve.schema import Film

if TYPE_CHECKING:
    from cxr_regions.serve.store import Store

STATUSES: tuple[str | None, ...] = ("new", "read", None)
SORTS: tuple[str, ...] = ("urgent", "suspicion", "received", "accession", "state", "status", *REGION_KEYS)
"""Every column the worklist can be sorted by (the regions: by that region's probability)."""
DESCENDING_FIRST = {"urgent", "suspicion", "received", *REGION_KEYS}
"""Sorts whose natural direction is descending (newest, most urgent, most suspicious first)."""
DIRECTIONS = ("asc", "desc")


def _like_pattern(text: str) -> str:
    """``%text%`` with LIKE's wildcards in ``text`` taken literally (escape character ``\\``)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _probability(column: Any, region: str) -> ColumnElement[Any]:
    return func.json_extract(column, f"$.{region}")


@dataclass(frozen=True)
class WorklistQuery:
    """Filters and order of a worklist; ``direction`` None takes the sort's natural one."""

    status: str | None = None
    region: str | None = None
    sort: str = "urgent"
    direction: str | None = None
    q: str | None = None
    thresholds: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"worklist status must be 'new', 'read' or None, got {self.status!r}")
        if self.region is not None and self.region not in REGION_KEYS:
            raise ValueError(f"unknown region {self.region!r}; the regions are {', '.join(REGION_KEYS)}")
        if self.sort not in SORTS:
            raise ValueError(f"worklist sort must be one of {', '.join(SORTS)}, got {self.sort!r}")
        if self.direction is not None and self.direction not in DIRECTIONS:
            raise ValueError(f"worklist direction must be 'asc' or 'desc', got {self.direction!r}")

    @property
    def descending(self) -> bool:
        if self.direction is None:
            return self.sort in DESCENDING_FIRST
        return self.direction == "desc"

    def filters(self) -> list[ColumnElement[bool]]:
        """The WHERE conditions."""
        out: list[ColumnElement[bool]] = []
        if self.status is not None:
            out.append(Film.read.is_(self.status == "read"))
        if self.region is not None:
            # regions.call itself, on the stored probability (json_extract gives the stored double):
            # the database lists exactly the films the pages call abnormal with these thresholds
            threshold = threshold_or_default((self.thresholds or {}).get(self.region))
            out.append(call(_probability(Film.probabilities, self.region), threshold))
        if self.q and self.q.strip():
            out.append(Film.accession.ilike(_like_pattern(self.q.strip()), escape="\\"))
        return out

    def order(self) -> list[Any]:
        """The ORDER BY terms: the chosen column in its direction (films without a value last), then
        triage order, then the newest first."""
        triage = [
            Film.max_probability.desc().nulls_last(),
            Film.raw_max_probability.desc().nulls_last(),
        ]
        newest = [Film.received_at.desc(), Film.id.desc()]

        def directed(column: Any) -> Any:
            return (column.desc() if self.descending else column.asc()).nulls_last()

        if self.sort == "urgent":
            return [directed(Film.urgent), *triage, *newest]
        if self.sort == "suspicion":
            if self.descending:
                return [*triage, *newest]
            return [
                Film.max_probability.asc().nulls_last(),
                Film.raw_max_probability.asc().nulls_last(),
                *newest,
            ]
        if self.sort == "received":
            return [directed(Film.received_at), directed(Film.id)]
        if self.sort in REGION_KEYS:
            return [
                directed(_probability(Film.probabilities, self.sort)),
                directed(_probability(Film.raw_probabilities, self.sort)),
                *newest,
            ]
        column = {"accession": Film.accession, "state": Film.read, "status": Film.status}[self.sort]
        return [directed(column), *triage, *newest]


def same_patient(store: Store, film: FilmRecord) -> list[FilmRecord]:
    """The patient's other films (same de-identified key), latest study first (undated ones last)."""
    if not film.patient_key:
        return []
    with store._read() as session:
        rows = session.scalars(
            select(Film)
            .where(Film.patient_key == film.patient_key, Film.id != film.id, Film.status != "receiving")
            .order_by(Film.study_day.desc().nulls_last(), Film.received_at.desc(), Film.id.desc())
        ).all()
        return [FilmRecord.of(r) for r in rows]


def saturated(store: Store, low: float, high: float) -> dict[str, tuple[int, int]]:
    """Per region, how many films have a probability at or below ``low`` or at or above ``high``, and
    how many films have probabilities at all (one pass over the table)."""
    ends = []
    for key in REGION_KEYS:
        p = _probability(Film.probabilities, key)
        ends.append(func.coalesce(func.sum(case((or_(p <= low, p >= high), 1), else_=0)), 0))
    with store._read() as session:
        total, *counts = session.execute(
            select(func.count(Film.id), *ends).where(Film.probabilities.is_not(None))
        ).one()
    return {key: (int(n), int(total)) for key, n in zip(REGION_KEYS, counts, strict=True)}
