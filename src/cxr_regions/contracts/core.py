"""The two kinds of contract: a JSON :class:`Document` with a schema version, and a CSV :class:`Table`.

Every file one stage writes and another reads is declared once, in this package, as a typed record
(a pydantic model): its fields are the file's keys or columns, their types and their meaning (the
``description``, which docs/data-contracts.md is tested against). Writers and readers go through the
record's ``write`` and ``read``; no stage opens another stage's file by name.

- :class:`Document`: ``Model.read(folder_or_file)`` / ``record.write(folder_or_file)``. The file holds
  a schema version (``schema_version``, or the key ``VERSION_KEY`` names); a file without one is
  version 1, a version this program does not know is refused with a message saying what to do. Keys
  the record does not know are ignored on reading (a newer writer of the same version may add some).
- :class:`Table` (a CSV file, one row per record): ``TABLE.read(path)`` checks the columns once for
  the whole file and returns a DataFrame (fast at 100,000 rows: no validation per row), and
  ``TABLE.rows(frame)`` gives typed records where a caller wants them. Columns that repeat per label
  (``p_<label>``) are a ``dict`` field with a ``template``. ``TABLE.write(path, rows_or_frame)`` writes
  the columns in the contract's order.

A new contract: a module here with the record (``class XRow(Record)`` / ``class X(Document)``), its
``Table`` or ``FILE``, the names in ``__init__``'s exports, and its fields in docs/data-contracts.md.
"""

from __future__ import annotations

import json
import math
import os
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cxr_regions.errors import UserError
from cxr_regions.fileio import write_csv, write_json

if typing.TYPE_CHECKING:
    import pandas as pd

PathLike = str | os.PathLike[str]
D = TypeVar("D", bound="Document")
R = TypeVar("R", bound="Record")


