"""The `pretrain` recipe: prepare ChestX-ray14 (once), train the 14-finding model with the same
trainer as `train`, and evaluate it on the test split beside CheXNet.

The run folder is an ordinary training run folder; its ``model.safetensors`` + ``model.json`` are
the checkpoint that ``train --init chestx14:RUN`` loads for the same architecture.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, cast

from cxr_regions.configfile import save_config
from cxr_regions.pretrain.finding_auc import evaluate_pretraining
from cxr_regions.pretrain.nih_findings import FINDING_KEYS
from cxr_regions.pretrain.prepare import prepare_nih
from cxr_regions.pretrain.prepare_config import PrepareConfig

if TYPE_CHECKING:
    from cxr_regions.training import TrainConfig


def pretrain(prepare: PrepareConfig, train_config: TrainConfig) -> Path:
    """Prepare (or reuse) the packed data, train on it, evaluate on ``test``; return the run folder.

    ``train_config.dataset`` is replaced by ``prepare.out``; everything else (architecture, init,
    devices, precision, epochs...) is used as given. The architecture and its initial weights are
    checked first, so that a missing ImageNet file is reported before an hour of packing. Under
    DDP every process runs this; only the first (global rank 0) writes the evaluation.
    """
    from lightning.pytorch.utilities.rank_zero import rank_zero_only

    from cxr_regions.models import create_model
    from cxr_regions.training import train

    create_model(
        cast(str, train_config.arch),  # resolved by TrainConfig.__post_init__
        len(FINDING_KEYS),
        train_config.init,
        train_config.weights,
        train_config.input_size,
        train_config.upsample,
    )
    prepared = prepare_nih(prepare)
    config = dataclasses.replace(train_config, dataset=prepared)
    run_dir = Path(train(config))
    if rank_zero_only.rank == 0:  # type: ignore[attr-defined]  # lightning sets .rank on the function
        save_config(prepare, run_dir / "pretrain.yaml", command="pretrain")
        evaluate_pretraining(run_dir, prepared, split="test")
    return run_dir
