"""Command-line entry point of the PACS stage: ``cxr-regions pacs pull URL OUT``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    pacs_app = typer.Typer(
        help="The hospital's PACS over DICOMweb (docs/pacs-link.md).", no_args_is_help=True
    )
    app.add_typer(pacs_app, name="pacs")

    @pacs_app.command("pull")
    def pull_command(
        url: str = typer.Argument(..., help="The PACS's DICOMweb root, e.g. http://localhost:8042/dicom-web"),
        out: Path = typer.Argument(
            ..., help="Folder for the DICOM files (then `cxr-regions ingest OUT ...`)."
        ),
        since: datetime = typer.Option(
            None, "--since", formats=["%Y-%m-%d"], help="Only studies from this day on (YYYY-MM-DD)."
        ),
        query: str = typer.Option(
            "Modality=CR\\DX",
            "--query",
            help="QIDO-RS filters KEY=VALUE joined by &; \\ separates alternatives.",
        ),
        auth: str = typer.Option(None, "--pacs-auth", help="USER:PASSWORD-FILE for HTTP basic auth."),
        workers: int = typer.Option(4, "--workers", help="Retrievals at once."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ) -> None:
        """Copy a PACS's chest films (CR/DX; laterals left out) into OUT for `ingest`.

        Rerun into the same OUT to resume: files already there are not fetched again.
        """
        from rich.console import Console

        from cxr_regions.pacs.archive_pull import PullConfig, pull

        config = PullConfig(
            url=url, out=out, query=query, since=since.date() if since else None, auth=auth, workers=workers,
            progress=progress,
        )  # fmt: skip
        summary = pull(config)
        console = Console(stderr=True, highlight=False)
        console.print(
            f"{summary.found} instance(s) found: {summary.fetched} fetched, {summary.present} already in "
            f"{out}, {summary.lateral} lateral left out, {len(summary.failed)} failed"
        )
        for problem in summary.failed[:10]:
            console.print(f"  not fetched: {problem}")
        if summary.failed:
            console.print("rerun the same command to fetch the failed ones")
            raise typer.Exit(1)
