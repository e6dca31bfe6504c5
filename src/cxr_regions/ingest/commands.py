"""Command-line entry point of the ingest stage: ``cxr-regions ingest``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer

from cxr_regions.extras import require_extra
from cxr_regions.ingest.settings import IngestConfig
from cxr_regions.options import PROGRESS_HELP, cli, command, nested


@dataclass
class IngestCommand:
    """What one ``cxr-regions ingest`` call is given: where from, where to, and the settings."""

    dicom_dir: Path = field(
        metadata=cli("Folder tree of DICOM files (any names; DICOMDIR skipped).", argument=True)
    )
    out: Path = field(
        metadata=cli("Output folder: images/, images.csv, errors.csv, salt.txt.", argument=True)
    )
    settings: IngestConfig = field(default_factory=IngestConfig, metadata=nested())
    progress: bool = field(default=True, metadata=cli(PROGRESS_HELP, "--progress/--no-progress"))

    def validate(self) -> None:
        self.settings.validate()


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the ``cxr-regions`` app."""
    command(app, "ingest", IngestCommand, ingest_command)


def ingest_command(config: IngestCommand) -> None:
    """DICOM files -> de-identified PNGs (frontal chest films only) + images.csv + errors.csv.

    Decodes what pydicom and the pylibjpeg plugins read; applies the modality LUT and the file's window.

    Shows bone bright; resizes with area interpolation; knows patients only by a salted hash key.

    Rerun into the same OUT to resume: finished films are skipped, failed ones retried.
    """
    if config.settings.engine == "dask":
        require_extra("cluster", "cxr-regions ingest --engine dask")
    from rich.console import Console

    from cxr_regions.ingest.tree import ingest

    summary = ingest(config.dicom_dir, config.out, config.settings, progress=config.progress)
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
