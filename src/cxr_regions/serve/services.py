"""The reading room's services, made once per app from its :class:`ServeConfig`: the store, the model and
its thresholds, the inference worker, the intake, the pages, the sessions, the audit trail, the users and
the PACS link.

``create_app`` keeps one :class:`Services` on ``app.state.services`` and starts and stops it with the
app's lifespan; routes reach its parts only through the typed dependencies of ``serve/deps.py``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cxr_regions.pacs import Pacs, PollConfig, Poller, parse_query, read_auth
from cxr_regions.serve.accounts import Accounts
from cxr_regions.serve.audit import AuditTrail
from cxr_regions.serve.auth import LoginThrottle, SessionKeeper
from cxr_regions.serve.configuration import ServeConfig
from cxr_regions.serve.database import make_engine
from cxr_regions.serve.demo_films import seed_demo
from cxr_regions.serve.faults import check_environment
from cxr_regions.serve.filing import DataLock
from cxr_regions.serve.intake import Intake
from cxr_regions.serve.model import FilmModel, Thresholds
from cxr_regions.serve.pacs_link import LinkSettings, PacsLink
from cxr_regions.serve.pacs_listener import DicomIntake
from cxr_regions.serve.rendering import Pages
from cxr_regions.serve.reports import ReportBook
from cxr_regions.serve.sessions import SessionBook, check_tables, session_secret
from cxr_regions.serve.store import Store
from cxr_regions.serve.users import Users
from cxr_regions.serve.watch import FolderWatcher
from cxr_regions.serve.worker import InferenceWorker

if TYPE_CHECKING:
    from sqlalchemy import Engine


log = logging.getLogger("cxr_regions.serve")


def build_link(
    config: ServeConfig, store: Store, intake: Intake, worker: InferenceWorker, thresholds: Thresholds
) -> PacsLink | None:
    """The PACS link where ``--pacs`` or ``--dicom-port`` is given (None without)."""
    if config.pacs is None and config.dicom_port is None:
        return None
    pacs = poller = None
    if config.pacs is not None:
        pacs = Pacs(
            config.pacs, read_auth(config.pacs_auth), connect_timeout=config.pacs_connect_timeout,
            read_timeout=config.pacs_read_timeout, pool_size=max(4, config.pacs_jobs + 2),
        )  # fmt: skip
        if config.polling != "off":
            poller = Poller(pacs, parse_query(config.pacs_query), PollConfig(mode=config.polling))
    settings = LinkSettings(
        poll_seconds=config.pacs_poll, send_results=config.send_results, threads=config.pacs_jobs,
        max_attempts=config.pacs_attempts, retry_base=config.pacs_retry_base,
        max_backoff=config.pacs_max_backoff, sc_syntax=config.sc_syntax,
    )  # fmt: skip
    link = PacsLink(pacs, poller, store, intake, worker, thresholds, settings)
    if config.dicom_port is not None:
        link.listener = DicomIntake(
            config.listener_config(), intake, link.ledger, on_taken=link.runner.wake.set
        )
    return link


@dataclass
class Services:
    """Everything the routes use, made by :meth:`build`; :meth:`start` and :meth:`stop` run the
    background parts (worker threads, demo films, the watch folder, the PACS link)."""

    config: ServeConfig
    store: Store
    model: FilmModel
    thresholds: Thresholds
    worker: InferenceWorker
    intake: Intake
    pages: Pages
    throttle: LoginThrottle
    engine: Engine
    sessions: SessionBook
    audit: AuditTrail
    keeper: SessionKeeper
    accounts: Accounts | None = None
    pacs_link: PacsLink | None = None
    watcher: FolderWatcher | None = None
    lock: DataLock | None = None

    @classmethod
    def build(cls, config: ServeConfig) -> Services:
        """Check and save ``config``, open the store and load the model (nothing runs yet)."""
        config.validate()
        check_environment()
        config.save()
        data = Path(config.data)
        secret = session_secret(data)  # a damaged one stops the start here, before the model loads
        if config.users is not None:
            Users.load(config.users)  # so does a users file with a bad line
        store = Store(data, config.db_busy_timeout)
        # sessions and audit trail: tables of the same database
        engine = make_engine(store.path, config.db_busy_timeout)
        check_tables(engine)
        idle, lifetime = config.session_idle_minutes * 60, config.session_max_hours * 3600
        sessions = SessionBook(engine, secret, idle, lifetime)
        audit = AuditTrail(engine)
        accounts = None
        if config.users is not None:
            accounts = Accounts(Path(config.users), sessions, audit)
        model = FilmModel(Path(config.run), config.method, config.device)
        thresholds = Thresholds.load(config.thresholds)
        worker = InferenceWorker(store, model, thresholds, data, config.workers, config.poll_seconds)
        intake = Intake(store, data, ReportBook(config.reports), on_new=worker.wake)
        link = build_link(config, store, intake, worker, thresholds)
        if link is not None and accounts is not None:
            link.observer_name = accounts.display_name  # the verdict SR's observer: the full name
        pages = Pages(config, thresholds, model, link)
        keeper = SessionKeeper(sessions, accounts)
        return cls(
            config, store, model, thresholds, worker, intake, pages, LoginThrottle(), engine, sessions, audit,
            keeper, accounts, link,
        )  # fmt: skip

    def start(self) -> None:
        """Take the data folder (one server per folder), finish or remove what a killed server left
        half-done, then start the worker, seed the demo films, watch the folder and start the PACS link."""
        self.lock = DataLock.take(Path(self.config.data))
        self.intake.recover()
        swept = self.sessions.sweep()
        if swept:
            log.info("%d timed-out session(s) removed", swept)
        self.worker.start()
        if self.config.demo:
            seed_demo(Path(self.config.run), self.intake)
        if self.config.watch is not None:
            self.watcher = FolderWatcher(Path(self.config.watch), self.intake)
            self.watcher.start()
        if self.pacs_link is not None:
            self.pacs_link.start()
        log.info("reading room ready: %s films", self.store.counts()["total"])

    def stop(self) -> None:
        """Stop what :meth:`start` started, in reverse order, and close the store."""
        if self.pacs_link is not None:
            self.pacs_link.stop()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher = None
        self.worker.stop()
        self.engine.dispose()
        self.store.close()
        if self.lock is not None:
            self.lock.release()
            self.lock = None
