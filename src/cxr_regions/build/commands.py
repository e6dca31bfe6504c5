"""Command-line entry point of this stage: ``cxr-regions build``."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from cxr_regions.options import ENGINE, SCHEDULER


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""

    @app.command("build")
    def build(
        out: Path = typer.Argument(..., help="Dataset folder to write (created if absent)."),
        labels: Path = typer.Option(..., "--labels", help="labels.csv written by `cxr-regions label`."),
        images: Path = typer.Option(..., "--images", help="images.csv written by `cxr-regions ingest`."),
        join: str = typer.Option(
            "accession",
            "--join",
            help="Join films to reports by `accession` (images.accession_number = labels.report_id) "
            "or by `image_id` (images.image_id = labels.report_id).",
        ),
        split: str = typer.Option("0.8,0.1,0.1", "--split", help="Train,val,test fractions."),
        seed: int = typer.Option(0, "--seed", help="Seed of the split and of the paper's augmentation."),
        min_share: float = typer.Option(
            0.2,
            "--min-share",
            help="Repeat training films of any region under this share of the epoch (thorax and "
            "diaphragm in the paper's data) until it reaches it; 0 turns oversampling off.",
        ),
        protocol: str = typer.Option(
            "clean",
            "--protocol",
            help="`clean`: split by patient, then oversample/augment training only. `paper`: the "
            "paper's leaking order (duplicate, augment offline x4.6, then split by image) — only to "
            "measure how much it inflates test results.",
        ),
        size: int = typer.Option(256, "--size", help="Side of the packed square films, in pixels."),
        resize: str = typer.Option(
            "pad", "--resize", help="Fit non-square films by `pad` (keep aspect, black bars) or `stretch`."
        ),
        workers: int = typer.Option(
            min(4, os.cpu_count() or 1), "--workers", help="Threads reading and resizing PNGs."
        ),
        engine: str = ENGINE,
        scheduler: str | None = SCHEDULER,
        views: str = typer.Option(
            "", "--views", help="Keep only these views (comma-separated, e.g. PA,AP); default all."
        ),
    ) -> None:
        """Join labels to films, split by patient, oversample, pack: a training-ready dataset folder.

        Writes manifest.csv, images.npy (uint8 N×S×S), stats.md, dataset.json, unmatched.csv, build.yaml.

        Rerun an interrupted build and it resumes its packing.
        """
        from rich.console import Console

        from cxr_regions.build.folder import BuildConfig, build_dataset
        from cxr_regions.build.packed import open_dataset
        from cxr_regions.contracts.dataset import STATS_FILE, UNMATCHED_FILE

        config = BuildConfig(
            join=join,
            split=split,
            seed=seed,
            min_share=min_share,
            protocol=protocol,
            size=size,
            resize=resize,
            workers=workers,
            engine=engine,
            scheduler=scheduler,
            views=tuple(v.strip() for v in views.split(",") if v.strip()),
        )
        console = Console()
        path = build_dataset(labels, images, out, config)
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
