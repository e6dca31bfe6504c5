"""The settings of ``pretrain-prepare`` and ``pretrain``: :class:`SplitConfig`, :class:`PrepareConfig`
and :class:`PretrainConfig`, whose fields are the commands' options. Light on imports: ``--help``
reads them."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from cxr_regions.options import ENGINE_HELP, SCHEDULER_HELP, cli, nested
from cxr_regions.training.recipe import TrainConfig

NIH_HELP = (
    "ChestX-ray14 folder in NIH's layout: Data_Entry_2017_v2020.csv (or Data_Entry_2017.csv), "
    "images/ or images_001/images/…, and train_val_list.txt + test_list.txt where present."
)


@dataclass(frozen=True)
class SplitConfig:
    """Shares of patients: ``val_fraction`` of the non-test patients; ``test_fraction`` only without lists."""

    val_fraction: float = field(
        default=0.1, metadata=cli("Share of the non-test patients held out for validation.")
    )
    test_fraction: float = field(
        default=0.2,
        metadata=cli("Share of patients for test, only where the official list files are absent."),
    )
    seed: int = field(default=0, metadata=cli("Seed of the patient-level split.", "--split-seed"))


@dataclass
class PrepareConfig:
    """How to pack a ChestX-ray14 folder: image size, workers, the split, partial downloads."""

    nih_dir: Path = field(metadata=cli(NIH_HELP, argument=True))
    out: Path = field(
        metadata=cli("Folder for the packed dataset (e.g. runs/chestx14-256px).", "-o", "--out")
    )
    size: int = field(default=256, metadata=cli("Side of the packed square films in px (as `build --size`)."))
    workers: int = field(default=4, metadata=cli("Threads decoding PNGs while packing.", "--pack-workers"))
    resize: str = field(
        default="pad", metadata=cli("pad (keep aspect ratio) or stretch, for non-square films.")
    )
    engine: str = field(default="local", metadata=cli(ENGINE_HELP))
    scheduler: str | None = field(default=None, metadata=cli(SCHEDULER_HELP))
    split: SplitConfig = field(default_factory=SplitConfig, metadata=nested())
    allow_missing: bool = field(
        default=False,
        metadata=cli(
            "Use the films present when some of the label file's films have no image (listed in missing.csv)."
        ),
    )
    progress: bool = True
    regions: bool = field(
        default=False,
        metadata=cli(
            "Label the films with the five regions mapped from NIH's findings (docs/chestx14.md): "
            "heart, lungs, diaphragm; thorax and aorta are missing (not labelled), never normal."
        ),
    )


def default_run_dir(arch: str) -> Path:
    """``runs/chestx14-<arch>`` when no ``-o`` is given (``timm:``/``hf:`` names made folder-safe)."""
    return Path("runs") / f"chestx14-{arch.replace(':', '-').replace('/', '-')}"


def default_prepared_dir(run_dir: Path, size: int) -> Path:
    """Beside the run folder, shared by the runs of every architecture: ``<parent>/chestx14-<size>px``."""
    return Path(run_dir).parent / f"chestx14-{size}px"


@dataclass
class PretrainConfig:
    """``pretrain``: the preparation (its folder defaults to beside the run) and the training on it,
    with every option of ``train`` (both generated from :class:`TrainConfig`)."""

    prepare: PrepareConfig = field(
        metadata=nested(exclude=("out", "engine", "scheduler", "regions"), out=Path())
    )
    prepared: Path | None = field(
        default=None,
        metadata=cli(
            "Packed dataset folder: used if complete, else written (or resumed) there "
            "\\[default: chestx14-SIZEpx beside the run folder, shared by every architecture]."
        ),
    )
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(dataset=Path()),
        metadata=nested(
            exclude=("dataset",), help={"out": "Run folder \\[default: runs/chestx14-ARCH]."}, dataset=Path()
        ),
    )

    def __post_init__(self) -> None:
        # ``train.arch`` is resolved by TrainConfig: --arch, else the network --init implies.
        out = self.train.out or default_run_dir(str(self.train.arch))
        self.prepared = self.prepared or default_prepared_dir(out, self.prepare.size)
        self.prepare = dataclasses.replace(self.prepare, out=self.prepared)
        self.train = dataclasses.replace(self.train, dataset=self.prepared, out=out)
