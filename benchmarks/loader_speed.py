"""Training-batch throughput of RegionDataModule from a packed array, on this machine's CPU.

Builds a synthetic packed dataset (256×256 films), then times full training batches (random crop to
224 + rotation within ±15° + brightness/contrast, batch 64) as the model would receive them:

- ``workers``: augmentation in N data-loader worker processes (the CPU path; target ≥ 2,000 films/s
  with 2 workers);
- ``device``: workers only slice uint8 films and the whole batch is augmented in one ``grid_sample``
  in the main process (the GPU path, here run on the CPU for reference).

Usage: ``python benchmarks/loader_speed.py [--films 4096] [--workers 2] [--batches 60]``.
Figures depend on the machine and on what else runs on it: say so when you quote them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cxr_regions.build import BuildConfig, RegionDataModule, build_from_arrays
from cxr_regions.regions import REGION_KEYS


def make_dataset(folder: Path, films: int, size: int) -> Path:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size]
    base = (127 + 100 * np.sin(xx / 17.0) * np.cos(yy / 23.0)).astype(np.uint8)
    images = np.repeat(base[None], films, axis=0)
    images[:, ::7, ::5] = rng.integers(0, 256, size=images[:, ::7, ::5].shape, dtype=np.uint8)
    table = pd.DataFrame(
        {
            "image_id": [f"f{i}" for i in range(films)],
            "patient_key": [f"p{i // 2}" for i in range(films)],
            **{k: (rng.random(films) < 0.25).astype(int) for k in REGION_KEYS},
        }
    )
    config = BuildConfig(size=size, split=(0.98, 0.01, 0.01), min_share=0.0, progress=False)
    return build_from_arrays(folder / "ds", images, table, config)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def child_pids() -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{os.getpid()}/task").glob("*"):
        with contextlib.suppress(OSError):
            pids += [int(p) for p in (task / "children").read_text().split()]
    return pids


def measure(dm: RegionDataModule, batches: int, warmup: int = 5) -> tuple[float, float, float]:
    """Films per second over ``batches`` model-ready batches after ``warmup`` ones, and the CPU time
    per film (µs) spent in the worker processes and in the main process."""
    loader = dm.train_dataloader()
    seen, start = 0, 0.0
    workers: dict[int, float] = {}
    main_cpu = 0.0
    while True:
        for i, batch in enumerate(loader):
            x, _ = dm.device_transform(batch, train=True)
            assert x.dtype == torch.float32 and x.shape[-1] == dm.crop_size
            if i == warmup - 1 and start == 0.0:
                workers = {pid: cpu_seconds(pid) for pid in child_pids()}
                main_cpu = cpu_seconds(os.getpid())
                start = time.perf_counter()
            elif start:
                seen += len(x)
                if seen >= batches * dm.batch_size:
                    wall = time.perf_counter() - start
                    worker_cpu = sum(cpu_seconds(pid) - t for pid, t in workers.items())
                    main_cpu = cpu_seconds(os.getpid()) - main_cpu
                    return seen / wall, worker_cpu / seen * 1e6, main_cpu / seen * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--films", type=int, default=4096)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--crop", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=60)
    args = parser.parse_args()
    torch.set_num_threads(1)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"CPU cores: {os.cpu_count()}, load average (1 min) before: {load:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        path = make_dataset(Path(tmp), args.films, args.size)
        for mode, workers in (("workers", args.workers), ("workers", 0), ("device", args.workers)):
            dm = RegionDataModule(
                path, crop_size=args.crop, batch_size=args.batch_size, num_workers=workers, augment_on=mode
            )
            rate, worker_us, main_us = measure(dm, args.batches)
            where = "grid_sample on the CPU batch" if mode == "device" else "cv2.warpAffine per film"
            usable = min(os.cpu_count() or 1, workers + 1)
            print(
                f"augment_on={mode:<7} workers={workers}: {rate:6.0f} films/s; CPU per film: workers "
                f"{worker_us:4.0f} µs + main {main_us:4.0f} µs -> on {usable} free core(s) "
                f"≈{usable * 1e6 / (worker_us + main_us):5.0f} films/s ({where})"
            )
    print(
        f"(training views: crop {args.crop} from {args.size} + rotation ±15° + brightness/contrast, "
        f"batch {args.batch_size}, as float32 B×1×{args.crop}×{args.crop})"
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average (1 min) after: {load:.1f}")


if __name__ == "__main__":
    main()
