"""``pacs pull``'s settings: apart from the client, so ``--help`` reads them without loading pydicom."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cxr_regions.errors import UserError
from cxr_regions.options import cli, day
from cxr_regions.pacs.query import DEFAULT_QUERY, parse_query


@dataclass
class PullConfig:
    """Which PACS, what to ask it for, where to put the files, and how many retrievals run at once."""

    url: str = field(
        metadata=cli("The PACS's DICOMweb root, e.g. http://localhost:8042/dicom-web", argument=True)
    )
    out: Path = field(
        metadata=cli("Folder for the DICOM files (then `cxr-regions ingest OUT ...`).", argument=True)
    )
    query: str | None = field(
        default=DEFAULT_QUERY,
        metadata=cli("QIDO-RS filters KEY=VALUE joined by &; \\ separates alternatives."),
    )
    since: date | None = field(
        default=None,
        metadata=cli("Only studies from this day on (YYYY-MM-DD).", type=str | None, parse=day),
    )
    auth: str | None = field(
        default=None, metadata=cli("USER:PASSWORD-FILE for HTTP basic auth.", "--pacs-auth")
    )
    workers: int = field(default=4, metadata=cli("Retrievals at once."))
    progress: bool = field(default=True, metadata=cli("Show a progress bar.", "--progress/--no-progress"))

    def validate(self) -> None:
        """Raise :class:`UserError` for too few workers or a ``--query`` that is not KEY=VALUE terms."""
        if self.workers < 1:
            raise UserError(f"--workers must be at least 1, got {self.workers}")
        parse_query(self.query, self.since)
