"""``--watch FOLDER``: DICOM files dropped into a folder (a PACS export target) are taken in.

watchdog reports new and moved-in files; a file is taken once its size has stopped changing (a
PACS writes large files in pieces), then removed from the folder when it was stored, recognised
as a duplicate or refused (the reason is logged with the file's short content hash, never its name). A
file that failed for the room's own reason (a full disk, a locked database) stays and is tried again.
Files present at start-up are taken too. Files dropped into its ``urgent/`` subfolder are read first
by the model.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from cxr_regions.serve.intake import Intake

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

log = logging.getLogger("cxr_regions.serve")

SETTLE_SECONDS = 1.0
RETRY_SECONDS = 30.0
URGENT_FOLDER = "urgent"


class FolderWatcher:
    """A watchdog observer feeding a queue, and one thread that waits for files to settle and takes them."""

    def __init__(self, folder: Path, intake: Intake, settle: float = SETTLE_SECONDS) -> None:
        self.folder = Path(folder)
        self.intake = intake
        self.settle = settle
        self._queue: queue.Queue[Path | None] = queue.Queue()
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        pending = self._queue

        class Handler(FileSystemEventHandler):
            def on_created(self, event: FileSystemEvent) -> None:
                if not event.is_directory:  # paths are text: the folder is scheduled as text
                    pending.put(Path(cast(str, event.src_path)))

            def on_moved(self, event: FileSystemEvent) -> None:
                if not event.is_directory:
                    pending.put(Path(cast(str, event.dest_path)))

        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.folder), recursive=True)
        self._observer.start()
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file()):
            pending.put(path)
        self._thread = threading.Thread(target=self._loop, name="watch-folder", daemon=True)
        self._thread.start()
        log.info("watching %s for new DICOM files", self.folder)

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5)
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(10)

    def _settled(self, path: Path) -> bool:
        """Wait until the file's size and modification time stop changing; False if it went away."""
        last = None
        while True:
            try:
                stat = path.stat()
            except FileNotFoundError:
                return False
            now = (stat.st_size, stat.st_mtime_ns)
            if now == last and stat.st_size > 0:
                return True
            last = now
            time.sleep(self.settle)

    def _loop(self) -> None:
        seen: set[Path] = set()
        while True:
            path = self._queue.get()
            if path is None:
                return
            if path in seen or path.name.startswith(".") or not self._settled(path):
                continue
            seen.add(path)
            try:
                urgent = path.parent == self.folder / URGENT_FOLDER
                outcome = self.intake.take(path, "watch", keep=True, urgent=urgent)
                if outcome.status == "failed":  # the room's trouble, not the file's: try it again later
                    retry = threading.Timer(RETRY_SECONDS, self._queue.put, (path,))
                    retry.daemon = True
                    retry.start()
                else:
                    path.unlink(missing_ok=True)
            except Exception as exc:  # never the file's name or path in the log: they may name the patient
                log.warning("watch folder: cannot take a file (%s)", type(exc).__name__)
            finally:
                seen.discard(path)
