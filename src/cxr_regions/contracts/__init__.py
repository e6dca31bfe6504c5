"""The files that cross stages, as typed records: shared by every stage, importing none.

Each record reads and writes its file (``Record.read(path)`` / ``record.write(path)`` for a JSON
document, ``TABLE.read(path)`` / ``TABLE.write(path, rows)`` for a CSV table, ``LABELS.read(path)`` /
``LABELS.write(path, rows)`` for labels.csv, whose rows ``label`` streams by the million);
docs/data-contracts.md describes them and is tested against them. :mod:`cxr_regions.contracts.core`
says how to add one.

The names are imported on first use (PEP 562), so that ``cxr-regions --help`` does not load pydantic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "Document": "core",
    "Record": "core",
    "Table": "csv_table",
    "ERRORS": "images",
    "FULL_DIR": "images",
    "IMAGES": "images",
    "IMAGES_DIR": "images",
    "ErrorRow": "images",
    "ImageRow": "images",
    "MANIFEST": "dataset",
    "SPLITS": "dataset",
    "DatasetInfo": "dataset",
    "ManifestRow": "dataset",
    "AUC": "evaluation_files",
    "CALIBRATION_TABLE": "evaluation_files",
    "PREDICTIONS": "evaluation_files",
    "THRESHOLDS": "evaluation_files",
    "CalibrationInfo": "evaluation_files",
    "EvaluationInfo": "evaluation_files",
    "EXPLAIN": "explain_files",
    "LOCALISATION": "explain_files",
    "DemoSummary": "demo_summary",
    "TRUTH": "phantom_files",
    "LABELS": "label_rows",
    "Evidence": "label_rows",
    "LabelRow": "label_rows",
    "LabelsWriter": "label_rows",
    "VERDICTS": "verdict_export",
    "VerdictRow": "verdict_export",
    "WEIGHTS_FILE": "run_folder",
    "ModelInfo": "run_folder",
    "Provenance": "run_folder",
    "FrozenLayers": "run_folder",
    "SavedConfig": "run_folder",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    # ruff: noqa: F401
    from cxr_regions.contracts.core import Document, Record
    from cxr_regions.contracts.csv_table import Table
    from cxr_regions.contracts.dataset import MANIFEST, SPLITS, DatasetInfo, ManifestRow
    from cxr_regions.contracts.demo_summary import DemoSummary
    from cxr_regions.contracts.evaluation_files import (
        AUC,
        CALIBRATION_TABLE,
        PREDICTIONS,
        THRESHOLDS,
        CalibrationInfo,
        EvaluationInfo,
    )
    from cxr_regions.contracts.explain_files import EXPLAIN, LOCALISATION
    from cxr_regions.contracts.images import ERRORS, FULL_DIR, IMAGES, IMAGES_DIR, ErrorRow, ImageRow
    from cxr_regions.contracts.label_rows import LABELS, Evidence, LabelRow, LabelsWriter
    from cxr_regions.contracts.phantom_files import TRUTH
    from cxr_regions.contracts.run_folder import (
        WEIGHTS_FILE,
        FrozenLayers,
        ModelInfo,
        Provenance,
        SavedConfig,
    )
    from cxr_regions.contracts.verdict_export import VERDICTS, VerdictRow
