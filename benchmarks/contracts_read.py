"""Reading large contract tables: ``IMAGES.read`` and ``MANIFEST.read`` (columns checked once per file)
against pandas' plain ``read_csv`` with the same text columns, and the typed rows on top.

The tables are generated here (ingest-like ids and UIDs; a manifest of five labels). The contract
read should cost about what pandas costs: its checks are per file, not per row.

    .venv/bin/python benchmarks/contracts_read.py [--rows 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cxr_regions.contracts import IMAGES, MANIFEST
from cxr_regions.regions import REGION_KEYS


def images_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ids = [f"{i:016x}" for i in rng.integers(0, 2**62, n)]
    frame = pd.DataFrame({"image_id": ids, "png_path": [f"images/{i}.png" for i in ids]})
    frame["patient_key"] = [f"{i:064x}" for i in rng.integers(0, 2**62, n)]
    for kind, number in (("study", 1), ("series", 2), ("sop", 3)):
        frame[f"{kind}_uid"] = [f"1.2.840.{number}.{i}" for i in range(n)]
    frame["accession_number"] = [f"A{i:08d}" for i in range(n)]
    frame = frame.assign(modality="CR", view="PA", rows=2048, columns=2500, bits_stored=12)
    frame = frame.assign(photometric="MONOCHROME2", pixel_spacing="0.139\\0.139")
    frame["source_path"] = [f"d/{i}.dcm" for i in range(n)]
    return frame


def manifest_table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, (n, len(REGION_KEYS)))
    frame = pd.DataFrame({"index": np.arange(n), "image_id": [f"{i:08d}" for i in range(n)]})
    frame["patient_key"] = [f"p{i // 3}" for i in range(n)]
    for j, key in enumerate(REGION_KEYS):
        frame[key] = labels[:, j]
    frame["label_string"] = ["".join(map(str, row)) for row in labels]
    frame["split"] = rng.choice(["train", "val", "test"], n, p=[0.8, 0.1, 0.1])
    frame["repeat"] = 1
    frame["source_image_id"] = frame["image_id"]
    frame["kind"] = "original"
    return frame


def best_of(repeats: int, work) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; {args.rows} rows")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        IMAGES.write(folder, images_table(args.rows))
        MANIFEST.write(folder, manifest_table(args.rows), REGION_KEYS)
        for name, table, labels in (("images.csv", IMAGES, ()), ("manifest.csv", MANIFEST, REGION_KEYS)):
            path = table.path_in(folder)
            text = dict.fromkeys(table.text_columns(labels), str)
            plain = best_of(
                args.repeats, lambda p=path, t=text: pd.read_csv(p, dtype=t, keep_default_na=False)
            )
            contract = best_of(args.repeats, lambda t=table, lb=labels: t.read(folder, lb))
            frame = table.read(folder, labels)
            typed = best_of(1, lambda t=table, f=frame, lb=labels: list(t.rows(f, lb)))
            print(
                f"{name}: pandas read_csv {plain:.3f} s, contract read {contract:.3f} s "
                f"({contract / plain:.2f}x), typed rows on top {typed:.3f} s "
                f"({args.rows / typed:,.0f} rows/s)"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
