"""PACS pull speed: films/s pulled (``pacs pull``, QIDO-RS + WADO-RS) from a local Orthanc and then
ingested (``ingest``), with 1 and 4 workers.

Phantom DICOM films (512 px, as ``phantom`` writes them: some JPEG 2000, most uncompressed) are stored
in a fresh Orthanc (Debian ``orthanc`` + ``orthanc-dicomweb``) on free ports; each worker count pulls into
a fresh folder and ingests that at 256 px with the same number of worker processes.

    .venv/bin/python benchmarks/pacs_pull.py [--films 60] [--workers 1 4]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def main() -> None:
    from cxr_regions.ingest import IngestConfig, ingest
    from cxr_regions.pacs import LocalOrthanc, PullConfig, pull
    from cxr_regions.pacs.orthanc import missing
    from cxr_regions.phantom import PhantomConfig, make_phantom

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    args = parser.parse_args()
    if missing():
        raise SystemExit(missing())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_phantom(folder / "phantom", PhantomConfig(n=args.films, size=512, seed=7, progress=False))
        files = [p for p in sorted((folder / "phantom" / "dicom").rglob("*")) if p.is_file()]
        rows = []
        with LocalOrthanc(folder / "orthanc") as server:
            for path in files:
                server.upload(path)
            for workers in args.workers:
                out = folder / f"pulled-{workers}"
                start = time.perf_counter()
                summary = pull(PullConfig(server.dicomweb, out, workers=workers, progress=False))
                pulled = time.perf_counter() - start
                start = time.perf_counter()
                config = IngestConfig(workers=workers)
                done = ingest(out, folder / f"ingested-{workers}", config, progress=False)
                ingested = time.perf_counter() - start
                rows.append((workers, summary.fetched, pulled, done.converted, ingested))
    cores = len(os.sched_getaffinity(0))
    load = os.getloadavg()[0]
    print(f"\n{len(files)} phantom films (512 px), {cores} CPU cores, load average {load:.1f} at the end\n")
    print("| workers | pulled | pull films/s | ingest films/s | pull + ingest films/s |")
    print("|---|---|---|---|---|")
    for workers, fetched, pulled, ingested_n, ingested in rows:
        print(
            f"| {workers} | {fetched} | {fetched / pulled:.1f} | {ingested_n / ingested:.1f} "
            f"| {fetched / (pulled + ingested):.1f} |"
        )


if __name__ == "__main__":
    main()
