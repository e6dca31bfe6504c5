"""Stage 5, train: the paper's recipe with Lightning; run folders and exported weights.

Public API (names load on first use, so importing this package does not import torch or Lightning):

- :class:`TrainConfig`, :func:`train` — a dataset folder -> a run folder.
- :func:`load_run` -> :class:`LoadedRun`, :func:`save_model` — ``model.safetensors`` + ``model.json``.
- :func:`predict` — a run's probabilities on one split of a dataset.
- :func:`read_provenance` — where a run's starting weights came from (for ``serve``'s pages).
- :class:`RegionModule`, :func:`auc_per_label`, :func:`mean_auc`, :func:`masked_bce` — the
  LightningModule, its metric and its loss (both over the labelled films: NaN labels are missing).
- :func:`write_model_card` — ``MODEL_CARD.md`` in a run folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "recipe",
    "train": "trainer",
    "EpochMetricsCSV": "trainer",
    "LoadedRun": "export",
    "load_run": "export",
    "save_model": "export",
    "read_provenance": "export",
    "predict": "prediction",
    "RegionModule": "module",
    "auc_per_label": "module",
    "mean_auc": "module",
    "masked_bce": "module",
    "write_model_card": "model_card",
}

__all__ = [
    "EpochMetricsCSV",
    "LoadedRun",
    "RegionModule",
    "TrainConfig",
    "auc_per_label",
    "load_run",
    "masked_bce",
    "mean_auc",
    "predict",
    "read_provenance",
    "save_model",
    "train",
    "write_model_card",
]

if TYPE_CHECKING:
    from cxr_regions.training.export import LoadedRun, load_run, read_provenance, save_model
    from cxr_regions.training.model_card import write_model_card
    from cxr_regions.training.module import RegionModule, auc_per_label, masked_bce, mean_auc
    from cxr_regions.training.prediction import predict
    from cxr_regions.training.recipe import TrainConfig
    from cxr_regions.training.trainer import EpochMetricsCSV, train


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
