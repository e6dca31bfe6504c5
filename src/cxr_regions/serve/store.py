"""The reading room's database ``DATA/reading-room.sqlite``: films, model results, radiologists' verdicts.

``Store`` is the only way in: SQLite through SQLAlchemy, the schema made and upgraded by the Alembic
migrations shipped in ``serve/migrations`` (run on open), WAL journal, every write one ``BEGIN IMMEDIATE``
transaction committed with ``synchronous=FULL`` before the call returns, so a saved verdict survives a kill.
Thread-safe: one Engine, one Session per call. Results are plain detached dataclasses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cxr_regions.regions import REGION_KEYS
from cxr_regions.serve.audit import Actor, verdict_event
from cxr_regions.serve.database import BUSY_TIMEOUT_SECONDS, make_engine, upgrade, writer
from cxr_regions.serve.records import FilmRecord, VerdictRecord, checked_labels
from cxr_regions.serve.schema import FILM_SOURCES, FILM_STATUSES, Film, Verdict
from cxr_regions.serve.worklist import WorklistQuery

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

__all__ = ["DB_NAME", "DuplicateFilm", "FilmRecord", "Store", "VerdictRecord"]

DB_NAME = "reading-room.sqlite"


# the rows pages may show: every film but those being filed (``receiving``, see serve/filing.py)
FILED = Film.status != "receiving"


class DuplicateFilm(Exception):
    """The film is already stored (same SOP Instance UID, content hash or image id); ``receiving``: the
    other copy is still being filed."""

    def __init__(self, film_id: int, message: str = "", receiving: bool = False) -> None:
        super().__init__(message or f"film already stored as film {film_id}")
        self.film_id = film_id
        self.receiving = receiving


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _verdict_values(row: Verdict, film: Film) -> dict[str, Any]:
    """A verdict as the audit trail keeps it: its labels, its note, its cardiothoracic ratio and the
    film's read state."""
    labels = {k: getattr(row, k) for k in REGION_KEYS}
    return {**labels, "note": row.note, "cardiothoracic_ratio": row.cardiothoracic_ratio, "read": film.read}


