"""Report texts as ``label`` reads them: a report table's id column and its text columns joined.

Every stage that needs a report's text (``label`` to label it, ``report`` to show it with the
labeler's evidence marked) reads it here, so both see the same table the same way: every format and
encoding of :mod:`cxr_regions.label.table_reader` (CSV/TSV/XLSX/XLS/JSONL; UTF-8, UTF-16, GB18030,
Big5), the same recognised column names, and the same text, whose character offsets the evidence
in ``labels.csv`` refers to.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cxr_regions.label.table_reader import TableInfo, inspect_table, pick_columns, read_chunks


@dataclass(frozen=True)
class ReportTable:
    """A report table with its id and text columns resolved (given, or recognised by name)."""

    info: TableInfo
    id_col: str
    text_cols: tuple[str, ...]

    def chunks(self, chunk_rows: int = 20_000) -> Iterator[tuple[list[str], list[str], int]]:
        """Yield (report ids, texts, bytes or rows done so far) a chunk of rows at a time.

        A report's text is its text columns in order, the non-empty ones joined by new lines.
        """
        columns = [self.id_col, *[c for c in self.text_cols if c != self.id_col]]
        for chunk, done in read_chunks(self.info, columns, chunk_rows):
            ids = chunk[self.id_col].tolist()
            parts = [chunk[c].tolist() for c in self.text_cols]
            texts = (
                parts[0]
                if len(parts) == 1
                else ["\n".join(p for p in row if p) for row in zip(*parts, strict=True)]
            )
            yield ids, texts, done


def open_report_table(
    path: str | os.PathLike[str], id_col: str | None = None, text_cols: list[str] | None = None
) -> ReportTable:
    """Inspect a report table (type, encoding, columns) and resolve its id and text columns.

    Without ``id_col`` / ``text_cols`` the columns are recognised by name (``accession_number``,
    ``检查号``...; ``findings``, ``impression``, ``影像所见``, ``诊断意见``...); a missing column is a
    :class:`~cxr_regions.errors.UserError` listing the columns present.
    """
    info = inspect_table(Path(path))
    ident, texts = pick_columns(info, id_col, list(text_cols) if text_cols else None)
    return ReportTable(info, ident, tuple(texts))


def read_report_texts(
    path: str | os.PathLike[str], id_col: str | None = None, text_cols: list[str] | None = None
) -> dict[str, str]:
    """Report id -> text for every row of a report table, read exactly as ``label`` reads it."""
    table = open_report_table(path, id_col, text_cols)
    texts: dict[str, str] = {}
    for ids, bodies, _ in table.chunks():
        texts.update(zip(ids, bodies, strict=True))
    return texts
