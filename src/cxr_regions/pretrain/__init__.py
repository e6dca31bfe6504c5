"""ChestX-ray14 pretraining: the paper's third initialisation.

Public API (names load on first use, so that ``cxr-regions --help`` stays fast):

- :data:`FINDINGS`, :data:`FINDING_KEYS` — the 14 findings (keys are the label columns).
- :func:`read_nih` -> :class:`NihIndex` — a ChestX-ray14 folder in NIH's layout, read.
- :func:`assign_splits`, :class:`SplitConfig` — patient-disjoint train/val/test (official lists first).
- :func:`prepare_nih`, :class:`PrepareConfig` — pack it into a dataset folder of the ``build`` format
  (``regions=True``: labelled with the five regions, :data:`FINDING_REGION`; thorax and aorta missing).
- :func:`pretrain` — prepare, train with :func:`cxr_regions.training.train`, evaluate beside CheXNet.
- :data:`CHEXNET_AUC`, :func:`write_comparison`, :func:`evaluate_pretraining` — the reference AUCs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "FINDINGS": "nih_findings",
    "FINDING_KEYS": "nih_findings",
    "NihIndex": "nih",
    "read_nih": "nih",
    "SplitConfig": "prepare_config",
    "assign_splits": "nih_split",
    "PrepareConfig": "prepare_config",
    "PretrainConfig": "prepare_config",
    "prepare_nih": "prepare",
    "pretrain": "run",
    "CHEXNET_AUC": "chexnet",
    "write_comparison": "chexnet",
    "evaluate_pretraining": "finding_auc",
    "FINDING_REGION": "region_map",
    "UNLABELLED_REGIONS": "region_map",
    "region_labels": "region_map",
}

__all__ = [
    "CHEXNET_AUC",
    "FINDINGS",
    "FINDING_KEYS",
    "FINDING_REGION",
    "UNLABELLED_REGIONS",
    "NihIndex",
    "PrepareConfig",
    "PretrainConfig",
    "SplitConfig",
    "assign_splits",
    "evaluate_pretraining",
    "prepare_nih",
    "pretrain",
    "read_nih",
    "region_labels",
    "write_comparison",
]

if TYPE_CHECKING:
    from cxr_regions.pretrain.chexnet import CHEXNET_AUC, write_comparison
    from cxr_regions.pretrain.finding_auc import evaluate_pretraining
    from cxr_regions.pretrain.nih import NihIndex, read_nih
    from cxr_regions.pretrain.nih_findings import FINDING_KEYS, FINDINGS
    from cxr_regions.pretrain.nih_split import assign_splits
    from cxr_regions.pretrain.prepare import prepare_nih
    from cxr_regions.pretrain.prepare_config import PrepareConfig, PretrainConfig, SplitConfig
    from cxr_regions.pretrain.region_map import FINDING_REGION, UNLABELLED_REGIONS, region_labels
    from cxr_regions.pretrain.run import pretrain


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
