"""Command-line entry point of the ingest stage: ``cxr-regions ingest``."""

from __future__ import annotations

from pathlib import Path

import typer

from cxr_regions.options import ENGINE, SCHEDULER


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""

    @app.command("ingest")
    def ingest_command(
        dicom_dir: Path = typer.Argument(
            ..., help="Folder tree of DICOM files (any names; DICOMDIR skipped)."
        ),
        out: Path = typer.Argument(..., help="Output folder: images/, images.csv, errors.csv, salt.txt."),
        size: int = typer.Option(256, "--size", help="Side of the square output PNGs, in pixels."),
        bit_depth: int = typer.Option(8, "--bit-depth", help="8 or 16 bits per pixel in the PNGs."),
        resize: str = typer.Option("pad", "--resize", help="pad: keep the aspect ratio, pad black; stretch."),
        workers: int = typer.Option(
            1,
            "--workers",
            help="Worker processes decoding in parallel (with --engine dask: the local cluster's).",
        ),
        salt_file: Path | None = typer.Option(
            None,
            "--salt-file",
            help="Salt shared by all exports of a hospital (default: OUT/salt.txt, made once).",
        ),
        keep_lateral: bool = typer.Option(False, "--keep-lateral", help="Also keep lateral views."),
        keep_full: bool = typer.Option(
            False, "--keep-full", help="Also write the full-resolution lossless PNG to OUT/full/."
        ),
        window: str = typer.Option(
            "auto", "--window", help="auto: the file's VOI LUT/window, else percentiles; percentile: always."
        ),
        decode: str = typer.Option(
            "auto",
            "--decode",
            help="auto: decode baseline JPEG only at the resolution the output keeps, where that is within "
            "3 grey levels of the full decode; reduced: JPEG 2000 too (about 4x faster, up to 15 grey levels "
            "off at sharp edges); exact: always in full.",
        ),
        engine: str = ENGINE,
        scheduler: str | None = SCHEDULER,
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar."),
    ) -> None:
        """DICOM files -> de-identified PNGs (frontal chest films only) + images.csv + errors.csv.

        Decodes what pydicom and the pylibjpeg plugins read; applies the modality LUT and the file's window.

        Shows bone bright; resizes with area interpolation; knows patients only by a salted hash key.

        Rerun into the same OUT to resume: finished films are skipped, failed ones retried.
        """
        from rich.console import Console

        from cxr_regions.ingest.tree import IngestConfig, ingest

        config = IngestConfig(
            size=size,
            bit_depth=bit_depth,
            resize=resize,
            workers=workers,
            salt_file=salt_file,
            keep_lateral=keep_lateral,
            keep_full=keep_full,
            window=window,
            decode=decode,
            engine=engine,
            scheduler=scheduler,
        )
        summary = ingest(dicom_dir, out, config, progress=progress)
        console = Console(stderr=True, highlight=False)
        console.print(
            f"[bold]{summary.films}[/] films of {summary.patients} patients in {summary.images_csv} "
            f"({summary.converted} converted, {summary.resumed} kept from an earlier run; "
            f"{summary.files} files read in {summary.seconds:.1f} s)"
        )
        if summary.errors:
            listed = ", ".join(f"{status} {n}" for status, n in sorted(summary.errors.items()))
            console.print(f"skipped or failed: {listed} (see {summary.errors_csv})")
        if summary.without_patient_id:
            console.print(
                f"[yellow]{summary.without_patient_id} films have no PatientID; they are keyed by study[/]"
            )
        if summary.duplicate_sop_uids:
            console.print(
                f"[yellow]{summary.duplicate_sop_uids} SOP Instance UIDs occur in more than one file; "
                "later copies got ids ending in -2, -3...[/]"
            )
