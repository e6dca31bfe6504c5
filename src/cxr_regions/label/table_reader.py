"""Reading report tables in chunks: CSV, TSV, XLSX, XLS and JSONL, in UTF-8, UTF-8 with BOM,
UTF-16 (Excel's "Unicode text") or GB18030/GBK (the usual hospital export), Big5.

Reading is streamed (a chunk of rows at a time), so a file of millions of reports keeps memory
flat. The encoding is detected from the first megabyte and then checked over the whole file
before reading, so that a bad byte is reported with its file and byte offset instead of failing
half-way or, worse, being read as garbage.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from charset_normalizer import from_bytes

from cxr_regions.errors import UserError

CSV_SUFFIXES = {".csv", ".tsv", ".tab", ".txt"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}
JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}
SUPPORTED = sorted(CSV_SUFFIXES | EXCEL_SUFFIXES | JSONL_SUFFIXES)

# Column names recognised without --id-col / --text-col (compared case- and space-insensitively).
ID_COLUMNS = (
    "report_id",
    "accession_number",
    "accessionnumber",
    "accession_no",
    "accession",
    "id",
    "study_id",
    "exam_id",
    "检查号",
    "检查编号",
    "影像号",
    "报告号",
    "报告编号",
    "报告id",
    "申请单号",
    "登记号",
    "流水号",
)
TEXT_COLUMNS = (
    "text",
    "report",
    "report_text",
    "findings",
    "impression",
    "影像所见",
    "影像表现",
    "检查所见",
    "所见",
    "表现",
    "描述",
    "检查描述",
    "影像诊断",
    "诊断意见",
    "诊断",
    "印象",
    "结论",
    "检查结论",
    "意见",
)
_BLOCK = 1 << 20


@dataclass
class TableInfo:
    """What was learnt about an input table before reading it."""

    path: Path
    kind: str  # csv | excel | jsonl
    encoding: str | None
    separator: str | None
    columns: list[str]
    size_bytes: int


def _norm(name: str) -> str:
    return str(name).strip().lower().replace(" ", "_")


def _kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in EXCEL_SUFFIXES:
        return "excel"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    raise UserError(f"{path}: unsupported file type {suffix or '(none)'}; use one of {', '.join(SUPPORTED)}")


def _sample(path: Path) -> tuple[bytes, int, bool]:
    """The first megabyte holding non-ASCII bytes (an export may start with pages of ASCII ids),
    its file offset, and whether it runs to the end of the file."""
    with path.open("rb") as fh:
        head = fh.read(_BLOCK)
        if head.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or not head.isascii():
            return head, 0, len(head) < _BLOCK
        offset = len(head)
        while block := fh.read(_BLOCK):
            if not block.isascii():
                start = next(i for i, b in enumerate(block) if b > 0x7F)
                start = max(block.rfind(b"\n", 0, start) + 1, 0)  # a line start is a character start
                fh.seek(offset + start)
                sample = fh.read(_BLOCK)
                return sample, offset + start, len(sample) < _BLOCK
            offset += len(block)
    return head, 0, True


def detect_encoding(path: str | Path) -> str:
    """The text encoding of ``path``: a BOM, else valid UTF-8, else charset-normalizer's guess."""
    path = Path(path)
    sample, offset, whole = _sample(path)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=whole)
        return "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = offset + exc.start
        prefix = sample[: exc.start].decode("utf-8")
        if sum(ord(ch) > 0x7F for ch in prefix) >= 10:  # GBK text is never UTF-8 for that long
            return "utf-8"  # a damaged UTF-8 file: check_encoding names the bad byte

    best = from_bytes(sample, cp_isolation=["gb18030", "big5", "utf_8"]).best()
    guess = (best.encoding if best is not None else "").lower().replace("-", "_")
    if guess in ("gb18030", "gbk", "gb2312", "cp936", "hz"):
        return "gb18030"
    if guess in ("big5", "big5hkscs", "cp950"):
        return "big5"
    try:  # hospital exports that are not UTF-8 are nearly always GB18030/GBK
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=whole)
        return "gb18030"
    except UnicodeDecodeError:
        pass
    raise UserError(
        f"{path}: cannot tell the text encoding: not UTF-8 (invalid at byte offset {utf8_error}) and not "
        "GB18030/GBK or Big5. Save the file as UTF-8 (or UTF-8 with BOM) and try again."
    )


