"""Size and build time of the Secondary Capture of one real film in each transfer syntax offered.

    PYTHONPATH=src .venv/bin/python benchmarks/pacs_results.py [--film ../shared/data/dicom/RG1_UNCI.dcm]

The film is read as the reading room reads it, two regions are called abnormal (their heatmaps a
smooth blob over the middle of the film) and the SC is built and written once per syntax. Prints the
film's own file size, then per syntax the SC's bytes, the seconds to build it, and the machine's load.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from pathlib import Path

import numpy as np

from cxr_regions.ingest import load_film
from cxr_regions.ingest.decode import quiet_pydicom
from cxr_regions.pacs import SC_SYNTAXES, result_objects
from cxr_regions.regions import REGION_KEYS

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--film", type=Path, default=ROOT.parent / "shared" / "data" / "dicom" / "RG1_UNCI.dcm"
    )
    args = parser.parse_args()
    import pydicom

    with quiet_pydicom():
        header = pydicom.dcmread(args.film, stop_before_pixels=True)
    film = load_film(args.film)
    yy, xx = np.mgrid[0 : film.shape[0], 0 : film.shape[1]]
    blob = np.exp(-(((yy / film.shape[0]) - 0.5) ** 2 + ((xx / film.shape[1]) - 0.5) ** 2) * 8)
    heatmaps = dict.fromkeys(REGION_KEYS, blob.astype(np.float32))
    probabilities = dict(zip(REGION_KEYS, (0.2, 0.8, 0.1, 0.9, 0.3), strict=True))  # lungs, heart called
    thresholds = dict.fromkeys(REGION_KEYS, 0.5)
    size = args.film.stat().st_size
    print(f"film {args.film.name}: {film.shape[1]} x {film.shape[0]} px, file {size:,} bytes")
    print(f"{'syntax':<20} {'SC bytes':>12} {'build s':>8}  load (1, 5, 15 min)")
    for syntax in SC_SYNTAXES:
        start = time.perf_counter()
        sc = result_objects(
            header, film, heatmaps, probabilities, thresholds, sc_syntax=syntax
        ).secondary_capture
        took = time.perf_counter() - start
        buffer = io.BytesIO()
        sc.save_as(buffer, enforce_file_format=True)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"{syntax:<20} {len(buffer.getvalue()):>12,} {took:>8.2f}  {load}")


if __name__ == "__main__":
    main()
