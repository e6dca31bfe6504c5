"""The picture plausibility check on real radiographs: each measure's range against its limit, and its time.

Runs ``check_picture`` on the 200 NIH ChestX-ray14 films of the test data (256 px PNGs) and on the real
chest DICOMs saved as full-size PNGs, and prints per measure the minimum and maximum over the NIH films,
the limit, and the margin (how far the nearest film is from the limit, as a ratio); then the time per
picture. The machine's load is printed with the figures.

    .venv/bin/python benchmarks/ingest_picture_check.py
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from cxr_regions.ingest import PICTURE_LIMITS, check_picture, load_film

DATA = Path(os.environ.get("CXR_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
DICOMS = ("RG1_UNCI.dcm", "966_fixed.dcm", "cr_chest_jpeg_mono2.dcm", "cr_chest_jpeg_mono1.dcm")

# measure -> (limit field, "min" where the measure must stay at or above the limit)
LIMITS = {
    "short_side": ("min_side", "min"),
    "aspect": ("max_aspect", "max"),
    "colour_share": ("max_colour_share", "max"),
    "grey_range": ("min_grey_range", "min"),
    "top_level_share": ("max_top_level_share", "max"),
    "flat_share": ("max_flat_share", "max"),
    "edge_share": ("max_edge_share", "max"),
    "fine_share": ("max_fine_share", "max"),
    "periodic_share": ("max_periodic_share", "max"),
    "plane_share": ("max_plane_share", "max"),
    "fine_detail": ("min_fine_detail", "min"),
}


def table(name: str, checks: list) -> None:
    print(f"\n{name}: {sum(c.ok for c in checks)}/{len(checks)} pass")
    print(f"  {'measure':16s} {'min':>10s} {'max':>10s} {'limit':>10s}  margin")
    for measure, (field, side) in LIMITS.items():
        values = np.array([c.measures[measure] for c in checks])
        limit = getattr(PICTURE_LIMITS, field)
        nearest = values.min() if side == "min" else values.max()
        if measure == "plane_share":  # the variance a plane leaves unexplained keeps a film off the limit
            left = 1 - nearest
            margin = f"unexplained {left:.3f}: {left / (1 - limit):.1f}x the limit's {1 - limit:.2f}"
        elif side == "min":
            margin = f"{nearest / limit:.2f}x the limit" if limit else "-"
        else:
            margin = f"limit {limit / nearest:.1f}x the max" if nearest > 0 else "max 0"
        bound = ">=" if side == "min" else "<="
        print(f"  {measure:16s} {values.min():10.4g} {values.max():10.4g} {bound}{limit:8.4g}  {margin}")


def main() -> None:
    print(f"load before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    films = sorted((DATA / "nih-sample" / "images").glob("*.png"))
    start = time.process_time()
    nih = [check_picture(path) for path in films]
    per_film = (time.process_time() - start) / len(films)
    table(f"NIH ChestX-ray14, {len(films)} films, 256 px", nih)
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name in DICOMS:
            path = Path(folder) / f"{name}.png"
            cv2.imwrite(str(path), load_film(DATA / "dicom" / name))
            paths.append(path)
        start = time.process_time()
        real = [check_picture(path) for path in paths]
        per_big = (time.process_time() - start) / len(paths)
    table(f"real chest DICOMs as full-size PNGs ({', '.join(DICOMS)})", real)
    print(
        f"\nCPU time per picture (reading the file included): {per_film * 1000:.0f} ms (256 px), "
        f"{per_big * 1000:.0f} ms (1024-2128 px); load {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    main()