def check_encoding(path: str | Path, encoding: str) -> None:
    """Decode the whole file; a bad byte is reported with the file and its byte offset."""
    path = Path(path)
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with path.open("rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                # exc.start counts from the bytes the decoder held back from the block before
                at = offset - len(decoder.getstate()[0]) + exc.start
                raise UserError(
                    f"{path}: byte offset {at}: cannot be decoded as {encoding} ({exc.reason}). "
                    "The file is damaged or mixes encodings; re-export it as UTF-8 or GB18030."
                ) from None
            if not block:
                return
            offset += len(block)


def _sniff_separator(first_line: str, suffix: str) -> str:
    if suffix in (".tsv", ".tab"):
        return "\t"
    counts = {sep: first_line.count(sep) for sep in (",", "\t", ";", "|")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def inspect_table(path: str | Path) -> TableInfo:
    """Detect type, encoding, separator and columns of a report table (reads only its head)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"input file not found: {path}")
    kind = _kind(path)
    size = path.stat().st_size
    if kind == "excel":
        return TableInfo(path, kind, None, None, _excel_columns(path), size)
    encoding = detect_encoding(path)
    check_encoding(path, encoding)
    with path.open("r", encoding=encoding, newline="") as fh:
        if kind == "jsonl":
            columns = _jsonl_columns(path, fh)
            return TableInfo(path, kind, encoding, None, columns, size)
        first = fh.readline()
    separator = _sniff_separator(first, path.suffix.lower())
    try:
        header = pd.read_csv(path, sep=separator, encoding=encoding, nrows=0, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise UserError(f"{path}: not a readable table: {exc}") from None
    return TableInfo(path, kind, encoding, separator, [str(c) for c in header.columns], size)


def _jsonl_columns(path: Path, fh) -> list[str]:
    for number, line in enumerate(fh, start=1):
        if line.strip():
            record = _json_record(path, line, number)
            return [str(k) for k in record]
    return []


def _json_record(path: Path, line: str, number: int) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise UserError(f"{path}: line {number}: each line must be a JSON object")
    return record


def _excel_columns(path: Path) -> list[str]:
    if path.suffix.lower() == ".xls":
        try:
            return [str(c) for c in pd.read_excel(path, engine="xlrd", nrows=0, dtype=str).columns]
        except Exception as exc:
            raise UserError(f"{path}: cannot read this .xls file: {exc}") from None
    header = next(_xlsx_rows(path), None)
    return [] if header is None else [str(c) if c is not None else "" for c in header]


def _xlsx_rows(path: Path) -> Iterator[tuple]:
    # here: openpyxl loads in ~0.2 s and only .xlsx tables need it
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise UserError(f"{path}: cannot read this .xlsx file: {exc}") from None
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            if row and any(v is not None and str(v).strip() for v in row):
                yield row
    finally:
        book.close()


def column_named(info: TableInfo, name: str) -> str | None:
    """The table's column called ``name``: exactly, else compared case- and space-insensitively; None
    where there is none."""
    if name in info.columns:
        return name
    return {_norm(c): c for c in info.columns}.get(_norm(name))


def column_listing(info: TableInfo) -> str:
    """The table's columns for an error message."""
    return ", ".join(repr(c) for c in info.columns) or "(none)"


def pick_columns(info: TableInfo, id_col: str | None, text_cols: list[str] | None) -> tuple[str, list[str]]:
    """Resolve the id and text columns (given, or recognised by name); errors list what is there."""
    present = {_norm(c): c for c in info.columns}
    listing = column_listing(info)

    def resolve(name: str, option: str) -> str:
        found = column_named(info, name)
        if found is not None:
            return found
        raise UserError(
            f"{info.path}: no column {name!r}. The columns are: {listing}. Choose one with {option}."
        )

    if id_col:
        ident = resolve(id_col, "--id-col")
    else:
        found = next((present[n] for n in ID_COLUMNS if n in present), None)
        if found is None:
            raise UserError(
                f"{info.path}: no report id column recognised. The columns are: {listing}. "
                "Name the id column with --id-col."
            )
        ident = found
    if text_cols:
        texts = [resolve(c, "--text-col") for c in text_cols]
    else:
        wanted = {n for n in TEXT_COLUMNS}
        texts = [c for c in info.columns if _norm(c) in wanted and c != ident]
        if not texts:
            raise UserError(
                f"{info.path}: no report text column recognised. The columns are: {listing}. "
                "Name the text column(s) with --text-col (repeat it for findings and impression)."
            )
    return ident, texts


def read_chunks(
    info: TableInfo, columns: list[str], chunk_rows: int = 20_000
) -> Iterator[tuple[pd.DataFrame, int]]:
    """Yield (chunk of ``columns`` as strings, bytes or rows done so far) until the table ends."""
    if info.kind == "csv":
        yield from _csv_chunks(info, columns, chunk_rows)
    elif info.kind == "jsonl":
        yield from _jsonl_chunks(info, columns, chunk_rows)
    elif info.path.suffix.lower() == ".xls":
        frame = pd.read_excel(info.path, engine="xlrd", dtype=str, keep_default_na=False)
        frame.columns = [str(c) for c in frame.columns]
        for lo in range(0, len(frame), chunk_rows):
            yield frame[columns].iloc[lo : lo + chunk_rows].fillna(""), min(lo + chunk_rows, len(frame))
    else:
        yield from _xlsx_chunks(info, columns, chunk_rows)


def _csv_chunks(info: TableInfo, columns: list[str], chunk_rows: int) -> Iterator[tuple[pd.DataFrame, int]]:
    with info.path.open("rb") as fh:
        try:
            reader = pd.read_csv(
                fh,
                sep=info.separator,
                encoding=info.encoding,
                dtype=str,
                keep_default_na=False,
                usecols=columns,
                chunksize=chunk_rows,
            )
            for chunk in reader:
                yield chunk[columns], fh.tell()
        except pd.errors.ParserError as exc:
            raise UserError(f"{info.path}: the table is malformed: {exc}") from None


def _jsonl_chunks(info: TableInfo, columns: list[str], chunk_rows: int) -> Iterator[tuple[pd.DataFrame, int]]:
    rows: list[list[str]] = []
    with info.path.open("rb") as fh:
        decode = codecs.getdecoder(info.encoding or "utf-8")
        for number, raw in enumerate(fh, start=1):
            line = decode(raw)[0]
            if number == 1:
                line = line.lstrip("\ufeff")
            if not line.strip():
                continue
            record = _json_record(info.path, line, number)
            rows.append([_cell(record.get(c)) for c in columns])
            if len(rows) >= chunk_rows:
                yield pd.DataFrame(rows, columns=columns), fh.tell()
                rows = []
        if rows:
            yield pd.DataFrame(rows, columns=columns), fh.tell()


def _xlsx_chunks(info: TableInfo, columns: list[str], chunk_rows: int) -> Iterator[tuple[pd.DataFrame, int]]:
    rows_iter = _xlsx_rows(info.path)
    header = [str(c) if c is not None else "" for c in next(rows_iter, ())]
    index = [header.index(c) for c in columns]
    rows: list[list[str]] = []
    done = 0
    for row in rows_iter:
        rows.append([_cell(row[i]) if i < len(row) else "" for i in index])
        if len(rows) >= chunk_rows:
            done += len(rows)
            yield pd.DataFrame(rows, columns=columns), done
            rows = []
    if rows:
        yield pd.DataFrame(rows, columns=columns), done + len(rows)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def count_rows(info: TableInfo) -> int | None:
    """Rows of an Excel sheet (for the progress bar); None where unknown (text files use bytes)."""
    if info.kind != "excel" or info.path.suffix.lower() == ".xls":
        return None
    # here: openpyxl loads in ~0.2 s and only .xlsx tables need it
    from openpyxl import load_workbook

    book = load_workbook(info.path, read_only=True)
    try:
        rows = book.worksheets[0].max_row
    finally:
        book.close()
    return None if rows is None else max(rows - 1, 0)
