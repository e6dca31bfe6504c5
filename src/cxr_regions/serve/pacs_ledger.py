"""The PACS link's memory in the reading room's database: which PACS instances were dealt with and how
they came (table ``pacs_fetched``), which result objects went back (``pacs_sent``), and which films
need a job next (the planner's queries, turned into :mod:`~cxr_regions.serve.pacs_jobs` jobs).

A film *belongs to the PACS* when ``pacs_fetched`` holds its SOP Instance UID: fetched by the poller,
pushed over DICOM to the listener, or (``--send-results``) found in the PACS by a lookup after it
reached the worklist another way. Only UIDs, outcomes and times: nothing about the patient.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.exc import IntegrityError

from cxr_regions.serve.records import FilmRecord, VerdictRecord
from cxr_regions.serve.schema import PACS_OUTCOMES, Film, PacsFetched, PacsJob, PacsSent, Verdict

TAKEN = ("stored", "duplicate")  # outcomes that leave the instance on the worklist
VIAS = ("poll", "listener", "lookup")


@dataclass(frozen=True)
class Origin:
    """Where a PACS film came from: its study, series and SOP Instance UIDs."""

    study: str
    series: str
    sop: str


def verdict_version(verdict: VerdictRecord) -> str:
    """One saved verdict's version: the reader and the time it was saved."""
    return f"{verdict.reader}@{verdict.saved_at.strftime('%Y%m%dT%H%M%S.%f')}"


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class PacsLedger:
    """Reads and writes the two tables through a :class:`~cxr_regions.serve.store.Store`'s sessions."""

    def __init__(self, store) -> None:
        self.store = store

    def known(self, sop_uids: Iterable[str]) -> set[str]:
        """Those of ``sop_uids`` already dealt with."""
        return set(self.revisions(sop_uids))

    def revisions(self, sop_uids: Iterable[str]) -> dict[str, str]:
        """SOP Instance UID -> the PACS's revision recorded when it was taken ("" where none was told),
        for those of ``sop_uids`` dealt with (a record) or being dealt with (a fetch job)."""
        wanted = list(dict.fromkeys(sop_uids))
        found: dict[str, str] = {}
        with self.store._read() as session:
            for chunk in _chunks(wanted):
                for sop, revision in session.execute(
                    select(PacsJob.sop_instance_uid, PacsJob.revision).where(
                        PacsJob.kind == "fetch", PacsJob.sop_instance_uid.in_(chunk)
                    )
                ):
                    found[sop] = revision or ""
                for sop, revision in session.execute(
                    select(PacsFetched.sop_instance_uid, PacsFetched.revision).where(
                        PacsFetched.sop_instance_uid.in_(chunk)
                    )
                ):
                    found[sop] = revision or found.get(sop, "")
        return found

    def recorded(self, sop: str) -> PacsFetched | None:
        """The record of one instance (detached), None where it was never dealt with."""
        with self.store._read() as session:
            return session.scalar(select(PacsFetched).where(PacsFetched.sop_instance_uid == sop))

    def remember(
        self, origin: Origin, outcome: str, film_id: int | None = None, reason: str | None = None,
        via: str | None = None, revision: str | None = None, session=None,
    ) -> None:  # fmt: skip
        """Record one instance as dealt with (a second record of the same UID is ignored)."""
        row = self._row(origin, outcome, film_id, reason, via, revision)
        if session is not None:
            if session.scalar(select(PacsFetched.id).where(PacsFetched.sop_instance_uid == origin.sop)):
                return
            session.add(row)
            return
        try:
            with self.store._write() as own:
                own.add(row)
        except IntegrityError:
            pass

    def record(
        self, origin: Origin, outcome: str, film_id: int | None, reason: str | None, via: str,
        revision: str | None = None, session=None,
    ) -> None:  # fmt: skip
        """Record one instance as dealt with, replacing an earlier record (a fetch done again)."""
        values = self._row(origin, outcome, film_id, reason, via, revision)
        with self._session(session) as own:
            current = own.scalar(select(PacsFetched).where(PacsFetched.sop_instance_uid == origin.sop))
            if current is None:
                own.add(values)
                return
            for key in ("study_instance_uid", "series_instance_uid", "outcome", "film_id", "reason"):
                setattr(current, key, getattr(values, key))
            current.via, current.revision, current.fetched_at = via, revision, values.fetched_at

    def adopt_revision(self, sop: str, revision: str) -> None:
        """Keep the PACS's revision of an instance taken without one (pushed, or found by a sweep)."""
        with self.store._write() as session:
            session.execute(
                update(PacsFetched)
                .where(PacsFetched.sop_instance_uid == sop, PacsFetched.revision.is_(None))
                .values(revision=revision)
            )

    @staticmethod
    def _row(origin, outcome, film_id, reason, via, revision) -> PacsFetched:
        if outcome not in PACS_OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(PACS_OUTCOMES)}, got {outcome!r}")
        if via is not None and via not in VIAS:
            raise ValueError(f"via must be one of {', '.join(VIAS)}, got {via!r}")
        return PacsFetched(
            sop_instance_uid=origin.sop, study_instance_uid=origin.study, series_instance_uid=origin.series,
            outcome=outcome, film_id=film_id, reason=reason, fetched_at=datetime.now(timezone.utc),
            via=via, revision=revision or None,
        )  # fmt: skip

    def _session(self, session):
        import contextlib

        return contextlib.nullcontext(session) if session is not None else self.store._write()

    def counts(self) -> dict[str, int]:
        """Instances dealt with, by outcome, and result objects sent, by kind."""
        with self.store._read() as session:
            fetched = dict(
                session.execute(select(PacsFetched.outcome, func.count()).group_by(PacsFetched.outcome)).all()
            )
            sent = dict(session.execute(select(PacsSent.kind, func.count()).group_by(PacsSent.kind)).all())
        found = {k: int(fetched.get(k, 0)) for k in PACS_OUTCOMES}
        return {
            **found,
            "sent_results": int(sent.get("results", 0)),
            "sent_verdicts": int(sent.get("verdict", 0)),
        }

    # --- what needs a job next --------------------------------------------------------------------------

    def plan(self, jobs, lookups: bool, limit: int = 200) -> int:
        """Queue the jobs that are due: results of PACS films the model has read, the saved verdicts on
        films whose results went back, and (``lookups``) a lookup of every read film with a SOP Instance
        UID that reached the worklist another way. How many jobs were queued."""
        queued = 0
        with self.store._write() as session:
            for film, origin in self._results_wanted(session, limit):
                queued += jobs.add(
                    "results", origin.sop, study=origin.study, series=origin.series, film_id=film,
                    session=session,
                )  # fmt: skip
            for verdict, film, origin in self._verdicts_wanted(session, limit):
                queued += jobs.add(
                    "verdict", origin.sop, version=verdict_version(verdict), study=origin.study,
                    series=origin.series, film_id=film, session=session,
                )  # fmt: skip
            if lookups:
                for film, sop in self._lookups_wanted(session, limit):
                    queued += jobs.add("lookup", sop, film_id=film, session=session)
        return queued

    @staticmethod
    def _results_wanted(session, limit: int) -> list[tuple[int, Origin]]:
        has_job = exists().where(
            and_(PacsJob.kind == "results", PacsJob.sop_instance_uid == Film.sop_instance_uid)
        )
        rows = session.execute(
            select(Film.id, Film.study_instance_uid, PacsFetched.series_instance_uid, Film.sop_instance_uid)
            .join(PacsFetched, PacsFetched.sop_instance_uid == Film.sop_instance_uid)
            .where(Film.status == "ready", PacsFetched.outcome.in_(TAKEN), ~has_job)
            .order_by(Film.processed_at, Film.id)
            .limit(limit)
        ).all()
        return [(film, Origin(study, series, sop)) for film, study, series, sop in rows if study]

    @staticmethod
    def _verdicts_wanted(session, limit: int) -> list[tuple[VerdictRecord, int, Origin]]:
        results_sent = exists().where(and_(PacsSent.film_id == Film.id, PacsSent.kind == "results"))
        rows = session.execute(
            select(
                Verdict,
                Film.id,
                Film.study_instance_uid,
                PacsFetched.series_instance_uid,
                Film.sop_instance_uid,
            )
            .join(Film, Film.id == Verdict.film_id)
            .join(PacsFetched, PacsFetched.sop_instance_uid == Film.sop_instance_uid)
            .where(results_sent)
            .order_by(Verdict.saved_at)
        ).all()
        sent = set(
            session.execute(select(PacsSent.film_id, PacsSent.version).where(PacsSent.kind == "verdict"))
        )
        queued = set(
            session.execute(
                select(PacsJob.sop_instance_uid, PacsJob.version).where(PacsJob.kind == "verdict")
            )
        )
        found = []
        for verdict, film, study, series, sop in rows:
            record = VerdictRecord.of(verdict)
            version = verdict_version(record)
            if (film, version) in sent or (sop, version) in queued or not study:
                continue
            found.append((record, film, Origin(study, series, sop)))
            if len(found) >= limit:
                break
        return found

    @staticmethod
    def _lookups_wanted(session, limit: int) -> list[tuple[int, str]]:
        recorded = exists().where(PacsFetched.sop_instance_uid == Film.sop_instance_uid)
        has_job = exists().where(
            and_(PacsJob.kind == "lookup", PacsJob.sop_instance_uid == Film.sop_instance_uid)
        )
        rows = session.execute(
            select(Film.id, Film.sop_instance_uid)
            .where(Film.status == "ready", Film.sop_instance_uid.is_not(None), ~recorded, ~has_job)
            .order_by(Film.id)
            .limit(limit)
        ).all()
        return [(film, sop) for film, sop in rows]

    # --- results out ------------------------------------------------------------------------------------

    def film(self, film_id: int) -> FilmRecord | None:
        with self.store._read() as session:
            row = session.get(Film, film_id)
            return FilmRecord.of(row) if row is not None else None

    def current_verdict(self, film_id: int, reader: str) -> VerdictRecord | None:
        """The reader's verdict on the film as saved now (None where there is none)."""
        with self.store._read() as session:
            row = session.scalar(select(Verdict).where(Verdict.film_id == film_id, Verdict.reader == reader))
            return VerdictRecord.of(row) if row is not None else None

    def mark_sent(self, film_id: int, kind: str, version: str, sop_instance_uid: str) -> None:
        row = PacsSent(
            film_id=film_id, kind=kind, version=version, sop_instance_uid=sop_instance_uid,
            sent_at=datetime.now(timezone.utc),
        )  # fmt: skip
        try:
            with self.store._write() as session:
                session.add(row)
        except IntegrityError:
            pass

    def sent(self, film_id: int) -> list[tuple[str, str, str]]:
        """(kind, version, SR SOP Instance UID) of what went back for one film."""
        with self.store._read() as session:
            rows = session.execute(
                select(PacsSent.kind, PacsSent.version, PacsSent.sop_instance_uid)
                .where(PacsSent.film_id == film_id)
                .order_by(PacsSent.id)
            ).all()
        return [tuple(r) for r in rows]
