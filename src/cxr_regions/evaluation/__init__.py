"""Stage 6, evaluate: AUCs with patient-bootstrap intervals, model comparison, Table 2 from scored cells.

Calibration (``load_calibration(EVAL_DIR).apply(probs)``: the temperatures ``evaluate`` fitted on
validation, for ``explain``, the HTML report and the reading room) and external validation
(``evaluate RUN --dataset OTHER``, labels matched by name) are here too.

Only scorers and their tables: the workflows that train models to score them (``experiment``,
``demo``) are in :mod:`cxr_regions.workflows`.

The public names below are imported on first use (PEP 562), so that ``cxr-regions --help``, which
imports this package, does not load scikit-learn, pandas and matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "AucResult": "metrics",
    "OperatingPoint": "metrics",
    "auc_with_ci": "metrics",
    "aucs_with_ci": "metrics",
    "bootstrap_aucs": "metrics",
    "youden_threshold": "metrics",
    "EVALUATION_FILE": "assess",
    "EvaluationResult": "assess",
    "default_evaluation_dir": "assess",
    "evaluate_run": "assess",
    "read_evaluation": "assess",
    "score_predictions": "assess",
    "Calibration": "calibration",
    "CALIBRATION_FILE": "calibration",
    "fit_calibration": "calibration",
    "load_calibration": "calibration",
    "label_overlap": "external",
    "MIN_RELIABLE_POSITIVES": "metrics",
    "compare_predictions": "compare",
    "compare_runs": "compare",
    "CellOutcome": "table2",
    "write_table2": "table2",
    "INITS": "paper_table2",
    "Init": "paper_table2",
    "arch_name": "paper_table2",
    "init_name": "paper_table2",
    "paper_auc": "paper_table2",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    # ruff: noqa: F401
    from cxr_regions.evaluation.assess import (
        EVALUATION_FILE,
        EvaluationResult,
        default_evaluation_dir,
        evaluate_run,
        read_evaluation,
        score_predictions,
    )
    from cxr_regions.evaluation.calibration import (
        CALIBRATION_FILE,
        Calibration,
        fit_calibration,
        load_calibration,
    )
    from cxr_regions.evaluation.compare import compare_predictions, compare_runs
    from cxr_regions.evaluation.external import label_overlap
    from cxr_regions.evaluation.metrics import (
        MIN_RELIABLE_POSITIVES,
        AucResult,
        OperatingPoint,
        auc_with_ci,
        aucs_with_ci,
        bootstrap_aucs,
        youden_threshold,
    )
    from cxr_regions.evaluation.paper_table2 import INITS, Init, arch_name, init_name, paper_auc
    from cxr_regions.evaluation.table2 import CellOutcome, write_table2


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
