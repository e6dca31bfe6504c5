"""The training configuration: the paper's recipe by default, saved resolved as ``config.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cxr_regions.errors import UserError
from cxr_regions.options import cli

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
    ``arch=None`` resolves to the network ``init`` implies (``txv:`` weights name theirs, ``hf:`` encoders
    are their own), else DenseNet-121. ``freeze_backbone`` trains the classifier layer only, until
    epoch ``unfreeze_after`` where given. ``upsample`` decides, where the weights were made for larger
    films than the crops, whether the model resizes its input to their resolution.
    ``resume``: continue from ``checkpoints/last.ckpt`` of ``out``. ``deterministic=None`` means on
    for CPU training, off on a GPU (see :func:`cxr_regions.training.trainer.resolve_deterministic`).
    """

    dataset: Path = field(metadata=cli("Dataset folder written by `cxr-regions build`.", argument=True))
    out: Path | None = field(
        default=None, metadata=cli("Run folder \\[default: runs/ARCH-INIT].", "-o", "--out")
    )
    arch: str | None = field(
        default=None,
        metadata=cli(
            "alexnet, vgg16, resnet34, densenet121 (the paper's), any torchvision classification model, or "
            "timm:NAME (e.g. timm:convnext_tiny); --init txv:NAME and hf:REPO imply their own."
            "\n\n\\[default: densenet121]"
        ),
    )
    init: str = field(
        default="imagenet",
        metadata=cli(
            "scratch, imagenet, chestx14:PATH (a `cxr-regions pretrain` run folder), txv:NAME "
            "(torchxrayvision's chest-X-ray weights, e.g. txv:densenet121-res224-nih) or hf:REPO "
            "(a transformers vision encoder, e.g. hf:microsoft/rad-dino)."
        ),
    )
    weights: Path | None = field(
        default=None,
        metadata=cli(
            "Local copy of the --init weights: torchvision's .pth or timm's .safetensors (imagenet), "
            "the file torchxrayvision downloads (txv:NAME), or a folder with config.json + "
            "model.safetensors (hf:REPO)."
        ),
    )
    freeze_backbone: bool = field(
        default=False,
        metadata=cli(
            "Train the classifier layer only (a linear probe of the pretrained backbone).",
            "--freeze-backbone",
        ),
    )
    unfreeze_after: int | None = field(
        default=None,
        metadata=cli(
            "With --freeze-backbone: from this epoch on, fine-tune the backbone too (at a tenth of the "
            "head's learning rate)."
        ),
    )
    upsample: bool | None = field(
        default=None,
        metadata=cli(
            "Weights made for larger films than the crops (e.g. txv:resnet50-res512-all on 256-px films): "
            "--upsample resizes each crop to their resolution inside the model, --no-upsample uses them "
            "at the crop's size. Required where the sizes differ; ignored elsewhere.",
            "--upsample/--no-upsample",
        ),
    )
    input_size: int | None = field(
        default=None,
        metadata=cli("Crop side \\[default: 227 AlexNet/VGG, 224 others; scaled for films ≠ 256 px]."),
    )
    epochs: int = field(default=500, metadata=cli("Maximum epochs."))
    batch_size: int = field(default=16, metadata=cli("Films per step (per device)."))
    lr: float = field(default=1e-3, metadata=cli("Adam learning rate."))
    lr_schedule: str = field(
        default="plateau",
        metadata=cli(
            "plateau: halve the lr when validation loss stops improving; step: halve it every epoch."
        ),
    )
    lr_factor: float = field(default=0.5, metadata=cli("What each lr decay multiplies it by (0.5: halving)."))
    lr_patience: int = field(default=1, metadata=cli("Epochs without val-loss gain before halving."))
    patience: int = field(default=10, metadata=cli("Early stopping: epochs without val mean AUC gain."))
    stop_at_auc: float | None = field(
        default=None, metadata=cli("Also stop as soon as the val mean AUC reaches this (quick demos).")
    )
    accelerator: str = field(default="auto", metadata=cli("Lightning accelerator: auto, cpu, gpu..."))
    devices: str | int = field(
        default="auto", metadata=cli("Lightning devices: auto, a count, or ids '0,1'.", type=str)
    )
    strategy: str = field(default="auto", metadata=cli("Lightning strategy, e.g. ddp."))
    num_nodes: int = field(default=1, metadata=cli("Machines in a multi-node run."))
    precision: str | None = field(
        default=None,
        metadata=cli("Lightning precision \\[default: bf16-mixed on GPU, 32-true on CPU]."),
    )
    seed: int = field(default=0, metadata=cli("Seed for weights, shuffling and augmentation."))
    deterministic: bool | None = field(
        default=None,
        metadata=cli(
            "Deterministic algorithms only \\[default: on for CPU training, which then repeats exactly "
            "with the same seed; off on a GPU, where it is slower and some kernels have none].",
            "--deterministic/--no-deterministic",
        ),
    )
    num_workers: int = field(default=2, metadata=cli("Data-loader worker processes."))
    augment: bool = field(
        default=True, metadata=cli("Random crop/rotation/brightness.", "--augment/--no-augment")
    )
    augment_on: str = field(
        default="auto",
        metadata=cli("Where augmentation runs: auto (device on a GPU, else workers), workers, device."),
    )
    resume: bool = field(
        default=False, metadata=cli("Continue the run in -o from its last checkpoint.", "--resume")
    )
    progress: bool = field(
        default=True, metadata=cli("Progress bar and model summary.", "--progress/--no-progress")
    )

    def __post_init__(self) -> None:
        from cxr_regions.models import default_arch

        self.dataset = Path(self.dataset)
        if self.arch is None:
            self.arch = default_arch(self.init)
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
            "--unfreeze-after": self.unfreeze_after is None or self.unfreeze_after >= 1,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise UserError(f"invalid value for {', '.join(bad)} (see `cxr-regions train --help`)")
        if self.stop_at_auc is not None and not 0.5 < self.stop_at_auc <= 1:
            raise UserError(f"--stop-at-auc must be in (0.5, 1], got {self.stop_at_auc}")
        if self.unfreeze_after is not None and not self.freeze_backbone:
            raise UserError(
                "--unfreeze-after needs --freeze-backbone (it says when the frozen backbone thaws)"
            )
        if not 0 < self.lr_factor < 1:
            raise UserError(f"the learning-rate factor must be in (0, 1), got {self.lr_factor}")

    def default_out(self) -> Path:
        """``runs/<arch>-<init kind>`` when no ``out`` is given (``timm:``/``hf:`` names made folder-safe)."""
        kind = self.init.split(":", 1)[0]
        arch = str(self.arch).replace(":", "-").replace("/", "-")
        return Path("runs") / f"{arch}-{kind}"
