"""The PACS link's memory in the reading room's database: which PACS instances were dealt with, and
which result objects went back (tables ``pacs_fetched`` and ``pacs_sent``, migration 0002).

Only UIDs, outcomes and times: nothing about the patient.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import and_, exists, select
from sqlalchemy.exc import IntegrityError

from cxr_regions.serve.records import FilmRecord, VerdictRecord
from cxr_regions.serve.schema import PACS_OUTCOMES, Film, PacsFetched, PacsSent, Verdict


@dataclass(frozen=True)
class Origin:
    """Where a PACS film came from: its study, series and SOP Instance UIDs."""

    study: str
    series: str
    sop: str


def verdict_version(verdict: VerdictRecord) -> str:
    """One saved verdict's version: the reader and the time it was saved."""
    return f"{verdict.reader}@{verdict.saved_at.strftime('%Y%m%dT%H%M%S.%f')}"


class PacsLedger:
    """Reads and writes the two tables through a :class:`~cxr_regions.serve.store.Store`'s sessions."""

    def __init__(self, store) -> None:
        self.store = store

    def known(self, sop_uids: Iterable[str]) -> set[str]:
        """Those of ``sop_uids`` already dealt with."""
        wanted = list(dict.fromkeys(sop_uids))
        found: set[str] = set()
        with self.store._read() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(
                    session.scalars(
                        select(PacsFetched.sop_instance_uid).where(PacsFetched.sop_instance_uid.in_(chunk))
                    )
                )
        return found

    def remember(
        self, origin: Origin, outcome: str, film_id: int | None = None, reason: str | None = None
    ) -> None:
        """Record one instance as dealt with (a second record of the same UID is ignored)."""
        if outcome not in PACS_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(PACS_OUTCOMES)}, got {outcome!r}")
        row = PacsFetched(
            sop_instance_uid=origin.sop, study_instance_uid=origin.study, series_instance_uid=origin.series,
            outcome=outcome, film_id=film_id, reason=reason, fetched_at=datetime.now(timezone.utc),
        )  # fmt: skip
        self._add_once(row)

    def _add_once(self, row: PacsFetched | PacsSent) -> None:
        """Insert ``row`` in its own transaction; one whose unique key is already there stays as it was."""
        try:
            with self.store._write() as session:
                session.add(row)
        except IntegrityError:
            pass

    def counts(self) -> dict[str, int]:
        """Instances dealt with, by outcome, and result objects sent, by kind."""
        with self.store._read() as session:
            fetched = session.execute(select(PacsFetched.outcome)).scalars().all()
            sent = session.execute(select(PacsSent.kind)).scalars().all()
        found = {k: fetched.count(k) for k in PACS_OUTCOMES}
        return {**found, "sent_results": sent.count("results"), "sent_verdicts": sent.count("verdict")}

    def _origin(self, session, film: Film) -> Origin | None:
        series = session.scalar(
            select(PacsFetched.series_instance_uid).where(
                PacsFetched.sop_instance_uid == film.sop_instance_uid
            )
        )
        if series is None or not film.study_instance_uid:
            return None
        return Origin(film.study_instance_uid, series, film.sop_instance_uid)

    def unsent_results(self, limit: int = 20) -> list[tuple[FilmRecord, Origin]]:
        """PACS films the model has read whose results have not gone back yet, oldest first."""
        sent = exists().where(and_(PacsSent.film_id == Film.id, PacsSent.kind == "results"))
        with self.store._read() as session:
            rows = session.scalars(
                select(Film)
                .where(Film.source == "pacs", Film.status == "ready", ~sent)
                .order_by(Film.processed_at, Film.id)
                .limit(limit)
            ).all()
            found = [(FilmRecord.of(row), self._origin(session, row)) for row in rows]
        return [(film, origin) for film, origin in found if origin is not None]

    def unsent_verdicts(self, limit: int = 20) -> list[tuple[VerdictRecord, FilmRecord, Origin]]:
        """Saved verdicts on PACS films whose model results went back, in a version not sent yet."""
        results_sent = exists().where(and_(PacsSent.film_id == Film.id, PacsSent.kind == "results"))
        found = []
        with self.store._read() as session:
            rows = session.execute(
                select(Verdict, Film)
                .join(Film, Film.id == Verdict.film_id)
                .where(Film.source == "pacs", results_sent)
                .order_by(Verdict.saved_at)
            ).all()
            done = set(
                session.execute(
                    select(PacsSent.film_id, PacsSent.version).where(PacsSent.kind == "verdict")
                ).all()
            )
            for verdict, film in rows:
                record = VerdictRecord.of(verdict)
                if (film.id, verdict_version(record)) in done:
                    continue
                origin = self._origin(session, film)
                if origin is not None:
                    found.append((record, FilmRecord.of(film), origin))
                if len(found) >= limit:
                    break
        return found

    def mark_sent(self, film_id: int, kind: str, version: str, sop_instance_uid: str) -> None:
        row = PacsSent(
            film_id=film_id, kind=kind, version=version, sop_instance_uid=sop_instance_uid,
            sent_at=datetime.now(timezone.utc),
        )  # fmt: skip
        self._add_once(row)

    def sent(self, film_id: int) -> list[tuple[str, str, str]]:
        """(kind, version, SR SOP Instance UID) of what went back for one film."""
        with self.store._read() as session:
            rows = session.execute(
                select(PacsSent.kind, PacsSent.version, PacsSent.sop_instance_uid)
                .where(PacsSent.film_id == film_id)
                .order_by(PacsSent.id)
            ).all()
        return [tuple(r) for r in rows]
