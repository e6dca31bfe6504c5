"""What every result object shares: who made it, the warning it carries, its series numbers and UIDs.

UIDs derive from the film's SOP Instance UID, so sending again after a crash replaces, never
duplicates. Importing this module keeps highdicom's and openjpeg's per-object INFO lines (highdicom's
quote UIDs) out of the log unless someone asks for them by setting those loggers' levels.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from cxr_regions import regions
from cxr_regions.regions import REGION_KEYS

MANUFACTURER = "cxr-regions"
WARNING = "AI result, not for diagnosis alone"
SC_SERIES_NUMBER = 9901
SR_SERIES_NUMBER = 9902
VERDICT_SERIES_NUMBER = 9903
UID_NAMESPACE = uuid.UUID("5b0e8a52-6f49-4d6e-9a51-3c1f0c2d7e11")  # cxr-regions' own, fixed for good

for _library in ("highdicom", "openjpeg"):
    if logging.getLogger(_library).level == logging.NOTSET:
        logging.getLogger(_library).setLevel(logging.WARNING)


def result_uid(original_sop: str, what: str) -> str:
    """A UID for ``what`` ('sc', 'sr', 'sc-series', ...) of one original instance, the same every time:
    a name-based UUID (RFC 4122 version 5) under the ``2.25`` root."""
    return f"2.25.{uuid.uuid5(UID_NAMESPACE, f'{original_sop}/{what}').int}"


def calls(probabilities: Mapping[str, float], thresholds: Mapping[str, float]) -> dict[str, bool]:
    """Region -> called abnormal, by :func:`cxr_regions.regions.calls` (every region needs a probability)."""
    return regions.calls({k: float(probabilities[k]) for k in REGION_KEYS}, thresholds)
