"""The embedded default after ``make demo``: ``cxr-regions serve demo-output/run`` puts the demo's
test films (its phantom DICOMs, through the same intake as an upload) and their reports on the
worklist. Idempotent: on a restart every film is recognised as a duplicate and nothing is added."""

from __future__ import annotations

import logging
from pathlib import Path

from cxr_regions.build import open_dataset
from cxr_regions.contracts import IMAGES, MANIFEST
from cxr_regions.label import read_report_texts
from cxr_regions.serve.intake import Intake

log = logging.getLogger("cxr_regions.serve")


def demo_folder(run: Path) -> Path | None:
    """The demo output folder a run folder belongs to (it holds ``demo.yaml``), if any."""
    folder = Path(run).resolve().parent
    needed = (
        folder / "demo.yaml",
        MANIFEST.path_in(folder / "dataset"),
        IMAGES.path_in(folder / "ingest"),
        folder / "phantom" / "dicom",
    )
    return folder if all(path.exists() for path in needed) else None


def seed_demo(run: Path, intake: Intake, split: str = "test") -> int:
    """Put the demo's ``split`` films on the worklist (with their reports); returns how many were new."""
    folder = demo_folder(run)
    if folder is None:
        return 0
    manifest = open_dataset(folder / "dataset").manifest
    rows = manifest[(manifest["split"] == split) & (manifest["image_id"] == manifest["source_image_id"])]
    wanted = set(rows["image_id"].astype(str))
    images = IMAGES.read(folder / "ingest")
    images = images[images["image_id"].isin(wanted)].sort_values("image_id")
    reports = folder / "phantom" / "reports.csv"
    texts = (
        read_report_texts(reports, "accession_number", ["findings", "impression"]) if reports.exists() else {}
    )
    added = 0
    for row in images.itertuples(index=False):
        path = folder / "phantom" / "dicom" / row.source_path
        if not path.is_file():
            continue
        outcome = intake.take(path, "demo", report_text=texts.get(row.accession_number), keep=True)
        added += outcome.status == "stored"
    if added:
        log.info("put %d demo %s film(s) from %s on the worklist", added, split, folder)
    return added
