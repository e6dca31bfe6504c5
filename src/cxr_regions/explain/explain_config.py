"""The settings of ``explain`` (saved as ``config.yaml`` in the explain folder), whose fields are the
command's options. Light on imports: ``--help`` reads them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cxr_regions.errors import UserError
from cxr_regions.options import cli, comma_list
from cxr_regions.regions import DEFAULT_THRESHOLD


def region_list(values: Iterable[str] | None) -> list[str] | None:
    """``--regions heart,lungs --regions aorta`` -> ``["heart", "lungs", "aorta"]``; none -> None."""
    return list(comma_list(values)) or None


@dataclass
class ExplainConfig:
    """What ``explain`` was asked to do (saved as ``config.yaml`` in the output folder)."""

    run: Path = field(
        metadata=cli("A run folder written by `train` (model.safetensors + model.json).", argument=True)
    )
    images: list[Path] = field(
        default_factory=list,
        metadata=cli(
            "DICOM or PNG/JPEG films, or folders holding them (or use --split).",
            argument=True,
            type=list[Path] | None,
            parse=lambda values: list(values or []),
        ),
    )
    out: Path | None = field(
        default=None, metadata=cli("Output folder (default: RUN/explain).", "-o", "--out")
    )
    method: str = field(
        default="gradcam",
        metadata=cli("gradcam, gradcam++, hirescam, xgradcam, layercam, eigengradcam, scorecam."),
    )
    regions: list[str] | None = field(
        default=None,
        metadata=cli(
            "Regions to explain, comma-separated (default: every label of the model).",
            type=list[str] | None,
            parse=region_list,
        ),
    )
    masks: Path | None = field(
        default=None,
        metadata=cli("Folder of <film name>.npz region masks (a phantom's masks/): score localisation."),
    )
    frame_size: int | None = field(
        default=None,
        metadata=cli("Frame the film is resized to (default: the size the run was trained at).", "--size"),
    )
    threshold: float = field(
        default=DEFAULT_THRESHOLD,
        metadata=cli("Probability above which a region counts as predicted abnormal."),
    )
    thresholds: Path | None = field(
        default=None,
        metadata=cli("Per-region thresholds: an evaluation folder or its thresholds.csv."),
    )
    calibration: Path | None = field(
        default=None,
        metadata=cli(
            "Show calibrated probabilities: an evaluation folder or its calibration.json "
            "\\[default: the --thresholds folder's, where `evaluate` saved one]."
        ),
    )
    raw: bool = field(default=False, metadata=cli("Show the model's raw probabilities, uncalibrated."))
    reports: Path | None = field(
        default=None,
        metadata=cli("CSV with columns image, text: each film's report, shown on its panel."),
    )
    panels: bool = field(
        default=True, metadata=cli("Draw the Fig. 3 panel of each film.", "--panels/--no-panels")
    )
    split: str | None = field(
        default=None,
        metadata=cli("Explain the films of this split (e.g. test) of the run's dataset instead."),
    )
    dataset: Path | None = field(
        default=None,
        metadata=cli("The dataset folder for --split (default: the one the run was trained on)."),
    )

    def __post_init__(self) -> None:
        if bool(self.images) == bool(self.split):
            raise UserError("give either films (files or folders) or --split, not both and not neither")

    @property
    def out_dir(self) -> Path:
        """Where the outputs go: ``out``, or ``RUN/explain``."""
        return self.out if self.out is not None else Path(self.run) / "explain"
