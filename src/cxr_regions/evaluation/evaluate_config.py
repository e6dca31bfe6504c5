"""The settings of ``evaluate`` and ``compare`` (saved as ``config.yaml`` beside their outputs), whose
fields are the commands' options. Light on imports: ``--help`` reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cxr_regions.errors import UserError
from cxr_regions.options import cli

EVALUATED_SPLITS = ("train", "val", "test", "all")


@dataclass
class EvaluateConfig:
    """What ``evaluate`` was asked to do (saved as ``config.yaml`` in the evaluation folder)."""

    run: Path = field(metadata=cli("A run folder written by `cxr-regions train`.", argument=True))
    split: str = field(
        default="test", metadata=cli("Dataset split to score: train, val, test, or all (every film).")
    )
    out: Path | None = field(
        default=None,
        metadata=cli(
            "Evaluation folder (default: RUN/evaluation, RUN/evaluation-SPLIT, or for another "
            "data set RUN/evaluation-DATASET-SPLIT).",
            "-o",
            "--out",
        ),
    )
    dataset: Path | None = field(
        default=None,
        metadata=cli(
            "Dataset folder (default: the one the run was trained on). Another data set is an "
            "external validation: labels matched by name, the overlap reported."
        ),
    )
    n_boot: int = field(default=1000, metadata=cli("Patient bootstrap resamples for the 95% CIs."))
    seed: int = field(default=0, metadata=cli("Seed of the bootstrap."))

    def __post_init__(self) -> None:
        if self.n_boot < 1:
            raise UserError(f"--n-boot must be at least 1, got {self.n_boot}")
        if self.split not in EVALUATED_SPLITS:
            raise UserError(f"--split must be train, val, test or all, got {self.split!r}")


@dataclass
class CompareConfig:
    """What ``compare`` was asked to do (saved beside its outputs)."""

    a: Path = field(metadata=cli("Run A: a run folder, or an evaluation folder of one.", argument=True))
    b: Path = field(metadata=cli("Run B, scored on the same films.", argument=True))
    split: str = field(default="test", metadata=cli("Dataset split both runs are scored on."))
    n_boot: int = field(default=1000, metadata=cli("Paired patient bootstrap resamples."))
    seed: int = field(default=0, metadata=cli("Seed of the bootstrap."))
    dataset: Path | None = field(
        default=None, metadata=cli("Dataset folder (default: the one the runs were trained on).")
    )
    out: Path | None = field(
        default=None, metadata=cli("Folder for compare.csv / compare.md.", "-o", "--out")
    )
