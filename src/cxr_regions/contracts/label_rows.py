"""``labels.csv``: what ``label`` writes and ``build``, ``report``, ``label-eval``, the demo and the reading
room read; the reading room's verdict export (``verdicts export``) has its first columns too.

One row per report (:class:`LabelRow`): ``report_id``, the five regions (``1``/``u``/``0``, or ``1``/``0``
with ``--binary``), ``label_string`` (``u`` counted as ``1``), ``markings_only``, ``status`` (``ok`` or
``empty_text``), ``evidence`` (a JSON list of :class:`Evidence`) and ``unread`` (a JSON list of the clauses
no vocabulary word read). Readers need only ``report_id`` and the five regions (a verdict export or
another tool's table has no more); the other columns take their defaults where absent.

Each :class:`Evidence` item says why a region has its value: the clause, the cue word, the ``hedge`` word
that made it ``u`` (``null`` otherwise) and the ``basis`` of the label (:data:`BASES`). Files written
before these two keys existed put the hedge into the cue as ``"cue [hedge]"``; :func:`parse_evidence`
reads them the same.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from cxr_regions.contracts.names import LABELS_CSV
from cxr_regions.errors import UserError
from cxr_regions.fileio import atomic_path
from cxr_regions.regions import ABNORMAL, NORMAL, REGION_KEYS, UNCERTAIN, VALUES, label_string

if TYPE_CHECKING:
    import pandas as pd

FILE = LABELS_CSV
ID = "report_id"
COLUMNS: tuple[str, ...] = (
    ID, *REGION_KEYS, "label_string", "markings_only", "status", "evidence", "unread",
)  # fmt: skip
REQUIRED: tuple[str, ...] = (ID, *REGION_KEYS)
STATUS_OK = "ok"
STATUS_EMPTY = "empty_text"
EXACT, TYPO, HEDGE, DEFAULT = "exact", "typo", "hedge", "default"
BASES: dict[str, str] = {
    EXACT: "read from words of the vocabulary as written",
    TYPO: "read from a word the vocabulary knows only after typo-tolerant matching (a homophone or a slip)",
    HEDGE: "the finding is stated but hedged: the value is u",
    DEFAULT: "nothing abnormal was read about the region: 0 by default",
}
"""How a label was reached (``Evidence.basis``), each with its meaning."""


class Evidence(NamedTuple):
    """Why a region has its value: the clause, the cue that fired, the hedge that doubts it, the basis."""

    region: str
    value: str
    clause: str
    cue: str
    hedge: str | None = None
    basis: str = EXACT

    def to_dict(self) -> dict[str, str | None]:
        """The JSON form of one item of the ``evidence`` column."""
        return {
            "region": self.region,
            "value": self.value,
            "clause": self.clause,
            "cue": self.cue,
            "hedge": self.hedge,
            "basis": self.basis,
        }

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> Evidence:
        """One item of the ``evidence`` column; an older file's ``"cue [hedge]"`` is split."""
        value = str(item.get("value", ""))
        cue = str(item.get("cue", ""))
        hedge = item.get("hedge")
        if "hedge" not in item:
            old = _OLD_HEDGE.fullmatch(cue)
            if old is not None:
                cue, hedge = old.group(1), old.group(2)
        basis = item.get("basis") or (HEDGE if value == UNCERTAIN else DEFAULT if value == NORMAL else EXACT)
        return cls(
            str(item.get("region", "")),
            value,
            str(item.get("clause", "")),
            cue,
            None if hedge is None else str(hedge),
            str(basis),
        )


_OLD_HEDGE = re.compile(r"(.*?) \[(.*)\]", re.S)  # labels.csv before the hedge key: "斑片影 [可能]"


def parse_evidence(cell: object) -> list[Evidence]:
    """The ``evidence`` column of one row (JSON text, a parsed list, or empty/NaN) as records."""
    if cell is None or (isinstance(cell, float) and cell != cell):
        return []
    if isinstance(cell, str):
        if not cell.strip():
            return []
        try:
            cell = json.loads(cell)
        except json.JSONDecodeError:
            return []
    if not isinstance(cell, list):
        return []
    return [Evidence.from_dict(item) for item in cell if isinstance(item, Mapping)]


