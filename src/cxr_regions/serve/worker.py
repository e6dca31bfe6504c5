"""The inference worker: background threads that take queued films from the store, run the model
and store the probabilities, and the heatmap cache (computed on demand, kept as PNG under DATA, each
region in its own colour; each file written durably, so a kill leaves whole heatmaps or none, and one
found torn is computed again). Urgent films are claimed first; the worker can be paused (e.g. while a
backlog is queued) and resumed.

The web server's event loop never runs the network: the worker runs in its own threads (PyTorch
releases the GIL while it computes), and heatmap requests go to a thread pool. At start-up every
film left ``processing`` by a killed server is queued again, so a restart picks up the queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import OperationalError

from cxr_regions.ingest import load_film
from cxr_regions.regions import REGION_KEYS
from cxr_regions.report import region_colours
from cxr_regions.serve.faults import fault_point
from cxr_regions.serve.filing import HEATMAPS_DIR, is_complete_png, write_durably
from cxr_regions.serve.film_files import needs_preview, preview_file
from cxr_regions.serve.model import FilmModel, Thresholds, heat_png

if TYPE_CHECKING:
    import numpy as np

    from cxr_regions.serve.records import FilmRecord
    from cxr_regions.serve.store import Store

log = logging.getLogger("cxr_regions.serve")


class InferenceWorker:
    """``threads`` loops over ``store.claim_queued``; ``wake()`` after adding a film."""

    def __init__(
        self, store: Store, model: FilmModel, thresholds: Thresholds, data: Path, threads: int = 1,
        poll_seconds: float = 0.5,
    ) -> None:  # fmt: skip
        self.store = store
        self.model = model
        self.thresholds = thresholds
        self.data = Path(data)
        self.threads = max(1, threads)
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._running: list[threading.Thread] = []
        self._heat_locks: dict[int, threading.Lock] = {}
        self._heat_guard = threading.Lock()

    def start(self) -> None:
        self.model.warm_up()
        requeued = self.store.requeue_processing()
        if requeued:
            log.info("queued again %d film(s) a previous server left unfinished", requeued)
        for i in range(self.threads):
            thread = threading.Thread(target=self._loop, name=f"inference-{i}", daemon=True)
            thread.start()
            self._running.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for thread in self._running:
            thread.join(timeout)
        self._running.clear()

    def wake(self) -> None:
        self._wake.set()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def pause(self) -> None:
        """Take no new film from the queue (the one being read is finished) until :meth:`resume`."""
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._paused.is_set():
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            try:
                films = self.store.claim_queued(1)
            except OperationalError as exc:  # the database held by another process, a full disk: wait
                log.warning("cannot read the queue now (%s); trying again", exc.orig)
                films = []
            except Exception:
                log.exception("cannot read the queue")
                films = []
            if not films:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            for film in films:
                self.process(film)

    def film_array(self, film: FilmRecord) -> np.ndarray:
        return load_film(self.data / film.png_path)

    def process(self, film: FilmRecord) -> None:
        """Probabilities of one claimed film into the store (or the reason it failed)."""
        try:
            probabilities = self.model.probabilities(self.film_array(film))
        except Exception as exc:
            log.warning("film %s failed: %s", film.id, type(exc).__name__)
            reason = f"the model could not read this film ({type(exc).__name__})"
            self._save(film.id, lambda: self.store.set_failed(film.id, reason))
            return
        shown = self.thresholds.shown(probabilities)
        self._save(film.id, lambda: self.store.set_result(film.id, shown, raw=probabilities))
        if needs_preview(film.width, film.height):  # ready before a reader opens it
            try:
                preview_file(self.data, film.image_id, self.data / film.png_path)
            except Exception:
                log.exception("cannot make the first frame of film %s", film.id)

    def _save(self, film_id: int, write: Callable[[], object]) -> None:
        """Store one film's result; while the database cannot be written (locked by another process,
        a full disk), try again with a growing delay. Stopped meanwhile, the film stays ``processing``
        and is queued again at the next start."""
        delay = self.poll_seconds
        while True:
            try:
                write()
                return
            except KeyError:
                return  # the film is gone
            except Exception as exc:
                if self._stop.is_set():
                    return
                reason = getattr(exc, "orig", exc)
                log.warning("film %s: cannot store its result (%s); trying again", film_id, reason)
                self._stop.wait(delay)
                delay = min(30.0, delay * 2)

    def heatmap_path(self, film: FilmRecord, region: str) -> Path:
        """The cached heatmap PNG of one film and region, computing all five on first request."""
        if region not in REGION_KEYS:
            raise KeyError(region)
        folder = self.data / HEATMAPS_DIR / film.image_id
        path = folder / f"{region}.png"
        if is_complete_png(path):
            return path
        with self._heat_guard:
            lock = self._heat_locks.setdefault(film.id, threading.Lock())
        with lock:
            if not is_complete_png(path):
                colours = region_colours()
                heatmaps = self.model.heatmaps(self.film_array(film))
                for key, heat in heatmaps.items():
                    write_durably(heat_png(heat, colours[key]), folder / f"{key}.png")
                    fault_point("heatmaps.written")
        return path
