"""``--freeze-backbone`` and ``--unfreeze-after``: a linear probe, then (optionally) fine-tuning.

The model freezes its own backbone (:meth:`cxr_regions.models.RegionNet.freeze_backbone`) before the
optimiser is made, so Adam holds the classifier layer only, and frozen batch norms keep their
running statistics. :class:`UnfreezeBackbone` (a Lightning ``BaseFinetuning``, which stores the
added parameter group in the checkpoint and restores it on ``--resume``) thaws the backbone at the
start of epoch ``unfreeze_after`` and adds it to the optimiser at a tenth of the head's current
learning rate, so that the pretrained features are adjusted, not overwritten.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from lightning.pytorch.callbacks import BaseFinetuning

if TYPE_CHECKING:
    from cxr_regions.training.recipe import TrainConfig

log = logging.getLogger(__name__)

BACKBONE_LR_RATIO = 0.1
"""The backbone's learning rate once thawed, as a share of the head's at that epoch."""


class UnfreezeBackbone(BaseFinetuning):
    """Thaws ``pl_module.model``'s backbone at the start of epoch ``epoch`` (counted from 0)."""

    def __init__(self, epoch: int, lr_ratio: float = BACKBONE_LR_RATIO) -> None:
        super().__init__()
        self.epoch = int(epoch)
        self.lr_ratio = float(lr_ratio)

    def freeze_before_training(self, pl_module: Any) -> None:
        pl_module.model.freeze_backbone()

    def finetune_function(self, pl_module: Any, epoch: int, optimizer: Any) -> None:
        if epoch < self.epoch:
            return
        # From epoch ``self.epoch`` on the backbone learns, also in a run resumed later (its
        # parameter group is then restored from the checkpoint, but the model was built frozen).
        params = pl_module.model.unfreeze_backbone()
        present = {id(p) for group in optimizer.param_groups for p in group["params"]}
        new = [p for p in params if id(p) not in present]
        if new:
            lr = optimizer.param_groups[0]["lr"] * self.lr_ratio
            optimizer.add_param_group({"params": new, "lr": lr})
            log.info("epoch %d: backbone unfrozen, learning rate %.3g", epoch, lr)


def frozen_record(config: TrainConfig) -> dict[str, Any] | None:
    """What a run froze, from its configuration (``model.json``'s ``frozen``, a
    :class:`~cxr_regions.contracts.run_folder.FrozenLayers`): ``None`` when every layer learned."""
    if not config.freeze_backbone:
        return None
    after = config.unfreeze_after
    return {
        "layers": "backbone (every layer but the classifier)",
        "unfreeze_after": after,
        "note": "linear probe" if after is None else f"linear probe, backbone fine-tuned from epoch {after}",
    }
