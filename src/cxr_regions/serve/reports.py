"""Report texts that come with films: pasted with an upload, or a table given with ``--reports``
(joined by accession number), labelled with the report labeler and kept with their evidence."""

from __future__ import annotations

import threading
from pathlib import Path

from cxr_regions.contracts.label_rows import evidence_json
from cxr_regions.errors import UserError
from cxr_regions.label import Labeler, ReportTable, column_listing, column_named, inspect_table

ID_COLUMNS = ("accession_number", "accession", "report_id", "AccessionNumber")
TEXT_COLUMNS = (("findings", "impression"), ("text",), ("report",), ("findings",))


def read_report_table(path: Path) -> dict[str, str]:
    """Accession number -> report text from a CSV/TSV/XLSX table (the tables ``label`` reads): an id
    column (accession_number, accession or report_id) and findings + impression, or text.

    The columns are chosen from the table's header, first id name then first text names that are all
    there (names compared as ``label`` compares them), and the table is read once.
    """
    info = inspect_table(path)
    for id_name in ID_COLUMNS:
        id_col = column_named(info, id_name)
        if id_col is None:
            continue
        for text_names in TEXT_COLUMNS:
            text_cols = [column_named(info, name) for name in text_names]
            if all(text_cols):
                table = ReportTable(info, id_col, tuple(c for c in text_cols if c))
                return {i: t for ids, texts, _ in table.chunks() for i, t in zip(ids, texts, strict=True)}
    raise UserError(
        f"{path}: no accession and report columns found (the columns are: {column_listing(info)}); give "
        "accession_number and findings + impression (or text) columns"
    )


class ReportBook:
    """The labeler (loaded on first use) and the optional report table."""

    def __init__(self, table: Path | None = None) -> None:
        self.texts = read_report_table(table) if table is not None else {}
        self._labeler: Labeler | None = None
        self._lock = threading.Lock()

    def text(self, accession: str | None) -> str | None:
        """The table's report for an accession number, if any."""
        return self.texts.get(accession) if accession else None

    def label(self, text: str | None) -> tuple[dict[str, str], str] | None:
        """The five labels and the evidence (labels.csv's JSON form) of a report; None without text."""
        if not text or not text.strip():
            return None
        with self._lock:
            if self._labeler is None:
                self._labeler = Labeler()
            result = self._labeler.label(text)
        return dict(result.values), evidence_json(result.evidence)
