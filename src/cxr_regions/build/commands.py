"""Command-line entry point of this stage: ``cxr-regions build``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from cxr_regions.build.build_config import BuildConfig
from cxr_regions.extras import require_extra
from cxr_regions.options import cli, command, nested


@dataclass
class BuildCommand:
    """What one ``cxr-regions build`` call is given: the two tables, the folder, the settings."""

    out: Path = field(metadata=cli("Dataset folder to write (created if absent).", argument=True))
    labels: Path = field(metadata=cli("labels.csv written by `cxr-regions label`.", "--labels"))
    images: Path = field(metadata=cli("images.csv written by `cxr-regions ingest`.", "--images"))
    settings: BuildConfig = field(default_factory=BuildConfig, metadata=nested())


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    command(app, "build", BuildCommand, build)


def build(config: BuildCommand) -> None:
    """Join labels to films, split by patient, oversample, pack: a training-ready dataset folder.

    Writes manifest.csv, images.npy (uint8 N×S×S), stats.md, dataset.json, unmatched.csv, build.yaml.

    Rerun an interrupted build and it resumes its packing.
    """
    if config.settings.engine == "dask":
        require_extra("cluster", "cxr-regions build --engine dask")
    from rich.console import Console

    from cxr_regions.build.folder import build_dataset
    from cxr_regions.build.packed import open_dataset
    from cxr_regions.contracts.dataset import STATS_FILE, UNMATCHED_FILE

    console = Console()
    path = build_dataset(config.labels, config.images, config.out, config.settings)
    meta = open_dataset(path).meta
    join_counts = meta.join
    if join_counts is not None:
        console.print(
            f"joined {join_counts.matched_films} films to reports; "
            f"{join_counts.films_without_report} films without report, "
            f"{join_counts.reports_without_film} reports without film, "
            f"{join_counts.films_left_out_other} films and {join_counts.reports_left_out_other} "
            f"reports left out for other reasons (listed in {path / UNMATCHED_FILE})",
            highlight=False,
        )
    for split_name in ("train", "val", "test"):
        part = meta.counts.split(split_name)
        console.print(
            f"{split_name:>5}: {part.films} films of {part.patients} patients, "
            f"{part.epoch_draws} draws per epoch",
            highlight=False,
        )
    over = meta.oversampling
    if over is not None and over.unreachable:
        console.print(f"[yellow]could not reach --min-share for: {', '.join(over.unreachable)}[/]")
    leak = meta.leak_check.test
    if meta.leaking:
        console.print(
            f"[bold yellow]LEAKING (paper protocol):[/] {leak.sharing_source_film_with_train} of "
            f"{leak.films} test films share a source film with training, "
            f"{leak.sharing_patient_with_train} a patient",
            highlight=False,
        )
    else:
        console.print("leak check: no test or validation film shares a patient with training")
    console.print(f"dataset written to {path} (stats in {path / STATS_FILE})", highlight=False)
