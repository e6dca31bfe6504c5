"""The LightningModule of the paper's recipe: BCE over the label logits, Adam, lr halving, val AUC.

Labels may be missing per film (NaN, from an empty manifest cell): the loss and each label's AUC
use only the films that have the label, so a missing label never counts as normal.

The epoch's validation AUCs and training loss are torchmetrics metrics: under DDP each process
keeps its own films' scores and ``compute`` gathers them, so every process gets the AUC over all of
validation.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import nn
from torchmetrics import MeanMetric
from torchmetrics.classification import MultilabelAUROC
from torchmetrics.utilities import dim_zero_cat

from cxr_regions.models import RegionNet

log = logging.getLogger(__name__)


IGNORE = -1  # a missing label (NaN) as the AUC metric's ignore_index


def auc_per_label(y_true: np.ndarray, y_score: np.ndarray) -> list[float]:
    """ROC AUC of each label column (scikit-learn) over the films that have the label (NaN labels
    are missing); NaN where those films hold only one class, or none has the label."""
    from sklearn.metrics import roc_auc_score

    aucs = []
    for j in range(y_true.shape[1]):
        known = np.isfinite(y_true[:, j])
        column = y_true[known, j]
        if column.size == 0 or column.min() == column.max():
            aucs.append(math.nan)
        else:
            aucs.append(float(roc_auc_score(column, y_score[known, j])))
    return aucs


def masked_bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy over the labels present: a missing label (NaN) adds nothing to the loss
    and its film is not counted for that label (a batch with no label at all gives 0, with grad)."""
    known = torch.isfinite(y)
    losses = nn.functional.binary_cross_entropy_with_logits(
        logits, torch.where(known, y, torch.zeros_like(y)), reduction="none"
    )
    return (losses * known).sum() / known.sum().clamp(min=1)


def mean_auc(aucs: Sequence[float]) -> float:
    """Mean over the labels with a defined AUC (NaN when none has one)."""
    finite = [a for a in aucs if not math.isnan(a)]
    return float(np.mean(finite)) if finite else math.nan


class MultilabelAUC(MultilabelAUROC):
    """Exact ROC AUC per label (torchmetrics, gathered over DDP processes in ``compute``), NaN for a
    label whose targets hold only one class, as in :func:`auc_per_label` (torchmetrics gives 0 there).
    Targets equal to :data:`IGNORE` (a missing label) are left out of that label's AUC."""

    def __init__(self, num_labels: int) -> None:
        super().__init__(num_labels=num_labels, average=None, thresholds=None, ignore_index=IGNORE)

    # one AUC per label (as MultilabelAUROC's compute), not the curve its stubs' base class returns
    def compute(self) -> torch.Tensor:  # type: ignore[override]
        from torchmetrics.functional.classification import binary_auroc

        preds, target = dim_zero_cat(self.preds), dim_zero_cat(self.target)
        aucs = torch.full((self.num_labels,), math.nan, device=preds.device)
        for j in range(self.num_labels):
            known = target[:, j] != IGNORE
            column = target[known, j]
            if (column == 1).any() and (column == 0).any():
                aucs[j] = binary_auroc(preds[known, j], column, thresholds=None).float()
        return aucs

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """``target`` may hold NaN for missing labels (float) or :data:`IGNORE` (integer)."""
        if target.is_floating_point():
            target = torch.where(torch.isfinite(target), target, torch.full_like(target, IGNORE)).long()
        super().update(preds, target)


class RegionModule(L.LightningModule):
    """Trains a :class:`RegionNet` on ``(x, y)`` batches and logs, per epoch, ``train_loss``,
    ``val_loss``, ``val_auc_<label>`` and ``val_mean_auc`` (labels with one class in validation
    are NaN and left out of the mean, with one warning)."""

    def __init__(
        self,
        model: RegionNet,
        label_names: Sequence[str],
        lr: float = 1e-3,
        lr_schedule: str = "plateau",
        lr_factor: float = 0.5,
        lr_patience: int = 1,
    ) -> None:
        super().__init__()
        if len(label_names) != model.spec.num_classes:
            raise ValueError(f"{len(label_names)} labels for a model with {model.spec.num_classes} logits")
        self.save_hyperparameters(ignore=["model"])
        self.model = model
        self.label_names = list(label_names)
        self.loss_fn = masked_bce
        self.channels_last = False
        self.val_auc = MultilabelAUC(len(self.label_names))
        self.train_loss = MeanMetric()
        self._warned_single_class = False
        self.last_val_aucs: list[float] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def on_fit_start(self) -> None:
        if self.device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
            self.channels_last = True

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x).float()

    def on_train_epoch_start(self) -> None:
        self.train_loss.reset()

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch[0], batch[1]
        loss = self.loss_fn(self._logits(x), y.float())
        self.train_loss.update(loss.detach(), weight=len(y))
        self.log("train_loss_step", loss, on_step=True, on_epoch=False, prog_bar=True, batch_size=len(y))
        return loss

    def on_validation_epoch_start(self) -> None:
        self.val_auc.reset()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch[0], batch[1]
        logits = self._logits(x)
        loss = self.loss_fn(logits, y.float())
        self.log("val_loss", loss, on_step=False, on_epoch=True, sync_dist=True, batch_size=len(y))
        self.val_auc.update(torch.sigmoid(logits).detach(), y.detach().float())

    def on_validation_epoch_end(self) -> None:
        if not self.val_auc.update_called:
            return
        aucs = [float(a) for a in self.val_auc.compute().cpu()]  # over every process's films
        self.last_val_aucs = aucs
        single = [n for n, a in zip(self.label_names, aucs, strict=True) if math.isnan(a)]
        if single and not self._warned_single_class:
            log.warning(
                "validation has no AUC for %s (no labelled film, or one class); the mean AUC leaves them out",
                ", ".join(single),
            )
            self._warned_single_class = True
        # Every rank holds the same values; sync_dist averages identical numbers (and keeps DDP quiet).
        for name, auc in zip(self.label_names, aucs, strict=True):
            self.log(f"val_auc_{name}", auc, sync_dist=True)
        self.log("val_mean_auc", mean_auc(aucs), prog_bar=True, sync_dist=True)
        if not self.trainer.sanity_checking and self.train_loss.update_called:
            self.log("train_loss", self.train_loss.compute(), sync_dist=True)
        self.val_auc.reset()

    def configure_optimizers(self) -> Any:
        hparams: Any = self.hparams  # Lightning's AttributeDict of the saved arguments
        # Frozen parameters (--freeze-backbone) stay out until they are thawed (training.finetuning).
        trainable = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trainable, lr=hparams.lr)
        if hparams.lr_schedule == "step":
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=hparams.lr_factor)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=hparams.lr_factor, patience=hparams.lr_patience
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": plateau, "monitor": "val_loss", "interval": "epoch"},
        }
