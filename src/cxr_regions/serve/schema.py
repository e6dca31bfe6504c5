"""The reading room's database tables (SQLAlchemy 2.x ORM); the schema itself is made by the migrations.

Only de-identified data: the image id ingest made, UIDs, the accession number, the report text. Never a
patient's name, ID or birth date.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import false
from sqlalchemy.types import TypeDecorator

from cxr_regions.regions import REGION_KEYS, VALUES

# ``receiving``: the row of a film being filed (serve/filing.py); no page shows it, and a start-up pass
# finishes or removes it. The worklist's films are ``queued`` -> ``processing`` -> ``ready`` or ``failed``.
FILM_STATUSES: tuple[str, ...] = ("receiving", "queued", "processing", "ready", "failed")
FILM_SOURCES: tuple[str, ...] = ("upload", "watch", "demo", "pacs", "dicom")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime, stored naive in UTC (SQLite has no time zones)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the reading room stores aware datetimes only (use datetime.now(timezone.utc))")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of the reading room's tables."""


class Film(Base):
    """One received film, its model result and its read/unread state."""

    __tablename__ = "films"
    __table_args__ = (
        CheckConstraint(_one_of("status", FILM_STATUSES), name="ck_films_status"),
        CheckConstraint(_one_of("source", FILM_SOURCES), name="ck_films_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[str] = mapped_column(String(128), unique=True)
    sop_instance_uid: Mapped[str | None] = mapped_column(String(128), unique=True)
    content_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    study_instance_uid: Mapped[str | None] = mapped_column(String(128))
    accession: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(16))
    png_path: Mapped[str] = mapped_column(String(512))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    read: Mapped[bool] = mapped_column(Boolean, index=True, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    report_text: Mapped[str | None] = mapped_column(Text)
    report_labels: Mapped[dict[str, str] | None] = mapped_column(JSON)
    report_evidence: Mapped[str | None] = mapped_column(Text)
    probabilities: Mapped[dict[str, float] | None] = mapped_column(JSON)
    max_probability: Mapped[float | None] = mapped_column(Float, index=True)
    # neither written nor read any more: calls derive from ``probabilities`` and the thresholds the room
    # runs with (regions.call), so they cannot go stale when the thresholds change; a migration may drop it
    flags: Mapped[str | None] = mapped_column(String(16))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # migration 0006: the film at its own bit depth (its header, with VOI LUT tables, is loaded only on
    # request: Store.film_depth), priors, urgent first, and the model's uncalibrated scores for triage ties
    full_depth_path: Mapped[str | None] = mapped_column(String(512))
    depth: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    patient_key: Mapped[str | None] = mapped_column(String(64), index=True)
    study_day: Mapped[int | None] = mapped_column(Integer)
    urgent: Mapped[bool] = mapped_column(Boolean, index=True, default=False, server_default=false())
    raw_probabilities: Mapped[dict[str, float] | None] = mapped_column(JSON)
    raw_max_probability: Mapped[float | None] = mapped_column(Float)


verdicts_table = Table(
    "verdicts",
    Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("film_id", Integer, ForeignKey("films.id"), nullable=False, index=True),
    Column("reader", String(128), nullable=False),
    *(Column(key, String(1), nullable=False) for key in REGION_KEYS),
    Column("note", Text, nullable=False, default=""),
    Column("saved_at", UTCDateTime, nullable=False),
    Column("cardiothoracic_ratio", Float, nullable=True),  # migration 0006
    Column("measurements", JSON, nullable=True),  # the two widths behind the ratio, in film pixels
    UniqueConstraint("film_id", "reader", name="uq_verdicts_film_reader"),
    *(CheckConstraint(_one_of(key, VALUES), name=f"ck_verdicts_{key}") for key in REGION_KEYS),
)


class Verdict(Base):
    """A reader's current verdict on a film: one column per region (``1``/``u``/``0``), a note, and the
    cardiothoracic ratio where the reader measured one."""

    __table__ = verdicts_table

    if TYPE_CHECKING:  # the table's columns as the ORM maps them (the regions' columns by getattr)
        id: Mapped[int]
        film_id: Mapped[int]
        reader: Mapped[str]
        note: Mapped[str]
        saved_at: Mapped[datetime]
        cardiothoracic_ratio: Mapped[float | None]
        measurements: Mapped[dict[str, Any] | None]


PACS_OUTCOMES: tuple[str, ...] = ("stored", "duplicate", "refused", "lateral")
PACS_SENT_KINDS: tuple[str, ...] = ("results", "verdict")


class PacsFetched(Base):
    """One instance the PACS poller has dealt with (fetched and taken in, a duplicate, refused, or a
    lateral left in the PACS): never asked for again, so a restart neither misses nor duplicates."""

    __tablename__ = "pacs_fetched"
    __table_args__ = (CheckConstraint(_one_of("outcome", PACS_OUTCOMES), name="ck_pacs_fetched_outcome"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(128), unique=True)
    study_instance_uid: Mapped[str] = mapped_column(String(128))
    series_instance_uid: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(16))
    film_id: Mapped[int | None] = mapped_column(ForeignKey("films.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    via: Mapped[str | None] = mapped_column(String(16))  # poll, listener, lookup (None: before 0005)
    revision: Mapped[str | None] = mapped_column(String(128))  # the PACS's own, where it tells one


class PacsSent(Base):
    """One result object sent back to the PACS (the model's SC + SR, or a verdict SR of one version)."""

    __tablename__ = "pacs_sent"
    __table_args__ = (
        CheckConstraint(_one_of("kind", PACS_SENT_KINDS), name="ck_pacs_sent_kind"),
        UniqueConstraint("film_id", "kind", "version", name="uq_pacs_sent_film_kind_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    film_id: Mapped[int] = mapped_column(ForeignKey("films.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(256))
    sop_instance_uid: Mapped[str] = mapped_column(String(128))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


PACS_JOB_KINDS: tuple[str, ...] = ("fetch", "lookup", "results", "verdict")
PACS_JOB_STATES: tuple[str, ...] = ("pending", "running", "done", "failed", "set_aside")


class PacsJob(Base):
    """One piece of the PACS link's work on one object: fetch an instance, look a film up in the PACS,
    send a film's results or one version of a verdict. ``failed`` waits for ``next_try_at``;
    ``set_aside`` waits for a person (``cxr-regions pacs retry``)."""

    __tablename__ = "pacs_jobs"
    __table_args__ = (
        CheckConstraint(_one_of("kind", PACS_JOB_KINDS), name="ck_pacs_jobs_kind"),
        CheckConstraint(_one_of("state", PACS_JOB_STATES), name="ck_pacs_jobs_state"),
        UniqueConstraint("kind", "sop_instance_uid", "version", name="uq_pacs_jobs_kind_sop_version"),
        Index("ix_pacs_jobs_state_next_try_at", "state", "next_try_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    sop_instance_uid: Mapped[str] = mapped_column(String(128))  # the original instance's
    version: Mapped[str] = mapped_column(String(256))  # a verdict's version; "" for the other kinds
    study_instance_uid: Mapped[str | None] = mapped_column(String(128))
    series_instance_uid: Mapped[str | None] = mapped_column(String(128))
    film_id: Mapped[int | None] = mapped_column(ForeignKey("films.id"), index=True)
    revision: Mapped[str | None] = mapped_column(String(128))  # fetch: the PACS's revision when queued
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_try_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PacsCursor(Base):
    """Where the PACS poller left off (``cxr_regions.pacs.PollState`` as JSON), saved with the jobs it
    queued."""

    __tablename__ = "pacs_cursor"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)  # which poller ("poll")
    state: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginSession(Base):
    """One logged-in session: the cookie holds a random id, the table only its keyed hash (a copy of
    the database opens no session). Logout, a password change, a removed user and the idle time-out
    delete the row, so the cookie stops working at once."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(64), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuditEvent(Base):
    """One line of the audit trail (append-only: triggers refuse updates and deletes): who did what,
    from which address, on which film or user, with the details (a verdict's old and new values)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str | None] = mapped_column(String(128), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    client: Mapped[str | None] = mapped_column(String(64))
    film_id: Mapped[int | None] = mapped_column(Integer, index=True)
    subject: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
