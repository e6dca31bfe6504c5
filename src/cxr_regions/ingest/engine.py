"""Where per-film work runs: this machine's process pool (``local``) or a Dask cluster (``dask``).

Both give the same interface as :class:`~cxr_regions.ingest.workers.Workers`: ``run(fn, items)``
yields ``(item, fn(item))`` in completion order and ``CRASHED`` for an item whose task kills workers;
the caller (ingest, packing) keeps the journal and writes the tables itself, once, so a run on a
cluster writes exactly what a local run writes.

The Dask engine connects to a running scheduler (``scheduler="tcp://host:8786"``; the workers must
see the input and output folders at the same paths, a shared file system) or, without one, starts a
``LocalCluster`` of ``workers`` processes with one thread each. A worker lost mid-run is Dask's to
handle: its tasks are run again on the others (a film written twice is the same file, written
atomically), and a task that keeps killing workers ends as ``KilledWorker``, reported as ``CRASHED``.
Dask (``pip install 'cxr-regions[cluster]'``) is imported only when this engine is chosen.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from cxr_regions.errors import UserError
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


def local_cluster(workers: int):
    """A Dask ``LocalCluster`` of ``workers`` processes with one thread each, its background quieted."""
    import dask
    from distributed import LocalCluster

    with dask.config.set(QUIET):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )


def _call_on_worker(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """Run one task, a batch of items, on a Dask worker, with OpenCV on one thread (the parallelism is the
    workers)."""
    import cv2

    cv2.setNumThreads(1)
    return [fn(item) for item in items]


class DaskWorkers:
    """Per-item tasks on a Dask cluster, with :class:`Workers`' interface (``run`` and ``CRASHED``)."""

    CRASHED = Workers.CRASHED

    def __init__(self, count: int, scheduler: str | None = None) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise UserError(
                "--engine dask needs Dask distributed: pip install 'cxr-regions[cluster]' "
                "(or pip install dask distributed)"
            ) from None
        self._cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="30s")
            except OSError as exc:
                raise UserError(f"cannot reach the Dask scheduler at {scheduler} ({exc})") from None
        else:
            self._cluster = local_cluster(count)
            self.client = Client(self._cluster)
        self._counter = itertools.count()

    def __enter__(self) -> DaskWorkers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def threads(self) -> int:
        """Worker threads the cluster has now (at least 1)."""
        return max(1, sum(self.client.nthreads().values()))

    def run(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, fn(item))`` in completion order; ``CRASHED`` for an item that kills workers.

        Items go to the workers in batches (a few per worker thread at a time, at most ``_BATCH``), so
        that Dask's per-task cost is shared; a batch that keeps killing workers is retried an item at a
        time, and only the item that kills its workers alone is reported as ``CRASHED``.
        """
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        items = list(items)
        threads = self.threads()
        size = max(1, min(_BATCH, len(items) // (_AHEAD_PER_THREAD * threads)))
        batches = iter([items[i : i + size] for i in range(0, len(items), size)])
        owner: dict[str, list[Any]] = {}
        run = next(self._counter)
        keys = itertools.count()

        def submit(batch: list[Any]):
            key = f"cxr-{run}-{next(keys)}"
            owner[key] = batch
            return self.client.submit(_call_on_worker, fn, batch, key=key, pure=False)

        flow = as_completed([submit(b) for b in itertools.islice(batches, _AHEAD_PER_THREAD * threads)])
        for future in flow:
            batch = owner.pop(future.key)
            if future.status == "error":
                error = future.exception()
                if not isinstance(error, KilledWorker):
                    raise error
                future.release()
                if len(batch) > 1:
                    for item in batch:
                        flow.add(submit([item]))
                else:
                    yield batch[0], self.CRASHED
                continue
            results = future.result()
            future.release()
            yield from zip(batch, results, strict=True)
            for extra in itertools.islice(batches, 1):
                flow.add(submit(extra))


def open_engine(
    engine: str, workers: int, scheduler: str | None = None, preload: Sequence[str] = (), initializer=None
) -> Workers | DaskWorkers:
    """The pool for ``engine``: :class:`Workers` (local processes) or :class:`DaskWorkers`."""
    if engine == "local":
        return Workers(workers, preload, initializer)
    if engine == "dask":
        return DaskWorkers(workers, scheduler)
    raise UserError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
