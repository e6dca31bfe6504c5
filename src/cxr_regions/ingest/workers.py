"""A crash-isolating process pool: a worker that dies (a decoder fault on a hostile file) is replaced,
and the one task that killed it is named instead of failing the batch."""

from __future__ import annotations

import collections
import multiprocessing
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any


def _pool_context(preload: Sequence[str]) -> multiprocessing.context.BaseContext:
    """A fork server where available: workers start from a clean, pre-imported process."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(preload))
        return ctx
    return multiprocessing.get_context("spawn")


class Workers:
    """A process pool that survives a worker crash and tells which task caused it.

    ``preload`` names modules the fork server imports once; ``initializer`` runs in each new worker.
    """

    CRASHED = object()

    def __init__(
        self, count: int, preload: Sequence[str] = (), initializer: Callable[[], None] | None = None
    ) -> None:
        self.count = count
        self.preload = tuple(preload)
        self.initializer = initializer
        self._pool: ProcessPoolExecutor | None = None
        self._worked = False
        self._breaks = 0

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=exc[0] is None, cancel_futures=True)

    def _fresh_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.count, mp_context=_pool_context(self.preload), initializer=self.initializer
            )
        return self._pool

    def run(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        """Yield ``(item, fn(item))`` in completion order; ``CRASHED`` for an item that kills a worker.

        When a worker dies, every task then in flight is suspect: each is rerun alone in a fresh pool,
        and the one that kills its worker alone is reported as ``CRASHED``.
        """
        pending = collections.deque(items)
        suspects: collections.deque[Any] = collections.deque()
        inflight: dict[Any, Any] = {}
        while pending or suspects or inflight:
            pool = self._fresh_pool()
            queue, limit = (suspects, 1) if suspects else (pending, 4 * self.count)
            broken: list[Any] = []
            while queue and len(inflight) < limit and not broken:
                item = queue.popleft()
                try:
                    inflight[pool.submit(fn, item)] = item
                except BrokenProcessPool:
                    broken.append(item)
            done = wait(list(inflight), return_when=FIRST_COMPLETED)[0] if inflight and not broken else set()
            for future in done:
                item = inflight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    broken.append(item)
                    continue
                self._worked = True
                yield item, result
            if broken:
                alone = limit == 1 and len(broken) + len(inflight) == 1
                broken.extend(inflight.pop(f) for f in list(inflight))
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                self._breaks += 1
                if not self._worked and self._breaks >= 3:
                    raise RuntimeError(
                        "the worker processes die before finishing any work; run ingest from the "
                        "cxr-regions command or a script file (not from standard input)"
                    )
                if alone:
                    yield broken[0], self.CRASHED
                else:
                    suspects.extend(broken)