class Store:
    """The reading room's database under ``data_dir``, created and migrated to the newest schema on open.

    ``busy_timeout``: seconds a write waits for a lock another process holds before it fails.
    """

    def __init__(self, data_dir: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        self.busy_timeout = busy_timeout
        self._engine = make_engine(self.path, busy_timeout)
        self._writer = writer(self._engine)
        try:
            upgrade(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    def close(self) -> None:
        """Release the database's connections (the file stays)."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self._engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextlib.contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session

    # --- films -----------------------------------------------------------------------------------------

    def add_film(
        self,
        *,
        image_id: str,
        png_path: str,
        width: int,
        height: int,
        source: str,
        sop_instance_uid: str | None = None,
        content_sha256: str | None = None,
        study_instance_uid: str | None = None,
        accession: str | None = None,
        report_text: str | None = None,
        report_labels: dict | None = None,
        report_evidence: str | None = None,
        full_depth_path: str | None = None,
        depth: dict | None = None,
        patient_key: str | None = None,
        study_day: int | None = None,
        urgent: bool = False,
        status: str = "queued",
    ) -> FilmRecord:
        """Store a new film (``queued``, or ``receiving`` while serve/filing.py puts its files in place);
        ``DuplicateFilm`` if its UID, hash or image id is known.

        Only de-identified values belong here (ingest's image id, UIDs, accession number, report text,
        its salted patient key and per-patient shifted study day). ``full_depth_path`` and ``depth``: the
        film at its own bit depth and its header (``ingest.full_depth``); ``urgent``: read first.
        """
        if status not in ("queued", "receiving"):
            raise ValueError(f"a new film is 'queued' or 'receiving', got {status!r}")
        if source not in FILM_SOURCES:
            raise ValueError(f"source must be one of {', '.join(FILM_SOURCES)}, got {source!r}")
        row = Film(
            image_id=image_id,
            png_path=png_path,
            width=int(width),
            height=int(height),
            source=source,
            sop_instance_uid=sop_instance_uid,
            content_sha256=content_sha256,
            study_instance_uid=study_instance_uid,
            accession=accession,
            report_text=report_text,
            report_labels=dict(report_labels) if report_labels is not None else None,
            report_evidence=report_evidence,
            full_depth_path=full_depth_path,
            depth=dict(depth) if depth is not None else None,
            patient_key=patient_key,
            study_day=study_day,
            urgent=bool(urgent),
            received_at=_now(),
            status=status,
            read=False,
        )
        try:
            with self._write() as session:
                known = self._duplicate(session, sop_instance_uid, content_sha256, image_id)
                if known is not None:
                    raise DuplicateFilm(
                        known.id, f"film already stored as film {known.id} ({known.image_id})",
                        known.status == "receiving",
                    )  # fmt: skip
                session.add(row)
                session.flush()
                return FilmRecord.of(row)
        except IntegrityError:
            with self._read() as session:
                known = self._duplicate(session, sop_instance_uid, content_sha256, image_id)
            if known is None:
                raise
            raise DuplicateFilm(known.id, receiving=known.status == "receiving") from None

    @staticmethod
    def _duplicate(
        session: Session,
        sop_instance_uid: str | None,
        content_sha256: str | None,
        image_id: str | None = None,
    ) -> Film | None:
        tests = []
        if sop_instance_uid:
            tests.append(Film.sop_instance_uid == sop_instance_uid)
        if content_sha256:
            tests.append(Film.content_sha256 == content_sha256)
        if image_id:
            tests.append(Film.image_id == image_id)
        if not tests:
            return None
        return session.scalars(select(Film).where(or_(*tests)).limit(1)).first()

    def find_duplicate(
        self, *, sop_instance_uid: str | None = None, content_sha256: str | None = None
    ) -> FilmRecord | None:
        """The stored film with this SOP Instance UID or content hash, or None (a copy still being filed
        is not counted: filing it again waits for it)."""
        with self._read() as session:
            row = self._duplicate(session, sop_instance_uid, content_sha256)
            return FilmRecord.of(row) if row is not None and row.status != "receiving" else None

    def film(self, film_id: int) -> FilmRecord:
        """One film; ``KeyError`` if there is none with this id (or it is still being filed)."""
        with self._read() as session:
            row = session.get(Film, film_id)
            if row is None or row.status == "receiving":
                raise KeyError(f"no film {film_id}")
            return FilmRecord.of(row)

    def film_depth(self, film_id: int) -> dict | None:
        """The header of a film's full-depth copy (windows, VOI LUTs, presets, spacing), or None."""
        with self._read() as session:
            return session.scalar(select(Film.depth).where(Film.id == film_id))

    def claim_queued(self, limit: int = 1) -> list[FilmRecord]:
        """Take up to ``limit`` queued films, urgent ones first, then oldest first, and mark them
        ``processing`` in one transaction.

        Safe with several workers: each film is handed to exactly one caller.
        """
        with self._write() as session:
            rows = session.scalars(
                select(Film)
                .where(Film.status == "queued")
                .order_by(Film.urgent.desc(), Film.received_at, Film.id)
                .limit(max(0, limit))
            ).all()
            for row in rows:
                row.status = "processing"
            session.flush()
            return [FilmRecord.of(r) for r in rows]

    def requeue_processing(self) -> int:
        """At start-up: films a stopped server left ``processing`` go back to ``queued``; returns how many."""
        with self._write() as session:
            result = session.execute(
                update(Film).where(Film.status == "processing").values(status="queued", error=None)
            )
            return int(cast("CursorResult[Any]", result).rowcount or 0)  # an UPDATE's result

    def set_result(
        self, film_id: int, probabilities: Mapping[str, float], raw: Mapping[str, float] | None = None
    ) -> None:
        """Store the model's probabilities (one per region): status ``ready`` and ``max_probability``;
        ``raw``: the uncalibrated ones where the shown ones are calibrated (they break triage ties).

        The calls are not stored: every page derives them from these probabilities and the thresholds
        the room runs with (``regions.call``), so the worklist and the viewer always agree.
        """
        missing = [k for k in REGION_KEYS if k not in probabilities or (raw is not None and k not in raw)]
        if missing:
            raise ValueError(f"probabilities missing for {', '.join(missing)}")
        probs = {k: float(probabilities[k]) for k in REGION_KEYS}
        raws = {k: float(raw[k]) for k in REGION_KEYS} if raw is not None else probs
        with self._write() as session:
            row = self._get(session, film_id)
            row.probabilities = probs
            row.max_probability = max(probs.values())
            row.raw_probabilities = raws
            row.raw_max_probability = max(raws.values())
            row.status = "ready"
            row.error = None
            row.processed_at = _now()

    def set_failed(self, film_id: int, error: str) -> None:
        """Mark a film ``failed`` with the reason shown to the user."""
        with self._write() as session:
            row = self._get(session, film_id)
            row.status = "failed"
            row.error = error
            row.processed_at = _now()

    def set_urgent(self, film_id: int, urgent: bool) -> None:
        """Mark a film urgent (read first by the model, listed first on the worklist) or not."""
        with self._write() as session:
            self._get(session, film_id).urgent = bool(urgent)

    def set_report(self, film_id: int, text: str, labels: dict, evidence: str) -> None:
        """Attach (or replace) a film's report with the labeler's labels and evidence."""
        with self._write() as session:
            row = self._get(session, film_id)
            row.report_text = text
            row.report_labels = dict(labels)
            row.report_evidence = evidence

    @staticmethod
    def _get(session: Session, film_id: int) -> Film:
        row = session.get(Film, film_id)
        if row is None:
            raise KeyError(f"no film {film_id}")
        return row

    def films(self, film_ids: Iterable[int]) -> dict[int, FilmRecord]:
        """Several films at once, by id (ids without a film are left out)."""
        wanted = sorted({int(i) for i in film_ids})
        out: dict[int, FilmRecord] = {}
        with self._read() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = session.scalars(select(Film).where(Film.id.in_(chunk), FILED))
                out.update((r.id, FilmRecord.of(r)) for r in rows)
        return out

    # --- worklist --------------------------------------------------------------------------------------

    def worklist(
        self,
        *,
        status: str | None = None,
        region: str | None = None,
        sort: str = "urgent",
        direction: str | None = None,
        q: str | None = None,
        offset: int = 0,
        limit: int = 50,
        thresholds: Mapping[str, float] | None = None,
    ) -> tuple[list[FilmRecord], int]:
        """One page of films and the total that match (:class:`~cxr_regions.serve.worklist.WorklistQuery`).

        ``status``: 'new' (unread), 'read' or None (all); ``region``: only films the model calls abnormal
        there with ``thresholds`` (the room's; 0.5 where a region has none); ``q``: accession numbers
        containing it; ``sort``: one of ``worklist.SORTS`` (default urgent first, then triage order), in its
        natural ``direction`` or the one given ('asc', 'desc').
        """
        query = WorklistQuery(status, region, sort, direction, q, thresholds)
        filters = [FILED, *query.filters()]  # a film still being filed is on no list
        with self._read() as session:
            total = session.scalar(select(func.count(Film.id)).where(*filters)) or 0
            rows = session.scalars(
                select(Film)
                .where(*filters)
                .order_by(*query.order())
                .offset(max(0, offset))
                .limit(max(0, limit))
            ).all()
            return [FilmRecord.of(r) for r in rows], int(total)

    def neighbours(
        self, film_id: int, *, status: str | None = None, region: str | None = None, sort: str = "urgent",
        direction: str | None = None, q: str | None = None, thresholds: Mapping[str, float] | None = None,
    ) -> tuple[int | None, int | None]:  # fmt: skip
        """The previous and next film ids around ``film_id`` in the worklist with these filters.

        Works even when the film itself no longer matches them (e.g. just marked read while the list
        shows new films): its place in the order is used. ``KeyError`` if the film does not exist.
        """
        query = WorklistQuery(status, region, sort, direction, q, thresholds)
        matching = or_(Film.id == film_id, and_(FILED, *query.filters()))
        with self._read() as session:
            ids = list(session.scalars(select(Film.id).where(matching).order_by(*query.order())).all())
        if film_id not in ids:
            raise KeyError(f"no film {film_id}")
        i = ids.index(film_id)
        return (ids[i - 1] if i > 0 else None), (ids[i + 1] if i + 1 < len(ids) else None)

    def counts(self) -> dict[str, int]:
        """How many films on the worklist: per status (queued, processing, ready, failed), ``new``, ``read``
        and ``total`` (films still being filed are not counted)."""
        with self._read() as session:
            by_status = dict(session.execute(select(Film.status, func.count()).group_by(Film.status)).all())
            by_read = dict(
                session.execute(select(Film.read, func.count()).where(FILED).group_by(Film.read)).all()
            )
        out = {s: int(by_status.get(s, 0)) for s in FILM_STATUSES if s != "receiving"}
        out["new"] = int(by_read.get(False, 0))
        out["read"] = int(by_read.get(True, 0))
        out["total"] = out["new"] + out["read"]
        return out

    # --- verdicts --------------------------------------------------------------------------------------

    def save_verdict(
        self, film_id: int, reader: str, labels: dict[str, str], note: str = "",
        mark_read: bool | None = None, audit: Actor | None = None, cardiothoracic_ratio: float | None = None,
        measurements: dict | None = None,
    ) -> VerdictRecord:  # fmt: skip
        """Save (or replace) ``reader``'s verdict on a film in one transaction; ``mark_read`` True marks
        the film read, False unread, None leaves it.

        ``labels``: one of ``1``/``u``/``0`` for every region (``ValueError`` otherwise); ``KeyError`` if
        the film does not exist. ``cardiothoracic_ratio`` (with the two ``measurements`` it came from):
        in (0, 1] (the verdict SR's range), or None. Returns only after the transaction is committed to
        disk. With ``audit`` (who saves it, from where) the audit trail gets the old and new values in
        that same transaction.
        """
        values = checked_labels(labels)
        if cardiothoracic_ratio is not None and not 0 < cardiothoracic_ratio <= 1:
            raise ValueError(f"a cardiothoracic ratio lies in (0, 1], got {cardiothoracic_ratio}")
        if not reader:
            raise ValueError("a verdict needs a reader's name ('local' where the room has no users)")
        with self._write() as session:
            film = session.get(Film, film_id)
            if film is None or film.status == "receiving":
                raise KeyError(f"no film {film_id}")
            row = session.scalars(
                select(Verdict).where(Verdict.film_id == film_id, Verdict.reader == reader)
            ).first()
            before = None if row is None else _verdict_values(row, film)
            if row is None:
                row = Verdict(film_id=film_id, reader=reader)
                session.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            row.note = note or ""
            row.saved_at = _now()
            row.cardiothoracic_ratio = cardiothoracic_ratio
            row.measurements = dict(measurements) if measurements and cardiothoracic_ratio else None
            if mark_read is not None:
                film.read = bool(mark_read)
            if audit is not None:
                session.add(verdict_event(film_id, audit, before, _verdict_values(row, film)))
            session.flush()
            return VerdictRecord.of(row)

    def verdicts(self, film_id: int | None = None) -> list[VerdictRecord]:
        """All current verdicts (of one film, or of every film), oldest first."""
        query = select(Verdict).order_by(Verdict.saved_at, Verdict.id)
        if film_id is not None:
            query = query.where(Verdict.film_id == film_id)
        with self._read() as session:
            return [VerdictRecord.of(r) for r in session.scalars(query).all()]
