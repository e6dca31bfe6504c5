"""Packing films into one uint8 N×S×S ``.npy`` array, so that training reads memory, not PNGs.

``pack_images`` reads PNGs (or JPEGs) of any size and bit depth, fits each into S×S with
``cxr_regions.ingest.fit_square`` (``pad``: keep the aspect ratio and pad with black; ``stretch``:
resize both sides; a film already S×S is stored exactly), and writes them in the given order.
It is resumable: rows are written into ``.<name>.partial.npy`` and recorded in a ``done`` mask that is
saved as it goes, so an interrupted run picks up where it stopped; the array gets its final name only
when complete. Reading runs in threads (OpenCV releases the GIL while decoding and resizing), or with
``engine="dask"`` on a Dask cluster's workers (``cxr_regions.ingest``'s engine), which send the fitted
rows back to be written here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from cxr_regions.errors import UserError
from cxr_regions.fileio import atomic_path, write_json
from cxr_regions.ingest import RESIZE_MODES, fit_square, open_engine
from cxr_regions.progress import progress_bar

if TYPE_CHECKING:
    from cxr_regions.ingest.engine import DaskWorkers
    from cxr_regions.ingest.workers import Workers

__all__ = ["CHUNK", "RESIZE_MODES", "fit_square", "pack_images", "read_gray", "write_array"]

CHUNK = 128


def read_gray(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as 2-D uint8 grayscale (16-bit keeps its high byte; colour is converted)."""
    read = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if read is None:
        reason = "file not found" if not Path(path).exists() else "not a readable image"
        raise UserError(f"cannot read image {path}: {reason}; fix or remove it and run again")
    data: np.ndarray = read
    if data.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if data.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        data = cv2.cvtColor(data, code)
    if data.dtype == np.uint16:
        data = (data >> 8).astype(np.uint8)
    elif data.dtype != np.uint8:
        raise UserError(f"{path}: unsupported pixel type {data.dtype}; expected 8- or 16-bit grayscale")
    return data


def _job_digest(sources: Sequence[Path], size: int, resize: str) -> str:
    digest = hashlib.sha256(f"{size}\n{resize}\n{len(sources)}\n".encode())
    for source in sources:
        digest.update(str(source).encode("utf-8", "surrogateescape") + b"\n")
    return digest.hexdigest()


def pack_images(
    sources: Sequence[str | os.PathLike[str]],
    out_npy: str | os.PathLike[str],
    size: int,
    workers: int = 1,
    resize: str = "pad",
    progress: bool = True,
    engine: str = "local",
    scheduler: str | None = None,
) -> Path:
    """Pack image files, in the given order, into a uint8 N×size×size ``.npy`` (read with ``mmap_mode="r"``).

    ``engine="dask"`` reads and fits the films on a Dask cluster (``scheduler``, or a local one of
    ``workers`` processes); the array is the same.

    Resumable (an interrupted run continues) and idempotent (an identical finished pack is kept).
    A file that cannot be read stops the run with its path; rows done so far are kept for the rerun.
    """
    if resize not in RESIZE_MODES:
        raise UserError(f"resize must be one of {', '.join(RESIZE_MODES)}, got {resize!r}")
    if size < 1:
        raise UserError(f"size must be positive, got {size}")
    paths = [Path(s) for s in sources]
    out = Path(out_npy)
    out.parent.mkdir(parents=True, exist_ok=True)
    job_path = out.with_name(out.name + ".pack.json")
    partial = out.with_name(f".{out.name}.partial.npy")
    done_path = out.with_name(f".{out.name}.done.npy")
    job = {"digest": _job_digest(paths, size, resize), "count": len(paths), "size": size, "resize": resize}
    previous = json.loads(job_path.read_text()) if job_path.is_file() else None
    if out.is_file() and previous == {**job, "complete": True}:
        return out
    resuming = previous == {**job, "complete": False} and partial.is_file() and done_path.is_file()
    if resuming:
        array = np.lib.format.open_memmap(partial, mode="r+")
        done = np.load(done_path)
    else:
        write_json(job_path, {**job, "complete": False})
        array = np.lib.format.open_memmap(partial, mode="w+", dtype=np.uint8, shape=(len(paths), size, size))
        done = np.zeros(len(paths), dtype=bool)

    todo = np.flatnonzero(~done)
    chunks = [todo[i : i + CHUNK] for i in range(0, len(todo), CHUNK)]
    pool: ThreadPoolExecutor | Workers | DaskWorkers
    if engine == "local":
        pool, work = (
            ThreadPoolExecutor(max(1, workers)),
            functools.partial(_pack_chunk, array, paths, size, resize),
        )
    else:
        pool, work = (
            open_engine(engine, max(1, workers), scheduler),
            functools.partial(_fit_chunk, paths, size, resize),
        )
    with progress_bar(progress) as bar, pool:
        task = bar.add_task(f"packing {out.name}", total=len(paths), completed=int(done.sum()))
        if isinstance(pool, ThreadPoolExecutor):  # engine "local"
            results = pool.map(work, chunks)
        else:
            results = _write_rows(array, pool.run(work, chunks))
        try:
            for n, finished in enumerate(results, start=1):
                done[finished] = True
                bar.advance(task, len(finished))
                if n % 8 == 0:
                    _save_progress(array, done, done_path)
        finally:
            _save_progress(array, done, done_path)
    del work, array
    os.replace(partial, out)
    done_path.unlink()
    write_json(job_path, {**job, "complete": True})
    return out


def _pack_chunk(
    array: np.ndarray, paths: list[Path], size: int, resize: str, indices: np.ndarray
) -> np.ndarray:
    for i in indices:
        array[i] = fit_square(read_gray(paths[i]), size, resize)
    return indices


def _fit_chunk(paths: list[Path], size: int, resize: str, indices: np.ndarray) -> np.ndarray:
    """The chunk's rows, fitted (on a cluster worker: sent back rather than written into the array)."""
    return np.stack([fit_square(read_gray(paths[i]), size, resize) for i in indices])


def _write_rows(array: np.ndarray, finished) -> Iterator[np.ndarray]:
    """Write each chunk a cluster worker sends back; yield its indices as the threads' chunks do."""
    for indices, rows in finished:
        if not isinstance(rows, np.ndarray):
            first, last = int(indices[0]), int(indices[-1])
            raise UserError(
                f"packing films {first}..{last} crashed the cluster's workers; run again to retry"
            )
        array[indices] = rows
        yield indices


def _save_progress(array: np.memmap, done: np.ndarray, done_path: Path) -> None:
    array.flush()
    with atomic_path(done_path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, done)


def write_array(
    out_npy: str | os.PathLike[str],
    count: int,
    size: int,
    fill: Callable[[int], np.ndarray],
    progress: bool = True,
    label: str = "writing images",
) -> Path:
    """Write a uint8 count×size×size ``.npy`` atomically, row ``i`` being ``fill(i)``."""
    out = Path(out_npy)
    with atomic_path(out) as tmp, progress_bar(progress) as bar:
        array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(count, size, size))
        task = bar.add_task(label, total=count)
        for i in range(count):
            array[i] = fill(i)
            if i % CHUNK == CHUNK - 1 or i == count - 1:
                bar.update(task, completed=i + 1)
        array.flush()
        del array
    return out
