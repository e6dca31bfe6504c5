"""The settings of ``demo`` (:class:`DemoConfig`, saved as ``demo.yaml``) and ``experiment``
(:class:`ExperimentCommand`; the grid itself is a YAML file read by ``GridConfig``), whose fields are
the commands' options. Light on imports: ``--help`` reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cxr_regions.options import cli


@dataclass
class DemoConfig:
    """What the demo makes (saved as ``demo.yaml``); the defaults fit ten minutes on two CPU cores.

    ``threads``: PyTorch threads for training and heatmaps. One is the default: on these small
    tensors a second OpenMP thread gains little, and where anything else shares the cores it makes
    each step many times slower (measured: ResNet-18, batch 5 at 64 px, forward + backward 0.17 s on
    one thread, 2.0 s on two while another job ran).
    """

    out: Path = field(default=Path("demo-output"), metadata=cli("Folder for every output.", "-o", "--out"))
    films: int = field(default=600, metadata=cli("Phantom films to make."))
    phantom_size: int = 256
    size: int = field(default=64, metadata=cli("Film size the model sees (ingest and build)."))
    prevalence: str = "balanced"
    arch: str = field(default="resnet18", metadata=cli("torchvision network (the paper's: densenet121 ...)."))
    epochs: int = field(default=12, metadata=cli("Training epochs."))
    batch_size: int = 32
    lr: float = 1e-3
    augment: bool = True
    seed: int = field(default=0, metadata=cli("Seed of the phantom, the split and the training."))
    n_boot: int = 1000
    method: str = "layercam"
    gallery: int = 16
    workers: int = field(default=2, metadata=cli("Processes for phantom rendering and ingest."))
    threads: int = field(default=1, metadata=cli("PyTorch threads (more only on an otherwise idle machine)."))
    progress: bool = True


@dataclass
class ExperimentCommand:
    """What one ``cxr-regions experiment`` call is given."""

    grid: Path = field(
        metadata=cli("Grid file (YAML): dataset, archs, inits, train settings.", argument=True)
    )
    out: Path | None = field(
        default=None,
        metadata=cli("Experiment folder (default: ./experiment-GRIDNAME).", "-o", "--out"),
    )
    paper: bool = field(default=False, metadata=cli("Put the paper's published values beside ours."))

    @property
    def out_dir(self) -> Path:
        """``out``, or ``experiment-<grid file name>`` in the working folder."""
        return self.out if self.out is not None else Path(f"experiment-{self.grid.stem}")