class Record(BaseModel):
    """A typed record of a contract file: strict on construction (an unknown field is an error)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)


def column(
    description: str,
    *,
    template: str | None = None,
    optional: bool = False,
    default: Any = ...,
) -> Any:
    """A field of a :class:`Table` row: its meaning, and how it is laid out.

    ``template``: a ``dict`` field spread over one column per label, e.g. ``"p_<label>"``.
    ``optional``: readers accept a file without this column (older files, other tools' tables).
    """
    extra = {"template": template, "optional": optional}
    if default is ... and optional:
        default = None
    return Field(default, description=description, json_schema_extra=extra)


def _json_safe(value: Any) -> Any:
    """NaN and infinities as ``null`` (JSON has no NaN), recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _dump(value: Any) -> Any:
    """A record as plain data, leaving out the optional fields (default ``None``) that are ``None``."""
    if isinstance(value, BaseModel):
        out = {}
        for name, info in type(value).model_fields.items():
            item = getattr(value, name)
            if item is None and info.default is None:
                continue
            out[name] = _dump(item)
        for name, item in (value.model_extra or {}).items():
            out[name] = _dump(item)
        return out
    if isinstance(value, dict):
        return {str(k): _dump(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_dump(v) for v in value]
    if isinstance(value, os.PathLike):
        return str(value)
    return value


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(top)'}: {e['msg']}" for e in exc.errors()[:8])


class Document(Record):
    """A JSON file of the pipeline. Subclasses set ``FILE``, ``WRITER`` and, when the layout
    changes incompatibly, ``VERSION`` (readers then accept every version up to it)."""

    FILE: ClassVar[str] = ""
    WRITER: ClassVar[str] = ""
    """The command that writes the file, for messages (``cxr-regions build``)."""
    VERSION: ClassVar[int] = 1
    VERSION_KEY: ClassVar[str] = "schema_version"
    LEADING: ClassVar[Mapping[str, Any]] = {}
    """Constant keys written first (e.g. model.json's ``format``) and checked on reading."""

    @classmethod
    def path_in(cls, path: PathLike) -> Path:
        """The file itself, or ``FILE`` inside a folder."""
        path = Path(path)
        return path / cls.FILE if path.is_dir() or path.suffix != Path(cls.FILE).suffix else path

    @classmethod
    def exists(cls, path: PathLike) -> bool:
        """Whether the folder (or path) holds this document."""
        return cls.path_in(path).is_file()

    @classmethod
    def read(cls: type[D], path: PathLike) -> D:
        """Read and check the document in ``path`` (a folder or the file)."""
        file = cls.path_in(path)
        if not file.is_file():
            raise UserError(
                f"no {cls.FILE} in {Path(path)}; {cls.WRITER or 'the stage that writes it'} makes it"
            )
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read {file}: {exc}") from None
        if not isinstance(data, dict):
            raise UserError(f"{file} is not a {cls.FILE} (expected a JSON object)")
        return cls.from_dict(data, where=str(file))

    @classmethod
    def from_dict(cls: type[D], data: Mapping[str, Any], where: str = "") -> D:
        """The record of a parsed document (what :meth:`read` does after parsing), version checked."""
        where = where or cls.FILE
        for key, value in cls.LEADING.items():
            if data.get(key) != value:
                raise UserError(f"{where} is not a cxr-regions {cls.FILE} ({key} {data.get(key)!r})")
        version = data.get(cls.VERSION_KEY, 1)
        if not isinstance(version, int) or not 1 <= version <= cls.VERSION:
            raise UserError(
                f"{where} has schema version {version!r}; this cxr-regions reads {cls.FILE} versions 1 to "
                f"{cls.VERSION}. Read it with the cxr-regions that wrote it (or a newer one), or write it "
                f"again with this one{f' (`{cls.WRITER}`)' if cls.WRITER else ''}"
            )
        known = {k: v for k, v in data.items() if k in cls.model_fields}
        try:
            return cls.model_validate(known)
        except ValidationError as exc:
            raise UserError(f"{where} does not follow the {cls.FILE} contract: {_problems(exc)}") from None

    def to_dict(self) -> dict[str, Any]:
        """The document as written: leading keys, the schema version, then the fields (NaN as null;
        a field that is ``None`` unless set is left out where it is not set)."""
        return {**self.LEADING, self.VERSION_KEY: self.VERSION, **_json_safe(_dump(self))}

    def write(self, path: PathLike) -> Path:
        """Write the document atomically into ``path`` (a folder or the file); returns the file."""
        file = self.path_in(path)
        return write_json(file, self.to_dict())


# -- tables ----------------------------------------------------------------------------------------


def _base_type(annotation: Any) -> Any:
    """``str`` for ``str | None`` and the like; the annotation itself otherwise."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


class Table(Generic[R]):
    """A CSV file of records of type ``row``: the columns are the row's fields in order, a
    templated ``dict`` field spread over one column per label.

    ``text_cells``: read empty cells as ``""`` instead of NaN (ids and label values as text).
    """

    def __init__(self, file: str, row: type[R], writer: str, *, text_cells: bool = True) -> None:
        self.file = file
        self.row = row
        self.writer = writer
        self.text_cells = text_cells

    def __repr__(self) -> str:
        return f"Table({self.file!r}, {self.row.__name__})"

    # the layout
    def fields(self) -> list[tuple[str, Any, dict[str, Any]]]:
        """(name, base type, extra) of every field, in order."""
        out = []
        for name, info in self.row.model_fields.items():
            extra = dict(info.json_schema_extra or {}) if isinstance(info.json_schema_extra, dict) else {}
            out.append((name, _base_type(info.annotation), extra))
        return out

    def columns(self, labels: Sequence[str] = ()) -> list[str]:
        """Every column, templated ones expanded for ``labels``."""
        out: list[str] = []
        for name, _, extra in self.fields():
            template = extra.get("template")
            out += [template.replace("<label>", k) for k in labels] if template else [name]
        return out

    def required(self, labels: Sequence[str] = ()) -> list[str]:
        """The columns a reader needs (every column but the optional ones)."""
        out: list[str] = []
        for name, _, extra in self.fields():
            if extra.get("optional"):
                continue
            template = extra.get("template")
            out += [template.replace("<label>", k) for k in labels] if template else [name]
        return out

    def text_columns(self, labels: Sequence[str] = ()) -> list[str]:
        """Columns read as text whatever they hold (ids, keys, names: no lost leading zeros)."""
        out: list[str] = []
        for name, kind, extra in self.fields():
            if kind is not str:
                continue
            template = extra.get("template")
            out += [template.replace("<label>", k) for k in labels] if template else [name]
        return out

    def path_in(self, path: PathLike) -> Path:
        """The file itself, or ``file`` inside a folder."""
        path = Path(path)
        return path / self.file if path.is_dir() or path.suffix.lower() != ".csv" else path

    def exists(self, path: PathLike) -> bool:
        return self.path_in(path).is_file()

    # reading
    def read(
        self,
        path: PathLike,
        labels: Sequence[str] = (),
        *,
        need: Iterable[str] = (),
        what: str | None = None,
    ) -> pd.DataFrame:
        """The table in ``path`` (a folder or the file), its columns checked once.

        Every required column (and those in ``need``) must be there, or a :class:`UserError` names
        what is missing; other columns are kept as they are. Text columns are read as text with
        surrounding spaces removed; ``labels`` expands the per-label columns.
        """
        import pandas as pd

        file = self.path_in(path)
        what = what or self.file
        if not file.is_file():
            raise UserError(f"{what} not found: {file}")
        text = self.text_columns(labels)
        try:
            frame = pd.read_csv(
                file,
                dtype=dict.fromkeys(text, str),
                keep_default_na=not self.text_cells,
                encoding="utf-8-sig",
            )
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise UserError(f"{file}: not a readable UTF-8 CSV ({exc})") from None
        except pd.errors.EmptyDataError:
            raise UserError(
                f"{file} is empty: no header row (see docs/data-contracts.md, {self.file})"
            ) from None
        frame.columns = [str(c).strip() for c in frame.columns]
        wanted = list(dict.fromkeys([*self.required(labels), *need]))
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise UserError(
                f"{file}: missing column(s) {', '.join(missing)} (found {', '.join(frame.columns)}); "
                f"see docs/data-contracts.md for the {what} format"
            )
        for name in text:
            if name in frame.columns:
                values = frame[name].fillna("") if self.text_cells else frame[name]
                frame[name] = values.astype(str).str.strip() if self.text_cells else values
        return frame

    def rows(self, frame: pd.DataFrame, labels: Sequence[str] = ()) -> Iterator[R]:
        """Typed records of a frame :meth:`read` returned (no per-row validation: the columns are
        checked already). An absent optional column gives the field's default."""
        fields = self.fields()
        records = frame.to_dict("records")
        for record in records:
            values: dict[str, Any] = {}
            for name, kind, extra in fields:
                template = extra.get("template")
                if template:
                    values[name] = {k: _cell(record.get(template.replace("<label>", k))) for k in labels}
                elif name in record:
                    values[name] = _cast(record[name], kind)
            yield self.row.model_construct(**values)

    def row_of(self, mapping: Mapping[str, Any]) -> R:
        """One record from a mapping of column -> value, validated (for single rows)."""
        try:
            return self.row.model_validate({k: v for k, v in mapping.items() if k in self.row.model_fields})
        except ValidationError as exc:
            raise UserError(f"a {self.file} row does not follow the contract: {_problems(exc)}") from None

    # writing
    def frame(self, rows: Iterable[R] | pd.DataFrame, labels: Sequence[str] = ()) -> pd.DataFrame:
        """Records (or a frame holding at least the required columns) as a frame in column order.

        A column whose field is ``None`` unless set (e.g. images.csv's ``status``) is left out where
        no row sets it; a frame's columns that the contract does not name follow the contract's.
        """
        import pandas as pd

        columns = self.columns(labels)
        if isinstance(rows, pd.DataFrame):
            missing = [c for c in self.required(labels) if c not in rows.columns]
            if missing:
                raise ValueError(f"{self.file}: the frame lacks column(s) {', '.join(missing)}")
            extra = [c for c in rows.columns if c not in set(columns)]
            frame = rows.loc[:, [*(c for c in columns if c in rows.columns), *extra]]
        else:
            frame = pd.DataFrame([self.flat(record, labels) for record in rows], columns=columns)
        unused = [
            name
            for name, info in self.row.model_fields.items()
            if info.default is None and name in frame.columns and frame[name].isna().all()
        ]
        return frame.drop(columns=unused)

    def flat(self, record: R, labels: Sequence[str] = ()) -> dict[str, Any]:
        """One record as column -> value."""
        out: dict[str, Any] = {}
        for name, _, extra in self.fields():
            value = getattr(record, name)
            template = extra.get("template")
            if template:
                for k in labels:
                    out[template.replace("<label>", k)] = (value or {}).get(k)
            else:
                out[name] = value
        return out

    def write(
        self, path: PathLike, rows: Iterable[R] | pd.DataFrame, labels: Sequence[str] = (), **csv: Any
    ) -> Path:
        """Write the table atomically to ``path`` (a folder or the file) in the contract's column
        order; extra ``csv`` options go to ``DataFrame.to_csv`` (e.g. ``float_format``)."""
        frame = self.frame(rows, labels)
        return write_csv(self.path_in(path), frame, **{"index": False, **csv})


def _cell(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _cast(value: Any, kind: Any) -> Any:
    value = _cell(value)
    if value is None or value == "":
        return value if kind is str else None
    if kind is int:
        return int(value)
    if kind is float:
        return float(value)
    if kind is bool:
        return value if isinstance(value, bool) else str(value).strip().lower() == "true"
    return value


def describe(model: type[BaseModel]) -> dict[str, str]:
    """Field (or templated column) name -> description, for the documentation and its test."""
    out = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        out[str(extra.get("template") or name)] = info.description or ""
    return out
