"""The files of a film beside its display PNG, and what intake keeps with a DICOM film for the viewer.

- ``films/<image_id>.full16.png``: the film at its own bit depth (``ingest.full_depth``), its header in
  the database; made by ingest when intake takes the film.
- ``previews/<image_id>.jpg``: for films of ``PREVIEW_FROM`` pixels or more, a downscaled first frame
  (the display PNG, longest side ``PREVIEW_SIDE``) the viewer shows at once while the full film loads;
  made on first request or when the model has read the film, then kept.

A DICOM film is urgent where its Requested Procedure Priority (top level or in the Request Attributes
Sequence) is one of ``URGENT_PRIORITIES``; uploads and the watch folder may say so too.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import cv2
from pydicom import dcmread

from cxr_regions.fileio import write_bytes
from cxr_regions.ingest import FULL_DEPTH_DIR, shifted_study_day

FULL_DEPTH_SUFFIX = ".full16.png"
PREVIEW_DIR = "previews"
PREVIEW_FROM = 2000
PREVIEW_SIDE = 1024
PREVIEW_QUALITY = 90
URGENT_PRIORITIES = ("STAT", "HIGH")
_preview_lock = threading.Lock()


def urgent_by_header(ds: Any) -> bool:
    """Whether the DICOM header asks for the film to be read first (Requested Procedure Priority)."""
    items = [ds, *(ds.get("RequestAttributesSequence", None) or [])]
    priorities = [str(i.get("RequestedProcedurePriority", "") or "").strip().upper() for i in items]
    return any(p in URGENT_PRIORITIES for p in priorities)


def dicom_extras(out: Path, row: Any, dicom: Path, salt: bytes, urgent: bool) -> dict[str, Any]:
    """What intake stores beside ingest's row for a DICOM film taken with ``full_depth=True``: the
    full-depth PNG (``full_depth``, a path under ``out``, or None for a colour film) and its header
    (``depth``), the salted patient key, the per-patient shifted study day, and ``urgent``. ``row``:
    ingest's :class:`~cxr_regions.contracts.ImageRow` of the film."""
    png = Path(out) / FULL_DEPTH_DIR / f"{row.image_id}.png"
    header = json.loads(png.with_suffix(".json").read_text("utf-8")) if png.is_file() else None
    ds = dcmread(dicom, stop_before_pixels=True, force=True)
    key = row.patient_key or None
    return {
        "full_depth": png if header is not None else None,
        "depth": header,
        "patient_key": key,
        "study_day": shifted_study_day(salt, key, str(ds.get("StudyDate", "") or "")) if key else None,
        "urgent": bool(urgent) or urgent_by_header(ds),
    }


def needs_preview(width: int, height: int) -> bool:
    """Whether a film is large enough to be shown first as a downscaled frame."""
    return max(width, height) >= PREVIEW_FROM


def preview_file(data: Path, image_id: str, display_png: Path) -> Path:
    """The film's downscaled first frame, made from its display PNG on first use (atomically)."""
    path = Path(data) / PREVIEW_DIR / f"{image_id}.jpg"
    if path.exists():
        return path
    with _preview_lock:
        if not path.exists():
            image = cv2.imread(str(display_png), cv2.IMREAD_UNCHANGED)
            if image is None:
                raise FileNotFoundError(f"display PNG of {image_id} cannot be read")
            scale = PREVIEW_SIDE / max(image.shape[:2])
            size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
            small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1 else image
            ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, PREVIEW_QUALITY])
            if not ok:
                raise ValueError("JPEG encoding failed")
            write_bytes(path, buf.tobytes())
    return path
