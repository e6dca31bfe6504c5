"""Stage 5, evaluate: AUCs with patient-bootstrap intervals, model comparison, the Table 2 grid.

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
    "EvaluationResult": "evaluate",
    "default_evaluation_dir": "evaluate",
    "evaluate_run": "evaluate",
    "read_evaluation": "evaluate",
    "score_predictions": "evaluate",
    "compare_predictions": "compare",
    "compare_runs": "compare",
    "ExperimentResult": "experiment",
    "GridConfig": "experiment",
    "load_grid": "experiment",
    "run_experiment": "experiment",
    "CellOutcome": "table2",
    "write_table2": "table2",
    "paper_auc": "paper_table2",
}

__all__ = [
    "AucResult",
    "CellOutcome",
    "EvaluationResult",
    "ExperimentResult",
    "GridConfig",
    "OperatingPoint",
    "auc_with_ci",
    "aucs_with_ci",
    "bootstrap_aucs",
    "compare_predictions",
    "compare_runs",
    "default_evaluation_dir",
    "evaluate_run",
    "load_grid",
    "paper_auc",
    "read_evaluation",
    "run_experiment",
    "score_predictions",
    "write_table2",
    "youden_threshold",
]

if TYPE_CHECKING:
    from cxr_regions.evaluation.compare import compare_predictions, compare_runs
    from cxr_regions.evaluation.evaluate import (
        EvaluationResult,
        default_evaluation_dir,
        evaluate_run,
        read_evaluation,
        score_predictions,
    )
    from cxr_regions.evaluation.experiment import ExperimentResult, GridConfig, load_grid, run_experiment
    from cxr_regions.evaluation.metrics import (
        AucResult,
        OperatingPoint,
        auc_with_ci,
        aucs_with_ci,
        bootstrap_aucs,
        youden_threshold,
    )
    from cxr_regions.evaluation.paper_table2 import paper_auc
    from cxr_regions.evaluation.table2 import CellOutcome, write_table2


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
