"""Command-line entry point of the PACS stage: ``cxr-regions pacs pull URL OUT``."""

from __future__ import annotations

import typer

from cxr_regions.extras import require_extra
from cxr_regions.options import command
from cxr_regions.pacs.pull_config import PullConfig


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    pacs_app = typer.Typer(
        help="The hospital's PACS over DICOMweb (docs/pacs-link.md).", no_args_is_help=True
    )
    app.add_typer(pacs_app, name="pacs")
    command(pacs_app, "pull", PullConfig, pull_command)


def pull_command(config: PullConfig) -> None:
    """Copy a PACS's chest films (CR/DX; laterals left out) into OUT for `ingest`.

    Rerun into the same OUT to resume: files already there are not fetched again.
    """
    require_extra("pacs", "cxr-regions pacs pull")
    from rich.console import Console

    from cxr_regions.pacs.archive_pull import pull

    summary = pull(config)
    console = Console(stderr=True, highlight=False)
    console.print(
        f"{summary.found} instance(s) found: {summary.fetched} fetched, {summary.present} already in "
        f"{config.out}, {summary.lateral} lateral left out, {len(summary.failed)} failed"
    )
    for problem in summary.failed[:10]:
        console.print(f"  not fetched: {problem}")
    if summary.failed:
        console.print("rerun the same command to fetch the failed ones")
        raise typer.Exit(1)
