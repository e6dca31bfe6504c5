"""Every contract record, for the documentation's test and for tools that list the pipeline's files."""

from __future__ import annotations

from typing import Any

from cxr_regions.contracts.core import Document
from cxr_regions.contracts.csv_table import Table
from cxr_regions.contracts.dataset import MANIFEST, DatasetInfo
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
from cxr_regions.contracts.images import ERRORS, IMAGES
from cxr_regions.contracts.phantom_files import TRUTH
from cxr_regions.contracts.run_folder import ModelInfo, SavedConfig
from cxr_regions.contracts.verdict_export import VERDICTS

DOCUMENTS: tuple[type[Document], ...] = (DatasetInfo, ModelInfo, EvaluationInfo, CalibrationInfo, DemoSummary)
"""The JSON documents (each with a schema version)."""
TABLES: tuple[Table[Any], ...] = (
    TRUTH,
    IMAGES,
    ERRORS,
    MANIFEST,
    PREDICTIONS,
    AUC,
    THRESHOLDS,
    CALIBRATION_TABLE,
    EXPLAIN,
    LOCALISATION,
    VERDICTS,
)
"""The CSV tables."""
YAML_FILES: tuple[type[SavedConfig], ...] = (SavedConfig,)
"""The saved settings (``config.yaml``)."""
