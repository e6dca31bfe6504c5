"""The model's results as DICOM objects for the PACS: the entry points the reading room calls.

For one film: a Secondary Capture (:mod:`~cxr_regions.pacs.sc`: the film with the heatmaps of the
regions called abnormal and the five probabilities burned in) and a Comprehensive 3D SR holding a TID
1500 measurement report (:mod:`~cxr_regions.pacs.sr`); the radiologist's verdict is a second SR that
lists the model's among its evidence and replaces the same reader's previous verdict.

All go into the original study (its Study Instance UID and its patient and study attributes, each
validated, see :mod:`~cxr_regions.pacs.inherited`) in new series; their UIDs derive from the original
SOP Instance UID, so sending again after a crash replaces, never duplicates. What is written and where
it comes from: ``docs/dicom-conformance.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from cxr_regions.pacs.naming import result_uid
from cxr_regions.pacs.sc import DEFAULT_SC_SYNTAX, SC_SYNTAXES, secondary_capture
from cxr_regions.pacs.sr import PriorReport, model_report, verdict_report, verdict_series_uid

__all__ = [
    "DEFAULT_SC_SYNTAX",
    "SC_SYNTAXES",
    "PriorReport",
    "ResultObjects",
    "model_report",
    "result_objects",
    "result_uid",
    "verdict_report",
    "verdict_series_uid",
]


@dataclass
class ResultObjects:
    """The Secondary Capture and the SR of one film, ready for STOW-RS."""

    secondary_capture: object
    report: object


def result_objects(
    reference, film: np.ndarray, heatmaps: Mapping[str, np.ndarray], probabilities: Mapping[str, float],
    thresholds: Mapping[str, float], sc_syntax: str = DEFAULT_SC_SYNTAX,
) -> ResultObjects:  # fmt: skip
    """The SC and the SR of one film; ``reference`` is the original instance's header (pydicom
    Dataset), ``film`` the film as the model saw it (2-D uint8), ``sc_syntax`` one of
    :data:`SC_SYNTAXES` (lossless; the SC goes uncompressed where its encoder is not installed)."""
    return ResultObjects(
        secondary_capture=secondary_capture(reference, film, heatmaps, probabilities, thresholds, sc_syntax),
        report=model_report(reference, probabilities, thresholds),
    )
