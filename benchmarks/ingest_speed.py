"""Ingest speed: films per second for the uncompressed and the JPEG 2000 chest film, 1 and 2 workers.

Targets (issue 4): >= 10 films/s per worker on the uncompressed 1955x1841 film, and 2 workers
>= 1.7x one. Each measurement ingests a fresh temporary tree of N links to one file into a fresh
output folder, so it includes walking, header reading, decoding, windowing, resizing, PNG writing
and the tables; the hot path (one film decoded and written in this process) is timed separately.

    .venv/bin/python benchmarks/ingest_speed.py [--copies 60] [--j2k-copies 12] [--workers 1 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from cxr_regions.imageio import png_bytes
from cxr_regions.imaging import IngestConfig, ingest
from cxr_regions.imaging.decode import decode_display, quantise
from cxr_regions.imaging.resize import pad_square, resize_film

DATA = Path(os.environ.get("CXR_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def hot_path_ms(path: Path, repeats: int) -> tuple[float, float]:
    """Median (wall, CPU) milliseconds to decode, window, resize and PNG-encode one film here.

    CPU time is what a worker spends on an idle core; the wall time grows with the machine's load.
    """
    import cv2

    cv2.setNumThreads(1)  # as in the workers
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        display, _ = decode_display(path)
        small = resize_film(display.values, 256, "pad")
        png_bytes(pad_square(quantise(small, 8, display.invert), 256), compression=3)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return 1000 * statistics.median(walls), 1000 * statistics.median(cpus)


def films_per_second(path: Path, copies: int, workers: int) -> tuple[float, float]:
    """(films/s over the whole ingest, wall seconds) for a tree of ``copies`` links to ``path``."""
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        tree = Path(tmp, "in")
        tree.mkdir()
        for i in range(copies):
            (tree / f"{i:05d}.dcm").symlink_to(path.resolve())
        start = time.perf_counter()
        summary = ingest(tree, Path(tmp, "out"), IngestConfig(workers=workers), progress=False)
        seconds = time.perf_counter() - start
        if summary.films != copies:
            raise SystemExit(f"expected {copies} films, got {summary.films}: {summary.errors}")
    return copies / seconds, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=60, help="links to the uncompressed film")
    parser.add_argument("--j2k-copies", type=int, default=12, help="links to the JPEG 2000 film")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per setting; median shown")
    args = parser.parse_args()
    films = {"RG1_UNCI (uncompressed)": (DATA / "dicom" / "RG1_UNCI.dcm", args.copies)}
    films["RG1_J2KR (JPEG 2000)"] = (DATA / "dicom" / "RG1_J2KR.dcm", args.j2k_copies)
    for path, _ in films.values():
        if not path.is_file():
            raise SystemExit(f"{path} not found: set CXR_SHARED_DATA to the shared data folder")
    print(f"cpus: {os.cpu_count()}  load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    first, _ = films_per_second(films["RG1_UNCI (uncompressed)"][0], 1, 1)
    _, overhead = films_per_second(films["RG1_UNCI (uncompressed)"][0], 1, 1)
    print(f"first ingest in this process (starts the fork server): {1 / first:.2f} s for 1 film")
    print(f"fixed cost of an ingest once warm (1 film, 1 worker): {overhead:.2f} s")
    for name, (path, copies) in films.items():
        print(f"\n{name}, 1955x1841, 256-px 8-bit output")
        wall_ms, cpu_ms = hot_path_ms(path, 5)
        print(f"  hot path in-process: {wall_ms:.1f} ms/film wall, {cpu_ms:.1f} ms/film CPU")
        runs: dict[int, list[float]] = {w: [] for w in args.workers}
        for _ in range(args.repeats):  # alternate, so that background load hits every setting alike
            for workers in args.workers:
                runs[workers].append(films_per_second(path, copies, workers)[0])
        rates = {w: statistics.median(r) for w, r in runs.items()}
        for workers, rate in rates.items():
            each = " ".join(f"{r:.1f}" for r in runs[workers])
            print(f"  ingest, {workers} worker(s): {rate:6.1f} films/s median of {copies}-film runs ({each})")
        if 1 in rates and 2 in rates:
            print(f"  speed-up 2 vs 1 worker: {rates[2] / rates[1]:.2f}x")
            fixed = overhead  # per-run cost outside the films: pool start, walk, tables
            one, two = fixed + copies * cpu_ms / 1000, fixed + copies * cpu_ms / 2000
            print(
                f"  on 2 idle cores (estimate from CPU time and the fixed cost): {copies / one:.1f} and "
                f"{copies / two:.1f} films/s, {one / two:.2f}x"
            )
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
