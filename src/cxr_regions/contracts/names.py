"""The names of the files the contracts describe, in one place and without the records' libraries,
so that light modules (a command's settings, read by ``--help``) can name a default output."""

from __future__ import annotations

IMAGES_CSV = "images.csv"
ERRORS_CSV = "errors.csv"
DATASET_JSON = "dataset.json"
MANIFEST_CSV = "manifest.csv"
MODEL_JSON = "model.json"
CONFIG_YAML = "config.yaml"
EVALUATION_JSON = "evaluation.json"
PREDICTIONS_CSV = "predictions.csv"
AUC_CSV = "auc.csv"
THRESHOLDS_CSV = "thresholds.csv"
CALIBRATION_CSV = "calibration.csv"
CALIBRATION_JSON = "calibration.json"
EXPLAIN_CSV = "explain.csv"
LOCALISATION_CSV = "localisation.csv"
VERDICTS_CSV = "verdicts.csv"
SUMMARY_JSON = "summary.json"
TRUTH_CSV = "truth.csv"
LABELS_CSV = "labels.csv"
"""labels.csv: not in ``CONTRACT_FILES`` below (its record, :mod:`~cxr_regions.contracts.label_rows`, is a
streaming dataclass rather than a catalogued pydantic table; docs/data-contracts.md describes it by hand),
but like them opened by name only there (``tests/test_contracts_files.py``)."""

CONTRACT_FILES: tuple[str, ...] = (
    IMAGES_CSV,
    ERRORS_CSV,
    DATASET_JSON,
    MANIFEST_CSV,
    MODEL_JSON,
    CONFIG_YAML,
    EVALUATION_JSON,
    PREDICTIONS_CSV,
    AUC_CSV,
    THRESHOLDS_CSV,
    CALIBRATION_CSV,
    CALIBRATION_JSON,
    EXPLAIN_CSV,
    LOCALISATION_CSV,
    VERDICTS_CSV,
    SUMMARY_JSON,
    TRUTH_CSV,
)
"""Every file a catalogued contract record reads and writes (labels.csv aside: see ``LABELS_CSV``)."""
