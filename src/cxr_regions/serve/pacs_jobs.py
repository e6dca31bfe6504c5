"""The PACS link's work as jobs in the reading room's database (table ``pacs_jobs``, migration 0005).

One job per object and kind: ``fetch`` an instance from the PACS, ``lookup`` a film that came another way
(is it in the PACS?), send a film's ``results`` (its SC and SR), send one version of a ``verdict``. Each job
has its own state, attempt count and next try::

    pending --claim--> running --> done
                          |------> failed (next_try_at = now + back-off) --claim--> running ...
                          '------> set_aside (after max_attempts; waits for `cxr-regions pacs retry`)

The back-off doubles from ``base`` up to ``cap`` and is jittered (each wait a random 50-100 % of its
step), so jobs that failed together do not come back together. A job left ``running`` by a killed
server is pending again at the next start. Only UIDs, states, counts and short reasons are kept: nothing
about the patient.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from cxr_regions.serve.schema import PACS_JOB_KINDS, PACS_JOB_STATES, PacsCursor, PacsFetched, PacsJob

WAITING = ("pending", "failed")  # states a job is claimed from once due
REASON_CHARS = 500


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Job:
    """A detached snapshot of one ``pacs_jobs`` row."""

    id: int
    kind: str
    sop_instance_uid: str
    version: str
    study_instance_uid: str | None
    series_instance_uid: str | None
    film_id: int | None
    revision: str | None
    state: str
    attempts: int
    next_try_at: datetime
    last_error: str | None
    note: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: PacsJob) -> Job:
        return cls(**{f.name: getattr(row, f.name) for f in fields(cls)})

    def to_dict(self) -> dict:
        """The job as the PACS page and ``/api/pacs/jobs`` show it (times as ISO text)."""
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        for key in ("next_try_at", "created_at", "updated_at"):
            shown[key] = shown[key].isoformat(timespec="seconds")
        return shown


@dataclass(frozen=True)
class Backoff:
    """Capped, jittered exponential back-off: attempt n waits a random 50-100 % of min(cap, base·2^(n-1))."""

    base: float = 2.0
    cap: float = 300.0

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        step = min(self.cap, self.base * 2.0 ** max(0, attempts - 1))
        return step * (rng or random).uniform(0.5, 1.0)


class JobBook:
    """Reads and writes ``pacs_jobs`` (and the poller's cursor) through a
    :class:`~cxr_regions.serve.store.Store`'s sessions; thread-safe as the store is."""

    def __init__(self, store, max_attempts: int = 8, backoff: Backoff | None = None) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.store = store
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()

    # --- adding work ------------------------------------------------------------------------------------

    def add(
        self, kind: str, sop: str, *, version: str = "", study: str | None = None, series: str | None = None,
        film_id: int | None = None, revision: str | None = None, session=None,
    ) -> bool:  # fmt: skip
        """Queue one job; False where the same (kind, SOP Instance UID, version) is already there."""
        if kind not in PACS_JOB_KINDS:
            raise ValueError(f"kind must be one of {', '.join(PACS_JOB_KINDS)}, got {kind!r}")
        now = _now()
        row = PacsJob(
            kind=kind, sop_instance_uid=sop, version=version, study_instance_uid=study,
            series_instance_uid=series, film_id=film_id, revision=revision, state="pending", attempts=0,
            next_try_at=now, created_at=now, updated_at=now,
        )  # fmt: skip
        if session is not None:  # inside the caller's transaction (e.g. with the poller's cursor)
            if self._exists(session, kind, sop, version):
                return False
            session.add(row)
            session.flush()
            return True
        try:
            with self.store._write() as own:
                if self._exists(own, kind, sop, version):
                    return False
                own.add(row)
        except IntegrityError:
            return False
        return True

    @staticmethod
    def _exists(session, kind: str, sop: str, version: str) -> bool:
        found = session.scalar(
            select(PacsJob.id).where(
                PacsJob.kind == kind, PacsJob.sop_instance_uid == sop, PacsJob.version == version
            )
        )
        return found is not None

    def refetch(self, sop: str, revision: str | None, session=None) -> bool:
        """Queue the fetch of an instance again (its content changed in the PACS, or a person asked):
        the existing fetch job back to pending with no attempts; False where there is none."""
        values = {"state": "pending", "attempts": 0, "next_try_at": _now(), "updated_at": _now()}
        if revision is not None:
            values["revision"] = revision
        statement = (
            update(PacsJob)
            .where(PacsJob.kind == "fetch", PacsJob.sop_instance_uid == sop, PacsJob.state != "running")
            .values(**values, last_error=None)
        )
        if session is not None:
            return session.execute(statement).rowcount > 0
        with self.store._write() as own:
            return own.execute(statement).rowcount > 0

    # --- the runner's side -------------------------------------------------------------------------------

    def claim(self, limit: int, kinds: Sequence[str] = PACS_JOB_KINDS) -> list[Job]:
        """Up to ``limit`` due jobs of ``kinds``, oldest due first, now ``running``. A film's jobs run one
        at a time (its verdict after its results, one verdict version after the other)."""
        if limit < 1:
            return []
        now = _now()
        with self.store._write() as session:
            busy = set(
                session.scalars(
                    select(PacsJob.film_id).where(PacsJob.state == "running", PacsJob.film_id.is_not(None))
                )
            )
            rows = session.scalars(
                select(PacsJob)
                .where(PacsJob.state.in_(WAITING), PacsJob.next_try_at <= now, PacsJob.kind.in_(kinds))
                .order_by(PacsJob.next_try_at, PacsJob.id)
                .limit(limit * 4 + len(busy))
            ).all()
            claimed = []
            for row in rows:
                if row.film_id is not None and row.film_id in busy:
                    continue
                if row.film_id is not None:
                    busy.add(row.film_id)
                row.state, row.updated_at = "running", now
                claimed.append(row)
                if len(claimed) >= limit:
                    break
            session.flush()
            return [Job.of(row) for row in claimed]

    def next_due(self) -> datetime | None:
        """When the earliest waiting job is due (None: nothing waits)."""
        with self.store._read() as session:
            return session.scalar(select(func.min(PacsJob.next_try_at)).where(PacsJob.state.in_(WAITING)))

    def done(self, job_id: int, note: str | None = None) -> None:
        self._set(job_id, state="done", last_error=None, note=_short(note) if note else None)

    def release(self, job_id: int) -> None:
        """Back to pending without counting an attempt (the PACS as a whole was away, not this object)."""
        self._set(job_id, state="pending", next_try_at=_now())

    def failed(self, job: Job, reason: str) -> Job:
        """Count a failed attempt: wait the back-off, or set the job aside after ``max_attempts``."""
        attempts = job.attempts + 1
        if attempts >= self.max_attempts:
            self._set(job.id, state="set_aside", attempts=attempts, last_error=_short(reason))
            return replace(job, state="set_aside", attempts=attempts, last_error=_short(reason))
        due = _now() + timedelta(seconds=self.backoff.delay(attempts))
        self._set(job.id, state="failed", attempts=attempts, next_try_at=due, last_error=_short(reason))
        return replace(job, state="failed", attempts=attempts, next_try_at=due, last_error=_short(reason))

    def set_aside(self, job_id: int, reason: str) -> None:
        """Set a job aside at once (nothing to try again without a person, e.g. the film is gone)."""
        self._set(job_id, state="set_aside", last_error=_short(reason))

    def _set(self, job_id: int, **values) -> None:
        with self.store._write() as session:
            session.execute(update(PacsJob).where(PacsJob.id == job_id).values(**values, updated_at=_now()))

    def requeue_running(self) -> int:
        """Jobs a killed server left ``running`` back to pending (no attempt counted); how many."""
        with self.store._write() as session:
            result = session.execute(
                update(PacsJob)
                .where(PacsJob.state == "running")
                .values(state="pending", next_try_at=_now(), updated_at=_now())
            )
            return result.rowcount

    # --- what people see and do ---------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Jobs by state."""
        with self.store._read() as session:
            rows = session.execute(select(PacsJob.state, func.count()).group_by(PacsJob.state)).all()
        found = dict(rows)
        return {state: int(found.get(state, 0)) for state in PACS_JOB_STATES}

    def jobs(self, states: Iterable[str] = ("set_aside",), limit: int = 200) -> list[Job]:
        """Jobs in ``states``, the most recently changed first."""
        with self.store._read() as session:
            rows = session.scalars(
                select(PacsJob)
                .where(PacsJob.state.in_(list(states)))
                .order_by(PacsJob.updated_at.desc(), PacsJob.id.desc())
                .limit(limit)
            ).all()
            return [Job.of(r) for r in rows]

    def retry(self, sops: Sequence[str] = (), everything: bool = False) -> int:
        """Set-aside and failed jobs (of the SOP Instance UIDs given, or all) pending now with a fresh count
        of attempts; how many."""
        if not sops and not everything:
            return 0
        wanted = [PacsJob.state.in_(("set_aside", "failed"))]
        if not everything:
            wanted.append(PacsJob.sop_instance_uid.in_(list(sops)))
        with self.store._write() as session:
            result = session.execute(
                update(PacsJob)
                .where(and_(*wanted))
                .values(state="pending", attempts=0, next_try_at=_now(), updated_at=_now(), last_error=None)
            )
            return result.rowcount

    def forget(self, sops: Sequence[str]) -> dict[str, int]:
        """Forget what the link did with these instances so that it does it all again: their record of
        being taken in and their finished jobs go (a fetch job is queued again where the PACS origin is
        known, so a corrected instance is fetched anew); their results are sent again once read.
        Running jobs are left alone. Counts of what was forgotten and re-queued."""
        wanted = list(dict.fromkeys(sops))
        counts = {"records": 0, "jobs": 0, "fetches": 0}
        with self.store._write() as session:
            origins = session.execute(
                select(
                    PacsFetched.sop_instance_uid, PacsFetched.study_instance_uid,
                    PacsFetched.series_instance_uid,
                ).where(
                    PacsFetched.sop_instance_uid.in_(wanted),
                    or_(PacsFetched.via.is_(None), PacsFetched.via != "lookup"),
                )
            ).all()  # fmt: skip
            counts["records"] = session.execute(
                delete(PacsFetched).where(PacsFetched.sop_instance_uid.in_(wanted))
            ).rowcount
            counts["jobs"] = session.execute(
                delete(PacsJob).where(PacsJob.sop_instance_uid.in_(wanted), PacsJob.state != "running")
            ).rowcount
            for sop, study, series in origins:
                counts["fetches"] += self.add("fetch", sop, study=study, series=series, session=session)
        return counts

    # --- the poller's cursor -------------------------------------------------------------------------------

    def cursor(self, key: str = "poll") -> str | None:
        with self.store._read() as session:
            return session.scalar(select(PacsCursor.state).where(PacsCursor.key == key))

    def save_cursor(self, state: str, session, key: str = "poll") -> None:
        """Keep the poller's state, in the caller's transaction (the one that queued what it found)."""
        row = session.get(PacsCursor, key)
        if row is None:
            session.add(PacsCursor(key=key, state=state, updated_at=_now()))
        else:
            row.state, row.updated_at = state, _now()


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1] + "…"
