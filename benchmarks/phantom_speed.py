"""Phantom rendering speed: films per second on one core (target: >= 20 films/s at 1024 px).

    .venv/bin/python benchmarks/phantom_speed.py [--sizes 64 128 256 1024] [--films 60]

Renders films in memory with ``render_film`` (image + five masks; no files written), with OpenCV
and BLAS limited to one thread, after one warm-up film per size. A second figure times the whole
``phantom`` command per film at 1024 px (DICOM encoding, masks, reports) for a small set.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from cxr_regions.phantom import PhantomConfig, Prevalence, make_phantom, render_film, sample_truth  # noqa: E402


def films_per_second(size: int, films: int) -> tuple[float, float]:
    """(films per CPU second of this process, films per wall-clock second)."""
    prevalence = Prevalence()
    render_film(np.random.default_rng(0), sample_truth(np.random.default_rng(0)), size)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(films):
        rng = np.random.default_rng([1, i])
        render_film(rng, sample_truth(rng, prevalence), size)
    return films / (time.process_time() - cpu), films / (time.perf_counter() - wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256, 512, 1024])
    parser.add_argument("--films", type=int, default=60)
    parser.add_argument(
        "--command-films", type=int, default=20, help="films for the whole-command figure (0: skip)"
    )
    args = parser.parse_args()
    cv2.setNumThreads(1)
    print(f"render_film on one core (cv2 threads={cv2.getNumThreads()}), {args.films} films per size;")
    print("films per CPU second (what one free core does) and per wall-clock second (on this machine now)")
    for size in args.sizes:
        cpu_rate, wall_rate = films_per_second(size, args.films)
        target = ""
        if size == 1024:
            target = "  (target >= 20: met)" if cpu_rate >= 20 else "  (target >= 20: NOT met)"
        print(f"  {size:5d} px: {cpu_rate:7.1f} films/CPU-s {wall_rate:7.1f} films/s wall{target}")
    if args.command_films:
        with tempfile.TemporaryDirectory() as tmp:
            config = PhantomConfig(n=args.command_films, size=1024, seed=0, progress=False)
            cpu = time.process_time()
            make_phantom(Path(tmp) / "phantom", config)
            rate = args.command_films / (time.process_time() - cpu)
        print(f"  phantom command at 1024 px (render + DICOM + masks + reports): {rate:.1f} films/CPU-s")


if __name__ == "__main__":
    main()