def evidence_json(items: Iterable[Evidence]) -> str:
    """The ``evidence`` column of one row: a JSON list of the items."""
    return "[" + ",".join(map(_item_json, items)) + "]"


@lru_cache(maxsize=100_000)
def _item_json(item: Evidence) -> str:
    return json.dumps(item.to_dict(), ensure_ascii=False)


@dataclass(slots=True)
class LabelRow:
    """One row of labels.csv: a report's five values and how they were reached."""

    report_id: str
    values: dict[str, str]  # region -> 1/u/0 (1/0 in a --binary file)
    markings_only: bool = False
    status: str = STATUS_OK
    evidence: Sequence[Evidence] = ()
    unread: Sequence[str] = ()
    extra: Mapping[str, str] = field(default_factory=dict)  # columns beyond the contract's (verdicts)

    @property
    def label_string(self) -> str:
        """Five characters in region order, ``u`` counted as ``1`` (e.g. ``01101``)."""
        return _label_string(self.values)


_AS_BIT = {ABNORMAL: "1", UNCERTAIN: "1", NORMAL: "0"}


def _label_string(values: Mapping[str, str]) -> str:
    try:  # regions.label_string without a Python-level loop (it runs once per row)
        return "".join(map(_AS_BIT.__getitem__, map(values.__getitem__, REGION_KEYS)))
    except KeyError:
        return label_string(values)


# -- writing ---------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """A CSV cell as the csv module writes it (quoted where it holds a comma, quote or line break)."""
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


@lru_cache(maxsize=100_000)
def _evidence_cell_item(item: Evidence) -> str:
    return _item_json(item).replace('"', '""')


class LabelsWriter:
    """Writes labels.csv row by row into an open text file (``label`` streams millions of rows).

    ``binary``: write ``1``/``0`` (``u`` as ``1``). ``extra``: columns after the contract's, taken from
    each row's ``extra`` mapping (the verdict export's reader, time, note...).
    """

    def __init__(self, out: Any, binary: bool = False, extra: Sequence[str] = ()) -> None:
        self._write = out.write
        self._binary = binary
        self._extra = tuple(extra)
        self._write(",".join(map(_cell, (*COLUMNS, *self._extra))) + "\r\n")

    def write(self, rows: Iterable[LabelRow]) -> None:
        """Append ``rows`` to the file (the pieces of every row joined once: rows hold long evidence)."""
        extra, values_of, middle, item = self._extra, _VALUES_OF, self._middle, _evidence_cell_item
        parts: list[str] = []
        add = parts.append
        for row in rows:
            ident, evidence, unread = row.report_id, row.evidence, row.unread
            add(ident if ident.isalnum() else _cell(ident))
            add(middle(values_of(row.values), row.markings_only, row.status))
            if evidence:
                add(',"[')
                add(item(evidence[0]))
                for e in evidence[1:]:
                    add(",")
                    add(item(e))
                add(']",')
            else:
                add(",[],")
            add(_cell(json.dumps(list(unread), ensure_ascii=False)) if unread else "[]")
            if extra:
                add("," + ",".join(_cell(str(row.extra.get(name, ""))) for name in extra))
            add("\r\n")
        if parts:
            self._write("".join(parts))

    @lru_cache(maxsize=4096)  # noqa: B019 - a few hundred combinations, one writer per file
    def _middle(self, values: tuple[str, ...], markings_only: bool, status: str) -> str:
        """The cells between the id and the evidence: five values, label string, markings, status."""
        cells = [_AS_BIT[v] for v in values] if self._binary else list(values)
        string = "".join(_AS_BIT.get(v, v) for v in values)
        return "," + ",".join([*cells, string, "true" if markings_only else "false", _cell(status)])


_VALUES_OF = itemgetter(*REGION_KEYS)


