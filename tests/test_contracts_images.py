"""images.csv and errors.csv as contracts: ingest writes them through the records, every reader reads
them through the table, columns are checked once per file, and a bad file says what is missing."""

from __future__ import annotations

import pandas as pd
import pytest

from cxr_regions.contracts import ERRORS, IMAGES, ErrorRow, ImageRow
from cxr_regions.errors import UserError


def film(i: int, **extra) -> ImageRow:
    return ImageRow(
        image_id=f"{i:04d}", png_path=f"images/{i:04d}.png", patient_key=f"p{i % 3}", study_uid="1.2",
        series_uid="1.2.3", sop_uid=f"1.2.3.{i}", accession_number=f"A{i:03d}", modality="CR", view="PA",
        rows=2048, columns=2500, bits_stored=12, photometric="MONOCHROME2", pixel_spacing="0.139\\0.139",
        source_path=f"dicom/{i}", **extra,
    )  # fmt: skip


def test_rows_round_trip_with_ids_kept_as_text(tmp_path):
    rows = [film(i) for i in range(5)]
    path = IMAGES.write(tmp_path, rows)
    assert path == tmp_path / "images.csv"
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header == [c for c in IMAGES.columns() if c != "status"]  # ingest never writes status
    frame = IMAGES.read(tmp_path)
    assert frame["image_id"].tolist() == ["0000", "0001", "0002", "0003", "0004"]  # leading zeros kept
    assert list(IMAGES.rows(frame)) == rows


def test_a_table_with_the_optional_status_column_keeps_it(tmp_path):
    rows = [film(1, status="ok"), film(2, status="decode_error")]
    IMAGES.write(tmp_path, rows)
    back = list(IMAGES.rows(IMAGES.read(tmp_path)))
    assert [r.status for r in back] == ["ok", "decode_error"]


def test_a_minimal_table_reads_and_a_table_without_a_needed_column_is_refused(tmp_path):
    path = tmp_path / "images.csv"
    path.write_text(" image_id ,png_path,patient_key\n 7 ,images/7.png,k\n", encoding="utf-8-sig")
    frame = IMAGES.read(path)
    assert frame.loc[0, "image_id"] == "7"  # spaces around names and cells dropped
    assert next(IMAGES.rows(frame)).accession_number == ""
    with pytest.raises(UserError, match=r"missing column\(s\) accession_number.*data-contracts"):
        IMAGES.read(path, need=["accession_number"])
    path.write_text("image_id,png_path\n1,x.png\n", encoding="utf-8")
    with pytest.raises(UserError, match="patient_key"):
        IMAGES.read(path)
    with pytest.raises(UserError, match="not found"):
        IMAGES.read(tmp_path / "absent")


def test_errors_table_round_trip(tmp_path):
    rows = [ErrorRow(source_path="a/b.dcm", status="not_dicom", message="no DICOM preamble")]
    ERRORS.write(tmp_path, rows)
    assert list(ERRORS.rows(ERRORS.read(tmp_path))) == rows
    ERRORS.write(tmp_path, [])
    assert ERRORS.read(tmp_path).columns.tolist() == ["source_path", "status", "message"]
    assert not rows[0].ok and film(1).ok and film(1).full_png_path == "full/0001.png"


def test_a_large_table_is_read_as_one_frame(tmp_path):
    n = 20_000
    frame = pd.DataFrame([IMAGES.flat(film(0))] * n).assign(image_id=[f"{i:06d}" for i in range(n)])
    IMAGES.write(tmp_path, frame)
    back = IMAGES.read(tmp_path)
    assert len(back) == n and back["image_id"].iloc[-1] == f"{n - 1:06d}"
    assert back["rows"].dtype.kind == "i"  # numbers stay numbers, ids stay text


def test_a_list_of_records_is_one_json_cell(tmp_path):
    """The pattern of a table whose rows carry records (labels.csv's evidence): a list field is JSON
    text in its cell, written and read back typed; an empty cell gives the field's default."""
    from cxr_regions.contracts.core import Record, column
    from cxr_regions.contracts.csv_table import Table

    class Mark(Record):
        region: str
        cue: str
        hedge: str | None = None

    class Row(Record):
        report_id: str = column("The report.")
        marks: list[Mark] = column("Evidence, as JSON.", default=[])

    table = Table("marks.csv", Row, "a test")
    rows = [
        Row(report_id="007", marks=[Mark(region="lungs", cue="斑片影", hedge="可能")]),
        Row(report_id="8"),
    ]
    table.write(tmp_path, rows)
    text = (tmp_path / "marks.csv").read_text(encoding="utf-8")
    assert '"[{""region"": ""lungs"", ""cue"": ""斑片影"", ""hedge"": ""可能""}]"' in text
    assert list(table.rows(table.read(tmp_path))) == rows
