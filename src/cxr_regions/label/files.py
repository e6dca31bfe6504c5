"""Label a whole report table into ``labels.csv`` (:mod:`cxr_regions.contracts.label_rows`), in chunks.

Rows stream from the input (see :mod:`tables`) through the labeler to the output, a chunk at a
time, so millions of reports keep memory flat; a progress bar shows bytes (or rows) done. The
output appears atomically, with ``<name>.config.yaml`` beside it (what produced it). Clauses
that no vocabulary word read go to the ``unread`` column. With ``review``, the cases where the
labeler is least sure go into a table for a person to check, most frequent first: first the words
it read only through a typo (``typo``: what was written and what it was read as), then the clauses
it could not read (``unread``). What the person confirms goes into the hospital's vocabulary file
(``extends: default``: a misspelling under ``rewrites``, a phrase under its role), and ``label`` runs
again (docs/labeling-robustness.md).
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from cxr_regions.configfile import save_config
from cxr_regions.contracts import label_rows as contract
from cxr_regions.fileio import atomic_path
from cxr_regions.label.bilingual import AutoLabeler, make_labeler
from cxr_regions.label.labeler import STATUS_EMPTY, Labeler
from cxr_regions.label.table_reader import count_rows
from cxr_regions.label.texts import open_report_table
from cxr_regions.progress import progress_bar
from cxr_regions.regions import ABNORMAL, NORMAL, REGION_KEYS, UNCERTAIN

if TYPE_CHECKING:
    from rich.progress import Progress

_VALUES_OF = itemgetter(*REGION_KEYS)

ID_COLUMN = contract.ID
OUTPUT_COLUMNS = contract.COLUMNS
REVIEW_COLUMNS = ("kind", "clause", "read_as", "reports", "example_report_id")


@dataclass
class LabelConfig:
    """How ``label`` was run (saved next to labels.csv)."""

    input: str
    output: str
    id_col: str | None = None
    text_cols: list[str] | None = None
    binary: bool = False
    markings_abnormal: bool = False
    vocabulary: str | None = None
    chunk_rows: int = 20_000
    language: str = "zh"
    review: str | None = None


@dataclass
class LabelSummary:
    """What ``label`` did."""

    output: str
    rows: int = 0
    ok: int = 0
    empty_text: int = 0
    missing_id: int = 0
    markings_only: int = 0
    with_unread: int = 0  # reports with at least one unread clause
    unread_clauses: int = 0  # distinct unread clauses over the file
    with_typos: int = 0  # reports with at least one word read through a typo
    typo_reads: int = 0  # distinct (clause, written, read as) typo reads over the file
    abnormal: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REGION_KEYS, 0))
    uncertain: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REGION_KEYS, 0))
    normal_films: int = 0
    id_col: str = ""
    text_cols: list[str] = field(default_factory=list)
    encoding: str | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def label_file(
    input_path: str | Path,
    output_csv: str | Path,
    id_col: str | None = None,
    text_cols: list[str] | None = None,
    binary: bool = False,
    markings_abnormal: bool = False,
    vocabulary: str | Path | None = None,
    chunk_rows: int = 20_000,
    progress: bool = True,
    on_chunk: Callable[[int], None] | None = None,
    language: str = "zh",
    review: str | Path | None = None,
) -> LabelSummary:
    """Label every report of ``input_path`` (CSV/TSV/XLSX/XLS/JSONL) into ``output_csv``.

    Text columns are read together (findings, then impression...). A row with no text gets all
    ``0`` and status ``empty_text``; nothing is dropped. ``language``: ``zh``, ``en`` or ``auto`` (each
    report in the language its script shows). ``review``: also write the typo reads and the unread
    clauses of the whole file (:func:`write_review`), with how many reports hold each and one example id.
    """

    started = time.perf_counter()
    table = open_report_table(input_path, id_col, text_cols)
    info, ident, texts = table.info, table.id_col, list(table.text_cols)
    labeler = make_labeler(language, vocabulary, markings_abnormal=markings_abnormal)
    summary = LabelSummary(output=str(output_csv), id_col=ident, text_cols=texts, encoding=info.encoding)
    total = count_rows(info) if info.kind == "excel" else info.size_bytes
    unread: dict[str, list] = {}  # clause -> [reports, example report id]
    typos: dict[tuple[str, str, str], list] = {}  # (clause, written, read as) -> [reports, example id]

    with atomic_path(output_csv) as tmp, tmp.open("w", encoding="utf-8", newline="") as out:
        writer = contract.LabelsWriter(out, binary=binary)
        with _progress(progress, total, info.path.name, rows=info.kind == "excel") as advance:
            for ids, bodies, done in table.chunks(chunk_rows):
                writer.write(_rows(labeler, ids, bodies, summary, unread, typos))
                advance(done)
                if on_chunk is not None:
                    on_chunk(summary.rows)
    summary.unread_clauses = len(unread)
    summary.typo_reads = len(typos)
    if review is not None:
        write_review(review, unread, typos)
    summary.seconds = round(time.perf_counter() - started, 3)
    config = LabelConfig(
        input=str(input_path),
        output=str(output_csv),
        id_col=ident,
        text_cols=texts,
        binary=binary,
        markings_abnormal=markings_abnormal,
        vocabulary=None if vocabulary is None else str(vocabulary),
        chunk_rows=chunk_rows,
        language=language,
        review=None if review is None else str(review),
    )
    save_config(config, config_path(output_csv), command="label")
    return summary


def config_path(output_csv: str | Path) -> Path:
    """Where the configuration of a labels file is saved: ``labels.csv`` -> ``labels.config.yaml``."""
    output_csv = Path(output_csv)
    return output_csv.with_name(output_csv.stem + ".config.yaml")


def write_review(
    path: str | Path, unread: dict[str, list], typos: dict[tuple[str, str, str], list] | None = None
) -> Path:
    """The review table (``REVIEW_COLUMNS``): the typo reads, then the unread clauses, each by the
    number of reports that hold them (most first). ``read_as`` says what a typo read took the written
    word for (``积夜 -> 积液``); it is empty for an unread clause."""

    def most_first(found: dict) -> list:
        return sorted(found.items(), key=lambda kv: (-kv[1][0], kv[0]))

    rows = [
        ["typo", clause, f"{written} -> {read}", n, example]
        for (clause, written, read), (n, example) in most_first(typos or {})
    ]
    rows += [["unread", clause, "", n, example] for clause, (n, example) in most_first(unread)]
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(REVIEW_COLUMNS)
        writer.writerows(rows)
    return Path(path)


def _rows(
    labeler: Labeler | AutoLabeler,
    ids: list[str],
    bodies: list[str],
    summary: LabelSummary,
    unread: dict[str, list],
    typos: dict[tuple[str, str, str], list],
) -> Iterator[contract.LabelRow]:
    """Label each report, count it into ``summary``, its unread clauses into ``unread`` and its typo
    reads into ``typos``."""
    label, row, values_of = labeler.label, contract.LabelRow, _VALUES_OF
    kinds: Counter[tuple[tuple[str, ...], bool, bool]] = Counter()  # (values, empty, markings only)
    missing_id = 0
    for ident, body in zip(ids, bodies, strict=True):
        result = label(body)
        values, markings_only, status = result.values, result.markings_only, result.status
        kinds[values_of(values), status == STATUS_EMPTY, markings_only] += 1
        if not ident:
            missing_id += 1
        clauses = result.unread
        if clauses:
            summary.with_unread += 1
            for clause in clauses:
                seen = unread.get(clause)
                if seen is None:
                    unread[clause] = [1, ident]
                else:
                    seen[0] += 1
        if result.typos:
            summary.with_typos += 1
            for read in result.typos:
                seen = typos.get(read)
                if seen is None:
                    typos[read] = [1, ident]
                else:
                    seen[0] += 1
        yield row(ident, values, markings_only, status, result.evidence, clauses)
    summary.missing_id += missing_id
    for (kind, empty, markings_only), n in kinds.items():  # the counts, once per kind of row
        summary.rows += n
        summary.empty_text += n if empty else 0
        summary.ok += 0 if empty else n
        summary.markings_only += n if markings_only else 0
        summary.normal_films += n if not empty and all(v == NORMAL for v in kind) else 0
        for key, v in zip(REGION_KEYS, kind, strict=True):
            if v == ABNORMAL:
                summary.abnormal[key] += n
            elif v == UNCERTAIN:
                summary.uncertain[key] += n


class _progress:
    """A rich progress bar over bytes or rows (or nothing when disabled)."""

    def __init__(self, enabled: bool, total: int | None, name: str, rows: bool):
        self.enabled = enabled
        self.rows = rows
        self.total = total
        self.name = name
        self._bar: Progress | None = None

    def __enter__(self) -> Callable[[int], None]:
        if not self.enabled:
            return lambda done: None
        bar = self._bar = progress_bar(unit="items" if self.rows else "bytes")
        bar.start()
        task = bar.add_task(f"label {self.name}", total=self.total)
        return lambda done: bar.update(task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
