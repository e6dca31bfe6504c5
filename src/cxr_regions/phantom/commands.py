"""Command-line entry point of the phantom stage: ``cxr-regions phantom OUT``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the ``phantom`` command to the ``cxr-regions`` app."""

    @app.command("phantom")
    def phantom(
        out: Path = typer.Argument(
            ..., help="Folder to write the phantom data set to (created; empty unless --overwrite)."
        ),
        n: int = typer.Option(400, "--n", help="Number of films."),
        size: int = typer.Option(1024, "--size", help="Film width and height in pixels."),
        seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives byte-identical output."),
        prevalence: str = typer.Option(
            "paper",
            "--prevalence",
            help="How often each region is abnormal: 'paper' (about 35% of films abnormal, as the paper's "
            "Table 1), 'balanced' (30% per region), and/or KEY=P items, "
            "e.g. 'lungs=0.3,heart=0.2,uncertain=0.1'.",
        ),
        preview: bool = typer.Option(
            False, "--preview", help="Also write preview.png: 16 films with their labels."
        ),
        workers: int = typer.Option(1, "--workers", help="Processes rendering films in parallel."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a phantom already in OUT."),
    ) -> None:
        """Write a synthetic chest-radiograph PHANTOM with known ground truth: DICOM files (CR/DX,
        MONOCHROME1/2, some compressed), Chinese reports (reports.csv in GB18030 + reports.xlsx),
        truth.csv, region masks and phantom.json. Phantom films are synthetic, never patient data."""
        from rich.console import Console

        from cxr_regions.phantom.make import PhantomConfig, make_phantom
        from cxr_regions.phantom.truth import Prevalence

        config = PhantomConfig(
            n=n,
            size=size,
            seed=seed,
            prevalence=Prevalence.parse(prevalence),
            preview=preview,
            workers=workers,
            overwrite=overwrite,
        )
        summary = make_phantom(out, config)
        console = Console(stderr=True)
        regions = ", ".join(f"{k} {v}" for k, v in summary.abnormal_per_region.items())
        console.print(
            f"phantom: {summary.films} films of {summary.patients} patients in {summary.out} "
            f"({summary.abnormal_films} abnormal; per region: {regions})",
            highlight=False,
        )
        if summary.preview:
            console.print(f"contact sheet: {summary.preview}", highlight=False)
