"""The training configuration: the paper's recipe by default, saved resolved as ``config.yaml``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cxr_regions.errors import UserError

LR_SCHEDULES: tuple[str, ...] = ("plateau", "step")


@dataclass
class TrainConfig:
    """One training run (``cxr-regions train``).

    Recipe (paper §3): unweighted BCE over the label logits, Adam with ``lr`` 1e-3, batch 16, the
    learning rate halved (``lr_factor``) when the validation loss has not improved for
    ``lr_patience`` epochs (``lr_schedule="plateau"``) or after every epoch (``"step"``, the other
    reading of the paper), up to 500 epochs, early stopping on validation mean AUC after
    ``patience`` epochs without improvement. ``stop_at_auc`` also stops as soon as the validation
    mean AUC reaches it (for quick demos and tests; ``None``: never).

    ``input_size``: the crop side; ``None`` scales the paper's size (227/224 of 256) to the dataset's
    film size. ``devices``/``accelerator``/``strategy``/``num_nodes``/``precision`` go to
    Lightning's ``Trainer`` unchanged; ``precision=None`` means bf16-mixed on a GPU, 32-bit on CPU.
    ``resume``: continue from ``checkpoints/last.ckpt`` of ``out``.
    """

    dataset: Path
    out: Path | None = None
    arch: str = "densenet121"
    init: str = "imagenet"
    weights: Path | None = None
    input_size: int | None = None
    epochs: int = 500
    batch_size: int = 16
    lr: float = 1e-3
    lr_schedule: str = "plateau"
    lr_factor: float = 0.5
    lr_patience: int = 1
    patience: int = 10
    stop_at_auc: float | None = None
    accelerator: str = "auto"
    devices: str | int = "auto"
    strategy: str = "auto"
    num_nodes: int = 1
    precision: str | None = None
    seed: int = 0
    num_workers: int = 2
    augment: bool = True
    augment_on: str = "auto"
    resume: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        self.dataset = Path(self.dataset)
        if self.out is not None:
            self.out = Path(self.out)
        if self.weights is not None:
            self.weights = Path(self.weights)
        if self.lr_schedule not in LR_SCHEDULES:
            raise UserError(
                f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, got {self.lr_schedule!r}"
            )
        checks = {
            "--epochs": self.epochs >= 1,
            "--batch-size": self.batch_size >= 1,
            "--lr": self.lr > 0,
            "--patience": self.patience >= 0,
            "--lr-patience": self.lr_patience >= 0,
            "--num-nodes": self.num_nodes >= 1,
            "--num-workers": self.num_workers >= 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise UserError(f"invalid value for {', '.join(bad)} (see `cxr-regions train --help`)")
        if self.stop_at_auc is not None and not 0.5 < self.stop_at_auc <= 1:
            raise UserError(f"--stop-at-auc must be in (0.5, 1], got {self.stop_at_auc}")
        if not 0 < self.lr_factor < 1:
            raise UserError(f"the learning-rate factor must be in (0, 1), got {self.lr_factor}")

    def default_out(self) -> Path:
        """``runs/<arch>-<init kind>`` when no ``out`` is given."""
        kind = self.init.split(":", 1)[0]
        return Path("runs") / f"{self.arch}-{kind}"
