"""Report texts for the gallery, read from the same report tables that ``label`` reads."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from cxr_regions.errors import UserError

ENCODINGS = ("utf-8-sig", "gb18030")


def _read(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls"):
        return pd.read_excel(path, dtype=str, keep_default_na=False)
    if suffix in (".jsonl", ".ndjson"):
        return pd.read_json(path, lines=True, dtype=False).astype(str)
    sep = "\t" if suffix in (".tsv", ".tab") else ","
    for encoding in ENCODINGS:
        try:
            return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise UserError(f"{path}: the text is neither UTF-8 nor GB18030; save the table as UTF-8")


def read_report_texts(
    path: os.PathLike[str] | str, id_col: str, text_cols: list[str] | tuple[str, ...]
) -> dict[str, str]:
    """Report id -> text (the text columns joined by new lines, as ``label`` joins them)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"report table {path} not found")
    table = _read(path)
    missing = [c for c in (id_col, *text_cols) if c not in table.columns]
    if missing:
        raise UserError(
            f"{path}: no column {', '.join(missing)}; the columns are {', '.join(map(str, table.columns))}"
        )
    texts = table[list(text_cols)].fillna("").astype(str)
    joined = texts.apply(lambda row: "\n".join(v for v in row if v), axis=1)
    return dict(zip(table[id_col].astype(str), joined, strict=True))
