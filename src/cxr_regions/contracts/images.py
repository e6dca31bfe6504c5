"""``images.csv`` and ``errors.csv``: what ``ingest`` writes and ``build``, ``report``, the demo and the
reading room read (one row per film kept / per file left out), and the ingest folder's layout."""

from __future__ import annotations

from typing import Literal

from cxr_regions.contracts.core import Record, column
from cxr_regions.contracts.csv_table import Table
from cxr_regions.contracts.names import ERRORS_CSV, IMAGES_CSV

IMAGES_DIR = "images"
"""The ingest folder's PNGs at the output size: ``images/<image_id>.png``."""
FULL_DIR = "full"
"""With ``--keep-full``: the full-resolution PNGs, ``full/<image_id>.png``."""


class ImageRow(Record):
    """One film ``ingest`` kept: a row of ``images.csv``."""

    image_id: str = column(
        "Derived from a salted hash of the SOP Instance UID (``-2``, ``-3`` for later copies of one "
        "UID); safe as a file name, never a patient identifier."
    )
    png_path: str = column("The PNG, relative to the ingest folder (``images/<image_id>.png``).")
    patient_key: str = column("Salted SHA-256 of the PatientID (of the study where it has none).")
    study_uid: str = column("Study Instance UID.", optional=True, default="")
    series_uid: str = column("Series Instance UID.", optional=True, default="")
    sop_uid: str = column("SOP Instance UID.", optional=True, default="")
    accession_number: str = column(
        "Accession number: what ``build --join accession`` matches to a report's ``report_id``.",
        optional=True,
        default="",
    )
    modality: str = column("CR or DX.", optional=True, default="")
    view: str = column("PA, AP (or LL with --keep-lateral); empty where unknown.", optional=True, default="")
    rows: int = column("Rows of the original film (0 where absent).", optional=True, default=0)
    columns: int = column("Columns of the original film (0 where absent).", optional=True, default=0)
    bits_stored: int = column("Bits Stored of the original film (0 where absent).", optional=True, default=0)
    photometric: str = column("MONOCHROME1 or MONOCHROME2.", optional=True, default="")
    pixel_spacing: str = column(
        "Pixel Spacing (or Imager Pixel Spacing) in mm, ``row\\column``; empty where absent.",
        optional=True,
        default="",
    )
    source_path: str = column(
        "The file read, relative to the DICOM folder, with the patient's name and ID redacted.",
        optional=True,
        default="",
    )
    status: str | None = column(
        "Only in tables made by other means (e.g. from ``ingest_file`` rows): ``ok``, or why the film "
        "is not usable; ``build`` leaves out rows that are not ``ok``. ``ingest`` never writes it.",
        optional=True,
    )

    @property
    def ok(self) -> Literal[True]:
        """A film kept (an :class:`ErrorRow` is not)."""
        return True

    @property
    def full_png_path(self) -> str:
        """Where ``--keep-full`` (``IngestConfig.keep_full``) put the full-resolution PNG."""
        return f"{FULL_DIR}/{self.image_id}.png"


class ErrorRow(Record):
    """One file ``ingest`` left out: a row of ``errors.csv``."""

    source_path: str = column("The file, relative to the DICOM folder, redacted as in images.csv.")
    status: str = column(
        "Why: ``unreadable``, ``not_dicom``, ``decode_error``, ``no_pixels``, ``skipped_modality``, "
        "``skipped_body_part`` or ``skipped_lateral``."
    )
    message: str = column("What was found, in words.")

    @property
    def ok(self) -> Literal[False]:
        return False


IMAGES = Table(IMAGES_CSV, ImageRow, "cxr-regions ingest")
"""``images.csv``: ``IMAGES.read(path)`` (a frame), ``IMAGES.rows(frame)``, ``IMAGES.write(path, rows)``."""
ERRORS = Table(ERRORS_CSV, ErrorRow, "cxr-regions ingest")
"""``errors.csv``: every file of the DICOM folder that did not become a film, and why."""
