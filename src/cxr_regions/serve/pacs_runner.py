"""Runs the PACS link's jobs (:mod:`~cxr_regions.serve.pacs_jobs`): several at once, each failing on its
own.

One dispatcher thread claims due jobs and hands each to a pool of ``threads`` workers; a handler per kind
does the work and returns a note (or raises). A failure counts an attempt of that job only, and the job
waits its own back-off (or is set aside after the last attempt), so one failing object never delays
another. A failure because the PACS as a whole is away is not the object's fault: where the failure had
no answer from the PACS (connection refused, a timeout, an answer cut short) or a server error, the
runner asks :class:`LinkHealth` whether the PACS answers at all; if not, the job goes back to pending
with its attempts unchanged and no job is claimed until the PACS answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from cxr_regions.pacs import PacsError
from cxr_regions.serve.pacs_jobs import Job, JobBook

log = logging.getLogger("cxr_regions.serve")

IDLE_WAIT = 1.0


class SetAside(Exception):
    """Raised by a handler for a job nothing but a person can help (set aside at once, with the reason)."""


class NotStored(Exception):
    """Raised by a handler where the room itself could not keep what it got (its database or disk): tried
    again like a failed retrieve, logged with its reason and without a traceback (nothing unexpected)."""


class LinkHealth:
    """Whether the PACS answers: set by the link's checks and polls, asked by the runner after a failure.

    ``probe()`` (one small request) runs at most once per ``every`` seconds however many jobs ask."""

    def __init__(self, probe: Callable[[], None] | None, every: float = 2.0) -> None:
        self._probe = probe
        self.every = every
        self.up = True
        self.reason = ""
        self.since = datetime.now(timezone.utc)
        self.changed = threading.Event()
        self._lock = threading.Lock()
        self._checked = 0.0

    def set(self, up: bool, reason: str = "") -> None:
        with self._lock:
            if up != self.up:
                self.since = datetime.now(timezone.utc)
                self.changed.set()
                if up:
                    log.info("the PACS answers again")
                else:
                    log.warning("the PACS does not answer: %s", reason)
            self.up, self.reason = up, reason

    def confirm(self) -> bool:
        """Ask the PACS now (or trust an answer younger than ``every`` seconds); whether it is up."""
        if self._probe is None:
            return True
        with self._lock:
            fresh = time.monotonic() - self._checked < self.every
            if fresh:
                return self.up
            self._checked = time.monotonic()
        try:
            self._probe()
        except Exception as exc:
            self.set(False, str(exc))
            return False
        self.set(True)
        return True


def blames_the_object(exc: BaseException) -> bool:
    """A failure that says something about this object only (a 4xx answer: not found, refused)."""
    status = getattr(exc, "status", None)
    return status is not None and 400 <= int(status) < 500


class JobRunner:
    """Claims due jobs of the kinds it has handlers for and runs them on ``threads`` workers."""

    def __init__(
        self, book: JobBook, handlers: dict[str, Callable[[Job], str | None]], health: LinkHealth,
        threads: int = 4, needs_pacs: tuple[str, ...] = ("fetch", "lookup", "results", "verdict"),
    ) -> None:  # fmt: skip
        self.book = book
        self.handlers = handlers
        self.health = health
        self.threads = max(1, threads)
        self.needs_pacs = needs_pacs
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self._running = 0
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self.before_round: Callable[[], None] = lambda: None  # the link's planner

    def start(self) -> None:
        requeued = self.book.requeue_running()
        if requeued:
            log.info("queued again %d PACS job(s) a previous server left unfinished", requeued)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="pacs-job")
        self._thread = threading.Thread(target=self._dispatch, name="pacs-jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self.wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def busy(self) -> int:
        with self._lock:
            return self._running

    def _dispatch(self) -> None:
        pool = self._pool
        assert pool is not None  # start() makes it before this thread
        while not self.stopping.is_set():
            try:
                self.before_round()
                claimed = self._claim()
            except Exception:
                log.exception("PACS jobs: cannot read the queue")
                claimed = []
            for job in claimed:
                with self._lock:
                    self._running += 1
                pool.submit(self._run, job)
            self.wake.wait(self._pause(bool(claimed)))
            self.wake.clear()

    def _claim(self) -> list[Job]:
        free = self.threads - self.busy()
        kinds = [k for k in self.handlers if self.health.up or k not in self.needs_pacs]
        if free <= 0 or not kinds:
            return []
        return self.book.claim(free, kinds)

    def _pause(self, claimed: bool) -> float:
        """How long to wait before the next round: at once after claiming, else until the next job is
        due (at most ``IDLE_WAIT``, so the planner runs about once a second)."""
        if claimed and self.busy() < self.threads:
            return 0.0
        due = self.book.next_due()
        if due is None:
            return IDLE_WAIT
        return max(0.05, min(IDLE_WAIT, (due - datetime.now(timezone.utc)).total_seconds()))

    def _run(self, job: Job) -> None:
        try:
            note = self.handlers[job.kind](job)
        except SetAside as exc:
            self.book.set_aside(job.id, str(exc))
            log.warning("PACS %s job %d set aside: %s", job.kind, job.id, exc)
        except Exception as exc:
            self._failed(job, exc)
        else:
            self.book.done(job.id, note)
        finally:
            with self._lock:
                self._running -= 1
            self.wake.set()

    def _failed(self, job: Job, exc: Exception) -> None:
        expected = isinstance(exc, PacsError | NotStored)
        reason = str(exc) if expected else f"unexpected {type(exc).__name__}: {exc}"
        if not expected:
            log.exception("PACS %s job %d failed", job.kind, job.id)
        if job.kind in self.needs_pacs and not blames_the_object(exc) and not self.health.confirm():
            self.book.release(job.id)  # the PACS is away: not this object's fault, no attempt counted
            return
        after = self.book.failed(job, reason)
        if after.state == "set_aside":
            log.warning(
                "PACS %s job %d set aside after %d attempts: %s", job.kind, job.id, after.attempts, reason
            )
        else:
            wait = (after.next_try_at - datetime.now(timezone.utc)).total_seconds()
            log.warning(
                "PACS %s job %d failed (attempt %d), next try in %.0f s: %s",
                job.kind, job.id, after.attempts, max(0.0, wait), reason,
            )  # fmt: skip