def write(
    path: str | os.PathLike[str], rows: Iterable[LabelRow], binary: bool = False, extra: Sequence[str] = ()
) -> Path:
    """Write labels.csv atomically (see :class:`LabelsWriter` for ``binary`` and ``extra``)."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as out:
        LabelsWriter(out, binary=binary, extra=extra).write(rows)
    return Path(path)


# -- reading ---------------------------------------------------------------------------------------
_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}


def read(path: str | os.PathLike[str], what: str = FILE, need_id: bool = True) -> pd.DataFrame:
    """labels.csv (or a table in its format) as a frame of text, its columns and values checked.

    Every cell is text with surrounding spaces removed; ``report_id`` and the five regions must be
    there (the regions only, with ``need_id=False``); region values are ``1``/``u``/``0`` (``1.0``,
    ``true``... are read as ``1``, ``0.0``, ``false``... as ``0``) or a :class:`UserError` names the row.
    Other columns (``evidence``, a verdict export's ``text``...) are kept as they are.
    """
    import pandas as pd

    file = Path(path)
    if not file.is_file():
        raise UserError(f"{what} not found: {file}")
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(f"{file}: not a readable UTF-8 CSV ({exc})") from None
    except pd.errors.EmptyDataError:
        raise UserError(f"{file} is empty: no header row (see docs/data-contracts.md, {FILE})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    required = REQUIRED if need_id else REGION_KEYS
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise UserError(
            f"{file}: missing column(s) {', '.join(missing)} (found {', '.join(frame.columns)}); "
            f"see docs/data-contracts.md for the {what} format"
        )
    frame = frame.apply(lambda col: col.str.strip())
    where = ID if ID in frame.columns else None
    for key in REGION_KEYS:
        text = frame[key].str.lower()
        text = text.where(~text.isin(_FALSE), NORMAL).where(~text.isin(_TRUE), ABNORMAL)
        bad = ~text.isin(VALUES)
        if bad.any():
            pos = int(bad.to_numpy().nonzero()[0][0])
            which = f" ({where} {frame[where].iloc[pos]!r})" if where else ""
            raise UserError(
                f"{file}: row {pos + 2}{which} has {key}={frame[key].iloc[pos]!r}; label values must be "
                f"1, u or 0 ({int(bad.sum())} bad value(s) in column {key})"
            )
        frame[key] = text
    return frame


def rows(frame: pd.DataFrame) -> Iterator[LabelRow]:
    """Typed rows of a frame :func:`read` returned (absent columns take their defaults)."""
    has = set(frame.columns)
    extra = [c for c in frame.columns if c not in COLUMNS]
    for record in frame.to_dict("records"):
        yield LabelRow(
            report_id=str(record.get(ID, "")),
            values={k: record[k] for k in REGION_KEYS},
            markings_only=str(record.get("markings_only", "")).lower() == "true",
            status=record["status"] or STATUS_OK if "status" in has else STATUS_OK,
            evidence=parse_evidence(record.get("evidence")),
            unread=_json_list(record.get("unread")),
            extra={c: record[c] for c in extra},
        )


def _json_list(cell: object) -> list[str]:
    """The ``unread`` column of one row (a JSON list of clauses; anything else reads as none)."""
    try:
        items = json.loads(cell) if isinstance(cell, str) and cell.startswith("[") else []
    except json.JSONDecodeError:
        return []
    return [str(item) for item in items] if isinstance(items, list) else []


def read_rows(path: str | os.PathLike[str], what: str = FILE) -> dict[str, LabelRow]:
    """labels.csv as ``{report_id: row}`` (a repeated id keeps its last row)."""
    return {row.report_id: row for row in rows(read(path, what=what))}


class LabelsTable:
    """labels.csv as one object, in the pattern of the other tables: ``LABELS.read(path)`` (a checked
    frame of text), ``LABELS.rows(frame)`` / ``LABELS.read_rows(path)`` (typed :class:`LabelRow`),
    ``LABELS.write(path, rows)`` and ``LABELS.stream(out)`` (a streaming :class:`LabelsWriter`).

    Its rows are plain dataclasses rather than pydantic records: ``label`` writes millions of them.
    """

    file = FILE
    writer = "cxr-regions label"
    columns = COLUMNS
    required = REQUIRED
    read = staticmethod(read)
    rows = staticmethod(rows)
    read_rows = staticmethod(read_rows)
    write = staticmethod(write)
    stream = LabelsWriter

    def __repr__(self) -> str:
        return f"LabelsTable({self.file!r}, LabelRow)"


LABELS = LabelsTable()
"""``labels.csv``: what ``label`` writes; ``build``, ``report``, ``label-eval`` and the demo read it."""
