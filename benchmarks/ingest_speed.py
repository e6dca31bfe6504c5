"""Ingest speed: the reduced-resolution decode against the full one, and the Dask engine against local.

Issue 18's targets: JPEG 2000 lossless -> 256-px PNG >= 4 films/s per core on RG1_J2KR; the Dask engine
on 2 local workers >= 1.8x one local worker on the uncompressed film, outputs identical. Every ratio is
measured in one run, the settings alternating so that background load hits each alike. Each ingest
reads a fresh temporary tree of N links to one file into a fresh output folder (walking, headers,
decoding, windowing, resizing, PNG writing and the tables); the hot path (one film decoded and written
in this process) is timed separately, in CPU time, which does not grow with the machine's load.
CPU seconds of an ingest are summed over this process and all its descendants (pool or cluster
workers), sampled every 0.1 s.

    .venv/bin/python benchmarks/ingest_speed.py [--copies 60] [--j2k-copies 12] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from cxr_regions.imageio import png_bytes
from cxr_regions.ingest import IngestConfig, ingest
from cxr_regions.ingest.decode import decode_display, quantise
from cxr_regions.ingest.resize import pad_square, resize_film

DATA = Path(os.environ.get("CXR_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
SALT = "benchmark-salt-0123456789abcdef" * 2


class CpuMeter:
    """CPU seconds of this process and every descendant, sampled in a thread while the block runs."""

    def __enter__(self) -> CpuMeter:
        import psutil

        self._me = psutil.Process()
        self._seen: dict[int, float] = {}
        self._base = self._sample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> float:
        for child in self._me.children(recursive=True):
            try:
                times = child.cpu_times()
                self._seen[child.pid] = times.user + times.system
            except Exception:  # the process ended between listing and reading
                pass
        own = self._me.cpu_times()
        return own.user + own.system + sum(self._seen.values())

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.seconds = self._sample() - self._base


def hot_path_cpu_ms(path: Path, reduce_for: int | None, repeats: int = 5) -> float:
    """Median CPU milliseconds to decode, window, resize and PNG-encode one film in this process."""
    import cv2

    cv2.setNumThreads(1)  # as in the workers
    cpus = []
    for _ in range(repeats):
        cpu = time.process_time()
        display, _ = decode_display(path, reduce_for=reduce_for)
        small = resize_film(display.values, 256, "pad")
        png_bytes(pad_square(quantise(small, 8, display.invert), 256), compression=3)
        cpus.append(time.process_time() - cpu)
    return 1000 * statistics.median(cpus)


def timed_ingest(
    path: Path, copies: int, config: IngestConfig, keep: Path | None = None
) -> tuple[float, float]:
    """(films/s of wall time, CPU seconds per film) for a tree of ``copies`` links to ``path``."""
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        tree = Path(tmp, "in")
        tree.mkdir()
        for i in range(copies):
            (tree / f"{i:05d}.dcm").symlink_to(path.resolve())
        out = keep or Path(tmp, "out")
        start = time.perf_counter()
        with CpuMeter() as meter:
            summary = ingest(tree, out, config, progress=False)
        seconds = time.perf_counter() - start
        if summary.films != copies:
            raise SystemExit(f"expected {copies} films, got {summary.films}: {summary.errors}")
    return copies / seconds, meter.seconds / copies


def compare(settings: dict[str, tuple], repeats: int) -> dict[str, tuple[float, float]]:
    """Median (films/s, CPU s/film) per setting, the settings alternating ``repeats`` times."""
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in settings}
    for _ in range(repeats):
        for name, args in settings.items():
            runs[name].append(timed_ingest(*args))
    medians = {}
    for name, results in runs.items():
        rate = statistics.median(r for r, _ in results)
        cpu = statistics.median(c for _, c in results)
        each = " ".join(f"{r:.1f}" for r, _ in results)
        print(f"  {name:<34} {rate:6.2f} films/s wall ({each}); {1000 * cpu:6.0f} ms CPU/film, all processes")
        medians[name] = (rate, cpu)
    return medians


def with_file_window(path: Path, folder: Path) -> Path:
    """A copy of a baseline JPEG film with a window in its header (the DCT-scaled decode needs one)."""
    import pydicom

    ds = pydicom.dcmread(path)
    ds.WindowCenter, ds.WindowWidth = 128, 256
    target = folder / f"{path.stem}_windowed.dcm"
    ds.save_as(target)
    return target


def decode_section(args: argparse.Namespace, salt: Path, scratch: Path) -> None:
    films = {
        "RG1_J2KR (JPEG 2000 lossless, 1955x1841)": (DATA / "dicom" / "RG1_J2KR.dcm", args.j2k_copies),
        "cr_chest_jpeg_mono2 (baseline JPEG, 1024x1024), file window added": (
            with_file_window(DATA / "dicom" / "cr_chest_jpeg_mono2.dcm", scratch),
            args.copies,
        ),
        "cr_chest_jpeg_mono2 as is (percentile window: decoded in full)": (
            DATA / "dicom" / "cr_chest_jpeg_mono2.dcm",
            args.copies,
        ),
    }
    for name, (path, copies) in films.items():
        print(f"\n{name}, 256-px 8-bit output, 1 worker")
        full_ms, reduced_ms = hot_path_cpu_ms(path, None), hot_path_cpu_ms(path, 256)
        print(
            f"  hot path in-process: full {full_ms:.1f} ms CPU/film, reduced {reduced_ms:.1f} ms "
            f"({full_ms / reduced_ms:.2f}x; {1000 / reduced_ms:.1f} films/s per core)"
        )
        one = {"workers": 1, "salt_file": salt}
        rates = compare(
            {
                "full decode": (path, copies, IngestConfig(decode="exact", **one)),
                "reduced decode": (path, copies, IngestConfig(decode="reduced", **one)),
            },
            args.repeats,
        )
        (full_rate, full_cpu), (reduced_rate, reduced_cpu) = rates["full decode"], rates["reduced decode"]
        print(
            f"  reduced / full: {reduced_rate / full_rate:.2f}x wall, {full_cpu / reduced_cpu:.2f}x by CPU "
            f"time; {1 / reduced_cpu:.1f} films per CPU-second"
        )


def engine_section(args: argparse.Namespace, salt: Path, scratch: Path) -> None:
    from cxr_regions.ingest.engine import local_cluster

    path = DATA / "dicom" / "RG1_UNCI.dcm"
    print(f"\nRG1_UNCI (uncompressed, 1955x1841), {args.copies} films, local pool vs Dask engine")
    start = time.perf_counter()
    with local_cluster(2) as cluster:
        print(f"  starting a 2-worker LocalCluster: {time.perf_counter() - start:.1f} s (once, not timed)")
        dask = {"engine": "dask", "scheduler": cluster.scheduler_address, "salt_file": salt}
        timed_ingest(path, 4, IngestConfig(**dask))  # the workers import their modules, as a warm cluster has
        with CpuMeter() as idle:
            time.sleep(3)
        idle_rate = idle.seconds / 3
        print(
            f"  the idle cluster (scheduler, 2 nannies, 2 workers, this meter): {idle_rate:.2f} CPU-s per s"
        )
        rates = compare(
            {
                "local, 1 worker": (path, args.copies, IngestConfig(workers=1, salt_file=salt)),
                "local, 2 workers": (path, args.copies, IngestConfig(workers=2, salt_file=salt)),
                "dask engine, 2 workers": (path, args.copies, IngestConfig(**dask)),
            },
            args.repeats,
        )
        timed_ingest(path, 8, IngestConfig(workers=2, salt_file=salt), scratch / "local")
        timed_ingest(path, 8, IngestConfig(**dask), scratch / "dask")
    (one, one_cpu), (two, two_cpu) = rates["local, 1 worker"], rates["local, 2 workers"]
    engine, engine_cpu = rates["dask engine, 2 workers"]
    print(f"  wall: dask 2 workers / local 1 worker {engine / one:.2f}x; local 2 / local 1 {two / one:.2f}x")
    print(
        f"  on 2 idle cores (CPU time, both cores busy): dask 2 / local 1 {2 * one_cpu / engine_cpu:.2f}x; "
        f"local 2 / local 1 {2 * one_cpu / two_cpu:.2f}x"
    )
    # The cluster's background CPU grows with wall time, which the machine's load stretches: take it out
    # of the per-film cost at the measured idle rate, and out of the two cores it leaves for films.
    per_film = engine_cpu - idle_rate / engine
    print(
        f"  the same, background taken out at its idle rate: {per_film * 1000:.0f} ms CPU/film; "
        f"dask 2 / local 1 {(2 - idle_rate) * one_cpu / per_film:.2f}x"
    )
    same = all(
        (scratch / "local" / name).read_bytes() == (scratch / "dask" / name).read_bytes()
        for name in ("images.csv", "errors.csv")
    ) and all(
        (scratch / "dask" / "images" / p.name).read_bytes() == p.read_bytes()
        for p in (scratch / "local" / "images").iterdir()
    )
    print(f"  outputs of local and dask runs byte-identical: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=60, help="links to the uncompressed and JPEG films")
    parser.add_argument("--j2k-copies", type=int, default=12, help="links to the JPEG 2000 film")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs per setting; median shown")
    parser.add_argument("--skip-engine", action="store_true", help="only the decode comparison")
    parser.add_argument("--skip-decode", action="store_true", help="only the engine comparison")
    args = parser.parse_args()
    for name in ("RG1_J2KR.dcm", "RG1_UNCI.dcm", "cr_chest_jpeg_mono2.dcm"):
        if not (DATA / "dicom" / name).is_file():
            raise SystemExit(
                f"{DATA / 'dicom' / name} not found: set CXR_SHARED_DATA to the shared data folder"
            )
    print(f"cpus: {os.cpu_count()}  load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        scratch = Path(tmp)
        salt = scratch / "salt.txt"
        salt.write_text(SALT + "\n")
        timed_ingest(
            DATA / "dicom" / "RG1_UNCI.dcm", 1, IngestConfig(salt_file=salt)
        )  # starts the fork server
        if not args.skip_decode:
            decode_section(args, salt, scratch)
        if not args.skip_engine:
            engine_section(args, salt, scratch)
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
