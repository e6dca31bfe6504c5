"""Stage 5, train: the paper's recipe with Lightning; run folders and exported weights.

Public API (names load on first use, so importing this package does not import torch or Lightning):

- :class:`TrainConfig`, :func:`train` — a dataset folder -> a run folder.
- :func:`load_run` -> :class:`LoadedRun`, :func:`save_model` — ``model.safetensors`` + ``model.json``.
- :func:`predict` — a run's probabilities on one split of a dataset.
- :class:`RegionModule`, :func:`auc_per_label`, :func:`mean_auc` — the LightningModule and its metric.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "config",
    "train": "trainer",
    "EpochMetricsCSV": "trainer",
    "LoadedRun": "export",
    "load_run": "export",
    "save_model": "export",
    "predict": "predict",
    "RegionModule": "module",
    "auc_per_label": "module",
    "mean_auc": "module",
}

__all__ = [
    "EpochMetricsCSV",
    "LoadedRun",
    "RegionModule",
    "TrainConfig",
    "auc_per_label",
    "load_run",
    "mean_auc",
    "predict",
    "save_model",
    "train",
]

if TYPE_CHECKING:
    from cxr_regions.training.config import TrainConfig
    from cxr_regions.training.export import LoadedRun, load_run, save_model
    from cxr_regions.training.module import RegionModule, auc_per_label, mean_auc
    from cxr_regions.training.predict import predict
    from cxr_regions.training.trainer import EpochMetricsCSV, train


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
