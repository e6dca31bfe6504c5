"""How fast `pretrain-prepare` packs ChestX-ray14, and what that means for all 112,120 films.

The official films are 1024×1024 8-bit PNGs. This script writes the 200 films of
../shared/data/nih-sample back at 1024 px (cubic upscaling) with their label file into a temporary
NIH folder, packs it at 256 px with 1 and N worker threads, and prints films/s and the projected
time for the full set. Run: .venv/bin/python benchmarks/pretrain_prepare_speed.py [--workers N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import cv2

from cxr_regions.pretrain.prepare import PrepareConfig, prepare_nih

FULL_SET = 112_120
SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nih-sample"


def make_full_size_copy(sample: Path, dest: Path, side: int) -> int:
    (dest / "images").mkdir(parents=True)
    shutil.copy(sample / "Data_Entry_2017.csv", dest / "Data_Entry_2017.csv")
    count = 0
    for png in sorted((sample / "images").glob("*.png")):
        film = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(
            str(dest / "images" / png.name), cv2.resize(film, (side, side), interpolation=cv2.INTER_CUBIC)
        )
        count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=Path(os.environ.get("CXR_NIH_SAMPLE", SAMPLE)))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--side", type=int, default=1024, help="source film size (official: 1024)")
    parser.add_argument("--size", type=int, default=256, help="packed size")
    args = parser.parse_args()
    if not (args.sample / "Data_Entry_2017.csv").is_file():
        raise SystemExit(f"NIH sample not found at {args.sample} (pass --sample)")
    with tempfile.TemporaryDirectory() as tmp:
        nih = Path(tmp) / "nih"
        films = make_full_size_copy(args.sample, nih, args.side)
        mib = sum(p.stat().st_size for p in (nih / "images").iterdir()) / films / 2**20
        print(
            f"{films} films at {args.side} px ({mib:.2f} MiB per PNG), packed at {args.size} px; "
            f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
        )
        for workers in sorted({1, args.workers}):
            out = Path(tmp) / f"packed-{workers}"
            start = time.perf_counter()
            prepare_nih(PrepareConfig(nih_dir=nih, out=out, size=args.size, workers=workers, progress=False))
            seconds = time.perf_counter() - start
            rate = films / seconds
            print(
                f"workers={workers}: {rate:.1f} films/s -> {FULL_SET:,} films in "
                f"{FULL_SET / rate / 60:.0f} min (projected)"
            )


if __name__ == "__main__":
    main()
