"""``verdicts.csv`` (written by ``verdicts export`` and the reading room's export link): the
radiologists' verdicts in the labels.csv layout, so that ``label-eval --gold`` and ``build --labels``
read them as they read labels.csv, with who read each film and when."""

from __future__ import annotations

from cxr_regions.contracts.core import Record, column
from cxr_regions.contracts.csv_table import Table
from cxr_regions.contracts.names import VERDICTS_CSV


class VerdictRow(Record):
    """One current verdict of one reader on one film."""

    report_id: str = column("The film's accession number, or its `image_id` where it has none.")
    labels: dict[str, str] = column("The reader's value per region: `1`, `u` or `0`.", template="<label>")
    label_string: str = column("The five values in region order, `u` counted as `1`.")
    reader: str = column("Who saved it (`local` without users).")
    saved_at: str = column("When (ISO 8601, UTC).")
    note: str = column("The reader's note.")
    cardiothoracic_ratio: str = column(
        "The cardiothoracic ratio the reader measured in the viewer (empty where none).",
        optional=True,
        default="",
    )
    image_id: str = column("The film's de-identified id.")
    accession: str = column("The film's accession number (empty where none).")
    text: str = column("The film's report (empty where none), for `label-eval` to label.")


VERDICTS = Table(VERDICTS_CSV, VerdictRow, "cxr-regions verdicts export")
"""``verdicts.csv``: one row per (film, reader), oldest first; ``VERDICTS.write(path, rows, REGION_KEYS)``."""
