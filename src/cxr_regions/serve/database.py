"""The SQLite engine of the reading room and its Alembic migrations (shipped in ``serve/migrations``).

SQLite with WAL, ``synchronous=FULL`` (a committed transaction is on disk), foreign keys, a busy timeout,
and transactions begun by SQLAlchemy: ``BEGIN`` for reads, ``BEGIN IMMEDIATE`` for writes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DatabaseError

from cxr_regions.errors import UserError

BUSY_TIMEOUT_SECONDS = 30.0
WRITE_OPTION = "sqlite_write"


def migrations_folder() -> Path:
    """The Alembic script folder shipped inside the package."""
    return Path(str(resources.files("cxr_regions.serve") / "migrations"))


def alembic_config(engine: Engine | None) -> Config:
    """A programmatic Alembic config for ``engine`` (no alembic.ini in the user's folder)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_folder()))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def make_engine(path: Path, busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> Engine:
    """A SQLite engine with WAL, foreign keys, a busy timeout, and transactions begun by SQLAlchemy.

    ``busy_timeout``: how long (seconds) a statement waits for a lock another process holds before it
    fails with "database is locked".

    The sqlite3 driver's own transaction handling is switched off (``isolation_level=None``) so that
    SQLAlchemy's ``begin`` emits ``BEGIN`` (reads) or ``BEGIN IMMEDIATE`` (engines with ``sqlite_write``),
    which takes the write lock up front instead of failing half-way when two writers meet.
    """
    engine = create_engine(
        f"sqlite:///{path}",
        connect_args={"check_same_thread": False, "timeout": busy_timeout},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            f"busy_timeout={round(busy_timeout * 1000)}",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def writer(engine: Engine) -> Engine:
    """The same engine (and pool) whose transactions begin with ``BEGIN IMMEDIATE``."""
    return engine.execution_options(**{WRITE_OPTION: True})


@contextlib.contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """One write transaction for migrations, with SQLite's procedure for rebuilding a table that others
    reference: foreign keys off around the transaction (the pragma is ignored inside one), checked before
    the commit, on again after."""
    path = engine.url.database
    try:
        with writer(engine).connect() as connection:
            raw: Any = connection.connection.driver_connection  # sqlite3's connection (open)
            raw.execute("PRAGMA foreign_keys = OFF")
            try:
                with connection.begin():
                    yield connection
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise UserError(f"{path}: the schema change broke references {broken[:5]}")
            finally:
                raw.execute("PRAGMA foreign_keys = ON")
    except DatabaseError as exc:
        raise UserError(_cannot_open(path, exc)) from None


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema (Alembic ``upgrade head``) in one write transaction.

    A ``UserError`` if the file is not a database SQLite can open, is locked by another process for longer
    than the busy timeout, or was made by a newer cxr-regions (a schema revision these migrations do not
    know: upgrading the program is the fix, never a downgrade).
    """
    config = alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    path = engine.url.database
    with _migrating(engine) as connection:
        known = MigrationContext.configure(connection).get_current_revision()
        if known is not None and known not in {s.revision for s in script.walk_revisions()}:
            raise UserError(
                f"{path} has schema revision {known!r}, newer than this cxr-regions knows "
                f"(newest {script.get_current_head()!r}); run it with the newer cxr-regions that made it"
            )
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database back to ``revision`` (for going back to an older cxr-regions; data that the
    older schema has no place for is dropped, as each migration's ``downgrade`` says)."""
    config = alembic_config(engine)
    with _migrating(engine) as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _cannot_open(path: str | None, exc: DatabaseError) -> str:
    """The message for a database that cannot be opened: locked by another process, or not SQLite."""
    if "locked" in str(exc.orig):
        return (
            f"{path}: the reading-room database is locked by another process (waited for its busy "
            "timeout); stop that process or try again"
        )
    return f"{path}: cannot open the reading-room database ({exc.orig}); is it a SQLite file?"


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None for an empty file)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision among the shipped migrations."""
    return ScriptDirectory.from_config(alembic_config(None)).get_current_head()
