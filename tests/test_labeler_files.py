"""label_file and the label / label-stats / label-eval commands on real files made here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cxr_regions.cli import app
from cxr_regions.errors import UserError
from cxr_regions.label import label_file
from cxr_regions.label.files import OUTPUT_COLUMNS, config_path
from cxr_regions.label.table_reader import detect_encoding
from cxr_regions.regions import REGION_KEYS

REPORTS = [
    ("A001", "两肺纹理增多，右下肺野见斑片状模糊影。", "右下肺炎症。"),
    ("A002", "兩肺紋理清晰。心臟擴大。", "心影增大。"),
    ("A003", "", ""),
    ("A004", "左侧肋隔角变钝。", "左侧少量胸腔积液可能。"),
    ("A005", "两肺纹理增多、增粗。心影不大。", "心肺膈未见明显异常。"),
]
EXPECTED = {"A001": "01000", "A002": "00010", "A003": "00000", "A004": "00001", "A005": "00000"}


def _write_csv(path: Path, encoding: str, sep: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh, delimiter=sep)
        writer.writerow(["accession_number", "findings", "impression", "patient_name"])
        for rid, findings, impression in REPORTS:
            writer.writerow([rid, findings, impression, "某某"])
    return path


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _check_output(path: Path) -> pd.DataFrame:
    frame = _read(path)
    assert tuple(frame.columns) == OUTPUT_COLUMNS
    assert dict(zip(frame["report_id"], frame["label_string"], strict=True)) == EXPECTED
    return frame


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_is_detected_and_labelled(tmp_path: Path, encoding: str) -> None:
    source = _write_csv(tmp_path / "reports.csv", encoding)
    assert detect_encoding(source) == encoding
    summary = label_file(source, tmp_path / "labels.csv", progress=False)
    frame = _check_output(tmp_path / "labels.csv")
    assert summary.id_col == "accession_number"
    assert summary.text_cols == ["findings", "impression"]  # both sections read together
    row = frame.set_index("report_id").loc["A004"]
    assert row["diaphragm"] == "1"  # 肋隔角变钝 in the findings beats 积液可能 in the impression
    assert "patient_name" not in frame.columns


def test_gb18030_file_with_only_gbk_text_is_not_taken_for_utf8(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    source.write_bytes("检查号,诊断\nB1,右侧胸腔积液。\nB2,心肺膈未见异常。\n".encode("gb18030"))
    assert detect_encoding(source) == "gb18030"
    label_file(source, tmp_path / "labels.csv", progress=False)
    frame = _read(tmp_path / "labels.csv")
    assert frame["label_string"].tolist() == ["00001", "00000"]


def test_gb18030_found_after_megabytes_of_ascii(tmp_path: Path) -> None:
    body = "id,text\n" + "".join(f"{i},ok\n" for i in range(300_000)) + "X1,右侧胸腔积液。\n"
    source = tmp_path / "late.csv"
    source.write_bytes(body.encode("gb18030"))
    assert detect_encoding(source) == "gb18030"


def test_tsv_jsonl_and_binary_output(tmp_path: Path) -> None:
    tsv = _write_csv(tmp_path / "reports.tsv", "utf-8", sep="\t")
    label_file(tsv, tmp_path / "from_tsv.csv", progress=False)
    _check_output(tmp_path / "from_tsv.csv")

    jsonl = tmp_path / "reports.jsonl"
    with jsonl.open("w", encoding="utf-8") as fh:
        for rid, findings, impression in REPORTS:
            record = {"id": rid, "text": f"{findings}\n{impression}", "extra": 1}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    label_file(jsonl, tmp_path / "from_jsonl.csv", binary=True, progress=False)
    frame = _check_output(tmp_path / "from_jsonl.csv")
    assert set(frame[list(REGION_KEYS)].to_numpy().ravel()) <= {"0", "1"}
    assert frame.set_index("report_id").loc["A004", "diaphragm"] == "1"


def test_xlsx_input(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["影像号", "影像所见", "诊断意见"])
    for rid, findings, impression in REPORTS:
        sheet.append([rid, findings or None, impression or None])
    sheet.append([12345, "胸椎侧弯。", None])  # a numeric id as Excel stores it
    book.save(tmp_path / "reports.xlsx")
    summary = label_file(tmp_path / "reports.xlsx", tmp_path / "labels.csv", progress=False)
    frame = _read(tmp_path / "labels.csv")
    assert summary.text_cols == ["影像所见", "诊断意见"]
    assert dict(zip(frame["report_id"], frame["label_string"], strict=True)) == {**EXPECTED, "12345": "10000"}


def test_chunked_reading_gives_the_same_rows(tmp_path: Path) -> None:
    source = tmp_path / "many.csv"
    rows = [(f"R{i:04d}", REPORTS[i % len(REPORTS)][1]) for i in range(1000)]
    pd.DataFrame(rows, columns=["report_id", "text"]).to_csv(source, index=False)
    seen = []
    label_file(source, tmp_path / "labels.csv", chunk_rows=128, progress=False, on_chunk=seen.append)
    frame = _read(tmp_path / "labels.csv")
    assert frame["report_id"].tolist() == [r[0] for r in rows]
    assert len(seen) == 8 and seen[-1] == 1000


def test_empty_text_gets_a_status_not_a_crash(tmp_path: Path) -> None:
    source = _write_csv(tmp_path / "reports.csv", "utf-8")
    summary = label_file(source, tmp_path / "labels.csv", progress=False)
    frame = _read(tmp_path / "labels.csv").set_index("report_id")
    assert frame.loc["A003", "status"] == "empty_text"
    assert frame.loc["A003", "label_string"] == "00000"
    assert (frame.drop(index="A003")["status"] == "ok").all()
    assert summary.empty_text == 1 and summary.rows == 5
    evidence = json.loads(frame.loc["A001", "evidence"])
    assert evidence and {e["region"] for e in evidence} == {"lungs"}
    assert frame.loc["A005", "markings_only"] == "true"


def test_missing_column_lists_the_columns_present(tmp_path: Path) -> None:
    source = _write_csv(tmp_path / "reports.csv", "utf-8")
    with pytest.raises(UserError) as err:
        label_file(source, tmp_path / "labels.csv", text_cols=["report"], progress=False)
    message = str(err.value)
    assert "'report'" in message and "'findings'" in message and "'impression'" in message
    assert "--text-col" in message
    plain = tmp_path / "plain.csv"
    plain.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"no report id column.*'a', 'b'"):
        label_file(plain, tmp_path / "labels2.csv", progress=False)
    assert not (tmp_path / "labels.csv").exists()


def test_undecodable_file_names_the_file_and_byte_offset(tmp_path: Path) -> None:
    good = "id,text\n" + "".join(f"{i},两肺纹理增多。\n" for i in range(20000))
    data = bytearray(good.encode("utf-8"))
    offset = len(data) - 30
    while data[offset] & 0xC0 == 0x80:  # put the bad byte at a character boundary
        offset += 1
    data[offset:offset] = b"\xff\xfe"
    source = tmp_path / "broken.csv"
    source.write_bytes(bytes(data))
    with pytest.raises(UserError) as err:
        label_file(source, tmp_path / "labels.csv", progress=False)
    assert str(source) in str(err.value)
    assert f"byte offset {offset}" in str(err.value)


def test_config_is_saved_next_to_the_labels(tmp_path: Path) -> None:
    source = _write_csv(tmp_path / "reports.csv", "utf-8")
    label_file(source, tmp_path / "out" / "labels.csv", markings_abnormal=True, progress=False)
    text = config_path(tmp_path / "out" / "labels.csv").read_text(encoding="utf-8")
    assert "markings_abnormal: true" in text and "command: label" in text
    frame = _read(tmp_path / "out" / "labels.csv").set_index("report_id")
    assert frame.loc["A005", "lungs"] == "1"  # the other markings policy


def test_commands_label_stats_and_eval(tmp_path: Path) -> None:
    runner = CliRunner()
    source = _write_csv(tmp_path / "reports.csv", "gb18030")
    labels = tmp_path / "labels.csv"
    result = runner.invoke(app, ["label", str(source), "-o", str(labels), "--quiet"])
    assert result.exit_code == 0, result.output
    _check_output(labels)

    result = runner.invoke(app, ["label-stats", str(labels)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "labels.table1.md").is_file() and (tmp_path / "labels.table1.csv").is_file()
    assert "| normal | 正常 | 1 |" in result.output  # A005 (A003 has no text and is left out)

    gold = tmp_path / "gold.jsonl"
    with gold.open("w", encoding="utf-8") as fh:
        for rid, findings, impression in REPORTS:
            labels_gold = dict(zip(REGION_KEYS, EXPECTED[rid], strict=True))
            if rid == "A004":
                labels_gold["diaphragm"] = "1"
            record = {"id": rid, "text": f"{findings}\n{impression}", "labels": labels_gold}
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    command = ["label-eval", "--gold", str(gold), "--pred", str(labels), "-o", str(tmp_path / "ev")]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "macro F1 1.0000" in result.output
    score = json.loads((tmp_path / "ev" / "score.json").read_text(encoding="utf-8"))
    assert score["macro_f1"] == 1.0 and score["disagreements"] == 0

    result = runner.invoke(app, ["label", str(tmp_path / "nope.csv"), "-o", str(labels)])
    assert result.exit_code != 0


@pytest.mark.parametrize("suffix", ["utf16.txt", "xlsx", "jsonl"])
def test_report_texts_are_read_as_label_reads_them(tmp_path: Path, suffix: str) -> None:
    from cxr_regions.label import read_report_texts

    rows = [{"检查号": rid, "影像所见": f, "诊断意见": i} for rid, f, i in REPORTS]
    frame = pd.DataFrame(rows)
    path = tmp_path / f"reports.{suffix}"
    if suffix == "xlsx":
        frame.to_excel(path, index=False)
    elif suffix == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:  # Excel's "Unicode text": UTF-16 with a BOM, tab-separated
        frame.to_csv(path, sep="\t", index=False, encoding="utf-16")
    texts = read_report_texts(path)  # columns recognised by name, as label recognises them
    assert texts["A001"] == "两肺纹理增多，右下肺野见斑片状模糊影。\n右下肺炎症。"
    assert texts["A003"] == "" and list(texts) == [r[0] for r in REPORTS]
    label_file(path, tmp_path / "labels.csv", progress=False)
    assert list(_read(tmp_path / "labels.csv")["report_id"]) == list(texts)  # the same ids, in order
