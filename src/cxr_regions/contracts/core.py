"""The two kinds of contract: a JSON :class:`Document` with a schema version, and a CSV :class:`Table`.

Every file one stage writes and another reads is declared once, in this package, as a typed record
(a pydantic model): its fields are the file's keys or columns, their types and their meaning (the
``description``, which docs/data-contracts.md is tested against). Writers and readers go through the
record's ``write`` and ``read``; no stage opens another stage's file by name.

- :class:`Document`: ``Model.read(folder_or_file)`` / ``record.write(folder_or_file)``. The file holds
  a schema version (``schema_version``, or the key ``VERSION_KEY`` names); a file without one is
  version 1, a version this program does not know is refused with a message saying what to do. Keys
  the record does not know are ignored on reading (a newer writer of the same version may add some).
- :class:`~cxr_regions.contracts.csv_table.Table` (a CSV file, one row per record, in
  :mod:`~cxr_regions.contracts.csv_table`): ``TABLE.read(path)`` checks the columns once for
  the whole file and returns a DataFrame (fast at 100,000 rows: no validation per row), and
  ``TABLE.rows(frame)`` gives typed records where a caller wants them. Columns that repeat per label
  (``p_<label>``) are a ``dict`` field with a ``template``. ``TABLE.write(path, rows_or_frame)`` writes
  the columns in the contract's order.

A new contract: a module here with the record (``class XRow(Record)`` / ``class X(Document)``), its
``Table`` or ``FILE`` (the file's name in :mod:`~cxr_regions.contracts.names`), the names in
``__init__``'s exports and :mod:`~cxr_regions.contracts.catalog`, and its fields in
docs/data-contracts.md (``tests/test_contracts_docs.py`` checks that).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.config import JsonDict

from cxr_regions.errors import UserError
from cxr_regions.fileio import write_json

PathLike = str | os.PathLike[str]
D = TypeVar("D", bound="Document")


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
    extra: JsonDict = {"template": template, "optional": optional}
    if default is ... and optional:
        default = None
    return Field(default, description=description, json_schema_extra=extra)


def in_folder(path: PathLike, name: str) -> Path:
    path = Path(path)
    return path / name if path.is_dir() or not path.suffix else path


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


def problems(exc: ValidationError) -> str:
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
        """``FILE`` inside a folder (an existing one, or a path without a suffix), else the path itself."""
        return in_folder(path, cls.FILE)

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
            raise UserError(f"{where} does not follow the {cls.FILE} contract: {problems(exc)}") from None

    def to_dict(self) -> dict[str, Any]:
        """The document as written: leading keys, the schema version, then the fields (NaN as null;
        a field that is ``None`` unless set is left out where it is not set)."""
        return {**self.LEADING, self.VERSION_KEY: self.VERSION, **_json_safe(_dump(self))}

    def write(self, path: PathLike) -> Path:
        """Write the document atomically into ``path`` (a folder or the file); returns the file."""
        file = self.path_in(path)
        return write_json(file, self.to_dict())


def describe(model: type[BaseModel]) -> dict[str, str]:
    """Field (or templated column) name -> description, for the documentation and its test."""
    out = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        out[str(extra.get("template") or name)] = info.description or ""
    return out
