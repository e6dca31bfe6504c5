"""Command-line entry points of this stage."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""

    @app.command()
    def demo(
        out: Path = typer.Option(Path("demo-output"), "-o", "--out", help="Folder for every output."),
    ) -> None:
        """Run the pipeline on embedded phantom data (stages are being added)."""
        out.mkdir(parents=True, exist_ok=True)
        typer.echo(f"cxr-regions demo: no stage is built yet; {out} is ready for the outputs.")
