"""A CSV contract: :class:`Table`, the file of records of one row type, its columns checked once per
file (fast at 100,000 rows: no validation per row), typed records where a caller wants them."""

from __future__ import annotations

import json
import math
import types
import typing
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, TypeAdapter, ValidationError

from cxr_regions.contracts.core import PathLike, Record, in_folder, problems
from cxr_regions.errors import UserError
from cxr_regions.fileio import write_csv

if typing.TYPE_CHECKING:
    import pandas as pd

R = TypeVar("R", bound=Record)


def _base_type(annotation: Any) -> Any:
    """The type of one cell: ``str`` for ``str | None``, and for a templated ``dict[str, X]`` field
    (one column per label) the type of its values, ``X``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base_type(args[0]) if len(args) == 1 else annotation
    if typing.get_origin(annotation) is dict:
        return _base_type(typing.get_args(annotation)[1])
    return annotation


def _is_json(kind: Any) -> bool:
    """A field whose cell holds JSON text: a list (e.g. of records) or a record."""
    return typing.get_origin(kind) in (list, tuple) or (
        isinstance(kind, type) and issubclass(kind, BaseModel)
    )


class Table(Generic[R]):
    """A CSV file of records of type ``row``: the columns are the row's fields in order, a
    templated ``dict`` field spread over one column per label, a list or record field as JSON text
    in its cell (e.g. a list of evidence records).

    ``text_cells``: read empty cells as ``""`` instead of NaN (ids and label values as text).
    ``strip``: remove spaces around text cells (tables people may make by hand).
    """

    def __init__(
        self, file: str, row: type[R], writer: str, *, text_cells: bool = True, strip: bool = True
    ) -> None:
        self.file = file
        self.row = row
        self.writer = writer
        self.text_cells = text_cells
        self.strip = strip
        self._adapters: dict[str, TypeAdapter[Any]] = {}

    def _adapter(self, name: str) -> TypeAdapter[Any]:
        if name not in self._adapters:
            annotation = self.row.model_fields[name].annotation
            assert annotation is not None, f"{self.row.__name__}.{name} has no type"
            self._adapters[name] = TypeAdapter(annotation)
        return self._adapters[name]

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
            if kind is not str and not _is_json(kind):
                continue
            template = extra.get("template")
            out += [template.replace("<label>", k) for k in labels] if template else [name]
        return out

    def path_in(self, path: PathLike) -> Path:
        """``file`` inside a folder (an existing one, or a path without a suffix), else the path itself."""
        return in_folder(path, self.file)

    def exists(self, path: PathLike) -> bool:
        return self.path_in(path).is_file()

    # reading
    def read(
        self,
        path: PathLike,
        labels: Sequence[str] = (),
        *,
        need: Iterable[str] = (),
        only: Iterable[str] | None = None,
        what: str | None = None,
    ) -> pd.DataFrame:
        """The table in ``path`` (a folder or the file), its columns checked once.

        Every required column (and those in ``need``; with ``only``, just those) must be there, or a
        :class:`UserError` names what is missing; other columns are kept as they are. Text columns are
        read as text with surrounding spaces removed; ``labels`` expands the per-label columns.
        """
        import pandas as pd

        file = self.path_in(path)
        what = what or self.file
        if not file.is_file():
            raise UserError(f"{what} not found: {file}")
        text = self.text_columns(labels)
        try:
            header = pd.read_csv(file, nrows=0, encoding="utf-8-sig").columns
            frame = pd.read_csv(
                file,
                dtype={raw: str for raw in header if str(raw).strip() in text},  # " image_id " too
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
        wanted = list(dict.fromkeys([*(self.required(labels) if only is None else only), *need]))
        missing = [c for c in wanted if c not in frame.columns]
        if missing:
            raise UserError(
                f"{file}: missing column(s) {', '.join(missing)} (found {', '.join(frame.columns)}); "
                f"see docs/data-contracts.md for the {what} format"
            )
        if self.text_cells and self.strip:
            for name in text:
                if name in frame.columns:
                    frame[name] = frame[name].str.strip()
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
                    cells = {k: record.get(template.replace("<label>", k)) for k in labels}
                    values[name] = {k: _cast(v, kind) for k, v in cells.items()}
                elif name in record and _is_json(kind):
                    cell = _cell(record[name])
                    if cell not in (None, ""):
                        values[name] = self._adapter(name).validate_json(cell)
                elif name in record:
                    values[name] = _cast(record[name], kind)
            yield cast(R, self.row.model_construct(**values))  # the pydantic plugin types it as the bound

    def row_of(self, mapping: Mapping[str, Any]) -> R:
        """One record from a mapping of column -> value, validated (for single rows)."""
        try:
            return self.row.model_validate({k: v for k, v in mapping.items() if k in self.row.model_fields})
        except ValidationError as exc:
            raise UserError(f"a {self.file} row does not follow the contract: {problems(exc)}") from None

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
        for name, kind, extra in self.fields():
            value = getattr(record, name)
            template = extra.get("template")
            if template:
                for k in labels:
                    out[template.replace("<label>", k)] = (value or {}).get(k)
            elif _is_json(kind) and value is not None:
                plain = self._adapter(name).dump_python(value, mode="json")
                out[name] = json.dumps(plain, ensure_ascii=False)
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
