"""Command-line entry point of the phantom stage: ``cxr-regions phantom OUT``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from cxr_regions.options import cli, command, nested
from cxr_regions.phantom.phantom_config import PhantomConfig


@dataclass
class PhantomCommand:
    """What one ``cxr-regions phantom`` call is given: the folder and the phantom's settings."""

    out: Path = field(
        metadata=cli(
            "Folder to write the phantom data set to (created; empty unless --overwrite).", argument=True
        )
    )
    phantom: PhantomConfig = field(default_factory=PhantomConfig, metadata=nested())


def register(app: typer.Typer) -> None:
    """Add the ``phantom`` command to the ``cxr-regions`` app."""
    command(app, "phantom", PhantomCommand, phantom_command)


def phantom_command(config: PhantomCommand) -> None:
    """Write a synthetic chest-radiograph PHANTOM with known ground truth: DICOM files (CR/DX,
    MONOCHROME1/2, some compressed), Chinese reports (reports.csv in GB18030 + reports.xlsx),
    truth.csv, region masks and phantom.json. Phantom films are synthetic, never patient data."""
    from rich.console import Console

    from cxr_regions.phantom.make import make_phantom

    summary = make_phantom(config.out, config.phantom)
    console = Console(stderr=True)
    regions = ", ".join(f"{k} {v}" for k, v in summary.abnormal_per_region.items())
    console.print(
        f"phantom: {summary.films} films of {summary.patients} patients in {summary.out} "
        f"({summary.abnormal_films} abnormal; per region: {regions})",
        highlight=False,
    )
    if summary.preview:
        console.print(f"contact sheet: {summary.preview}", highlight=False)
