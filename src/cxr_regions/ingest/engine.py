"""Where per-film work runs: this machine's process pool (``local``) or a Dask cluster (``dask``).

Both give the same interface as :class:`~cxr_regions.ingest.workers.Workers`: ``run(fn, items)``
yields ``(item, fn(item))`` in completion order and ``CRASHED`` for an item whose task kills workers;
the caller (ingest, packing) keeps the journal and writes the tables itself, once, so a run on a
cluster writes exactly what a local run writes.

The Dask engine connects to a running scheduler (``scheduler="tcp://host:8786"``; the workers must
see the input and output folders at the same paths, a shared file system) or, without one, starts a
``LocalCluster`` of ``workers`` processes with one thread each. A worker lost mid-run is Dask's to
handle: its tasks are run again on the others (a film written twice is the same file, written
atomically). A task that Dask gives up on (``KilledWorker``) only shared a dead worker's time with the
culprit, perhaps; its films are each run again alone, and only a film that kills its workers alone is
reported as ``CRASHED``.
Dask (``pip install 'cxr-regions[cluster]'``) is imported only when this engine is chosen.
"""

from __future__ import annotations

import contextlib
import itertools
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import cv2

from cxr_regions.errors import UserError
from cxr_regions.extras import require_extra
from cxr_regions.ingest.workers import Workers

ENGINES = ("local", "dask")
# Tasks handed to the cluster ahead of the results, per worker thread: enough to keep every worker busy
# while results come back, few enough that a million-film archive is not a million futures at once.
_AHEAD_PER_THREAD = 4
_BATCH = 16


# Dask's background work a per-film map does not need: the statistical profiler samples each running task
# every 10 ms, and the monitors poll several times a second (quieted, an idle 2-worker cluster spends
# about a fifth of the CPU time it otherwise does). And Dask's MALLOC_TRIM_THRESHOLD_ for its workers,
# which hands every freed film back to the OS only to fault it in again for the next one (measured:
# docs/results.md, ingest speed).
QUIET = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.tick.interval": "200ms",
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
}


@contextlib.contextmanager
def local_cluster(workers: int, config: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """A running Dask ``LocalCluster`` of ``workers`` processes with one thread each, its background
    quieted and its scratch space in a temporary folder of its own, closed on leaving the ``with`` block.

    While it runs, a worker process that dies is always started again by its nanny: Dask's
    ``lost-worker-timeout`` (15 s) would otherwise give up a worker for good when, 15 s after one
    death, it happens to be down again (a film that kills workers a few times in a row), and a cluster
    with no workers left waits forever. ``config`` adds Dask settings, by dotted name, for the
    cluster's lifetime (e.g. ``{"distributed.scheduler.allowed-failures": 0}``).
    """
    # here: dask and distributed are an optional extra (cluster)
    import dask
    from distributed import LocalCluster

    settings = {**QUIET, "distributed.deploy.lost-worker-timeout": "3650 days", **(config or {})}
    with dask.config.set(settings), tempfile.TemporaryDirectory(prefix="cxr-dask-") as scratch:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # no dashboard, and the scheduler's small HTTP server on a free port, not first on 8787
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=40,
            local_directory=scratch,
        )
        with cluster:
            yield cluster


def _call_on_worker(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """Run one task, a batch of items, on a Dask worker, with OpenCV on one thread (the parallelism is the
    workers)."""
    cv2.setNumThreads(1)
    return [fn(item) for item in items]


class DaskWorkers:
    """Per-item tasks on a Dask cluster, with :class:`Workers`' interface (``run`` and ``CRASHED``)."""

    CRASHED = Workers.CRASHED

    def __init__(self, count: int, scheduler: str | None = None) -> None:
        require_extra("cluster", "--engine dask")
        # here: dask and distributed are an optional extra (cluster), checked for just above
        from distributed import Client

        self._stack = contextlib.ExitStack()
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="30s")
            except OSError as exc:
                raise UserError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        else:
            self.client = Client(self._stack.enter_context(local_cluster(count)))
        # Keys unique to this pool: a key another run (or client) used would be taken as that task.
        self._run = uuid.uuid4().hex
        self._keys = itertools.count()

    def __enter__(self) -> DaskWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self._stack.close()

    def threads(self) -> int:
        """Worker threads the cluster has now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def run(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, fn(item))`` in completion order; ``CRASHED`` for an item that kills workers.

        Items go to the workers in batches (a few per worker thread at a time, at most ``_BATCH``), so
        that Dask's per-task cost is shared. Dask counts a worker's death against every task assigned to
        that worker, running or waiting (``distributed.scheduler.allowed-failures``), so a ``KilledWorker``
        names the films that shared a dead worker's time, not the one that killed it. Every item of such
        a task is a suspect: no new work is handed out until the tasks in flight are done, then each
        suspect is run alone, the only task of this run on the cluster, and only one that still kills
        its workers is reported as ``CRASHED``. Then the rest of the items go on as before.
        """
        items = list(items)
        ahead = _AHEAD_PER_THREAD * self.threads()
        size = max(1, min(_BATCH, len(items) // ahead))
        batches = iter([items[i : i + size] for i in range(0, len(items), size)])
        suspects: list[Any] = []
        while True:
            yield from self._spread(fn, batches, ahead, suspects)
            if not suspects:
                return
            for item in suspects:
                yield item, self._alone(fn, item)
            suspects.clear()

    def _submit(self, fn: Callable[[Any], Any], batch: list[Any]):
        """One task for ``batch``, under a key no other run or client uses."""
        key = f"cxr-{self._run}-{next(self._keys)}"
        return self.client.submit(_call_on_worker, fn, batch, key=key, pure=False)

    def _spread(self, fn, batches: Iterator[list[Any]], ahead: int, suspects: list[Any]):
        """Run ``batches`` across the cluster, ``ahead`` tasks at a time, yielding ``(item, result)``,
        until they are done or a task ends as ``KilledWorker``: then its items join ``suspects``, no new
        task is handed out, and this returns once the tasks in flight are done."""
        # here: dask and distributed are an optional extra (cluster)
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        owner: dict[str, list[Any]] = {}

        def submit(batch: list[Any]):
            future = self._submit(fn, batch)
            owner[future.key] = batch
            return future

        flow = as_completed([submit(b) for b in itertools.islice(batches, ahead)])
        for future in flow:
            batch = owner.pop(future.key)
            try:  # a finished task's result can be lost with its worker, run again and killed
                results = future.result()
            except KilledWorker:
                suspects.extend(batch)
                continue
            finally:
                future.release()
            yield from zip(batch, results, strict=True)
            if not suspects:
                for extra in itertools.islice(batches, 1):
                    flow.add(submit(extra))

    def _alone(self, fn: Callable[[Any], Any], item: Any) -> Any:
        """``fn(item)`` as the only task of this run on the cluster, or ``CRASHED`` when it kills its
        workers alone (Dask gives it up after ``allowed-failures`` deaths)."""
        # here: dask and distributed are an optional extra (cluster)
        from distributed.scheduler import KilledWorker

        future = self._submit(fn, [item])
        try:
            return future.result()[0]
        except KilledWorker:
            return self.CRASHED
        finally:
            future.release()


def open_engine(
    engine: str, workers: int, scheduler: str | None = None, preload: Sequence[str] = (), initializer=None
) -> Workers | DaskWorkers:
    """The pool for ``engine``: :class:`Workers` (local processes) or :class:`DaskWorkers`."""
    if engine == "local":
        return Workers(workers, preload, initializer)
    if engine == "dask":
        return DaskWorkers(workers, scheduler)
    raise UserError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
