"""Workflows that train models and run the stages for you: ``experiment`` (train and evaluate every
network × initialisation of a grid, then Table 2) and ``demo`` (every stage on a phantom).

They sit above the pipeline's stages and call only their public names; the stages themselves
(``evaluation`` included) hold no training loops of their own. The names load on first use (PEP
562), so that ``cxr-regions --help`` does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "DemoConfig": "workflow_config",
    "DemoResult": "demo",
    "run_demo": "demo",
    "ExperimentResult": "experiment",
    "GridConfig": "experiment",
    "load_grid": "experiment",
    "run_experiment": "experiment",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    # ruff: noqa: F401
    from cxr_regions.workflows.demo import DemoResult, run_demo
    from cxr_regions.workflows.experiment import ExperimentResult, GridConfig, load_grid, run_experiment
    from cxr_regions.workflows.workflow_config import DemoConfig
