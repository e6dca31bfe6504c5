"""labels.csv as one typed contract (cxr_regions.contracts.label_rows): the label stage writes it, build,
report, label-eval and the verdict export read or write it through the same record, and files written
before the evidence had a ``hedge`` key still read."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pandas as pd
import pytest

from cxr_regions.build.join import join_tables
from cxr_regions.contracts import label_rows as contract
from cxr_regions.contracts.label_rows import Evidence, LabelRow, parse_evidence
from cxr_regions.errors import UserError
from cxr_regions.label import label_file
from cxr_regions.label.scoring import read_gold, read_predictions, score

# A labels.csv as `label` wrote it before the evidence had hedge and basis keys: "cue [hedge]".
OLD_FILE = (
    "report_id,thorax,lungs,aorta,heart,diaphragm,label_string,markings_only,status,evidence,unread\r\n"
    'A1,0,u,0,0,0,01000,false,ok,"[{""region"": ""lungs"", ""value"": ""u"", ""clause"": ""左下肺结节可能"", '
    '""cue"": ""结节 [可能]""}]",[]\r\n'
    'A2,0,0,0,1,0,00010,false,ok,"[{""region"": ""heart"", ""value"": ""1"", ""clause"": ""心影增大"", '
    '""cue"": ""增大""}]",[]\r\n'
)
TRICKY = ["R,1", 'R"2', "R\n3", "R4", " R5 "]


def _rows() -> list[LabelRow]:
    hedged = Evidence("lungs", "u", "左下肺结节,可能", "结节", "可能", "hedge")
    stated = Evidence("heart", "1", '心影"增大"', "增大")
    values = {"thorax": "0", "lungs": "u", "aorta": "0", "heart": "1", "diaphragm": "0"}
    return [
        LabelRow(ident, dict(values), markings_only=i == 3, evidence=[hedged, stated], unread=["窦道,形成"])
        for i, ident in enumerate(TRICKY)
    ] + [LabelRow("R6", dict.fromkeys(values, "0"), status="empty_text")]


def test_the_writer_writes_what_the_csv_module_reads_back(tmp_path: Path) -> None:
    path = contract.write(tmp_path / "labels.csv", _rows())
    with path.open(encoding="utf-8", newline="") as fh:
        table = list(csv.reader(fh))
    assert tuple(table[0]) == contract.COLUMNS
    assert [r[0] for r in table[1:]] == [*TRICKY, "R6"]  # commas, quotes and line breaks survive
    # the same bytes as csv.writer would write for the same cells
    expected = io.StringIO(newline="")
    csv.writer(expected).writerows(table)
    assert path.read_bytes().decode("utf-8") == expected.getvalue()
    first = dict(zip(contract.COLUMNS, table[1], strict=True))
    assert first["label_string"] == "01010" and first["markings_only"] == "false"
    assert json.loads(first["unread"]) == ["窦道,形成"]
    items = json.loads(first["evidence"])
    assert items[0] == {
        "region": "lungs",
        "value": "u",
        "clause": "左下肺结节,可能",
        "cue": "结节",
        "hedge": "可能",
        "basis": "hedge",
    }


def test_read_and_rows_give_back_the_records(tmp_path: Path) -> None:
    rows = _rows()
    path = contract.write(tmp_path / "labels.csv", rows)
    back = list(contract.rows(contract.read(path)))
    assert [r.report_id for r in back] == [r.report_id.strip() for r in rows]  # cells are stripped
    assert [(r.values, r.markings_only, r.status, list(r.evidence), list(r.unread)) for r in back] == [
        (r.values, r.markings_only, r.status, list(r.evidence), list(r.unread)) for r in rows
    ]


def test_binary_and_extra_columns(tmp_path: Path) -> None:
    row = _rows()[3]
    row.extra = {"reader": "dr,a", "note": "checked"}
    path = contract.write(tmp_path / "v.csv", [row], binary=True, extra=("reader", "note"))
    frame = contract.read(path)
    assert list(frame.columns) == [*contract.COLUMNS, "reader", "note"]
    assert frame.loc[0, "lungs"] == "1" and frame.loc[0, "reader"] == "dr,a"
    assert next(contract.rows(frame)).extra == {"reader": "dr,a", "note": "checked"}


def test_an_older_labels_csv_reads_with_its_hedge_split_from_the_cue(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(OLD_FILE, encoding="utf-8")
    rows = contract.read_rows(path)
    assert rows["A1"].evidence == [Evidence("lungs", "u", "左下肺结节可能", "结节", "可能", "hedge")]
    assert rows["A2"].evidence == [Evidence("heart", "1", "心影增大", "增大", None, "exact")]
    # label-eval reads it as predictions and names what the labeler read
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        json.dumps({"id": "A1", "text": "", "labels": dict.fromkeys(contract.REGION_KEYS, "0")}) + "\n",
        encoding="utf-8",
    )
    result = score(read_gold(gold), read_predictions(path))
    assert [(d.region, d.rule) for d in result.disagreements] == [("lungs", "opacity hedged")]


def test_evidence_items_parse_from_text_lists_and_nothing() -> None:
    item = {"region": "heart", "value": "1", "clause": "心影增大", "cue": "增大", "hedge": None}
    item["basis"] = "typo"
    assert parse_evidence(json.dumps([item])) == [Evidence("heart", "1", "心影增大", "增大", None, "typo")]
    assert parse_evidence([item]) == parse_evidence(json.dumps([item]))
    assert parse_evidence("") == parse_evidence(None) == parse_evidence(float("nan")) == []
    assert parse_evidence("not json") == []
    assert set(contract.BASES) == {"exact", "typo", "hedge", "default"}


def test_read_checks_columns_and_values(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("report_id,thorax,lungs,aorta,heart\nA,0,0,0,0\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"missing column.*diaphragm"):
        contract.read(path)
    path.write_text("report_id,thorax,lungs,aorta,heart,diaphragm\nA,0,1.0,true,False,0\nB,0,maybe,0,0,0\n")
    with pytest.raises(UserError, match=r"row 3 \(report_id 'B'\) has lungs='maybe'"):
        contract.read(path)
    path.write_text("report_id,thorax,lungs,aorta,heart,diaphragm\nA,0,1.0,true,False,U\n")
    assert contract.read(path).loc[0, list(contract.REGION_KEYS)].tolist() == ["0", "1", "1", "0", "u"]
    with pytest.raises(UserError, match="not found"):
        contract.read(tmp_path / "absent.csv")


def test_the_label_stage_writes_and_build_reads_through_the_contract(tmp_path: Path) -> None:
    reports = tmp_path / "reports.csv"
    pd.DataFrame(
        {"accession_number": ["A1", "A2"], "text": ["左下肺结节可能。", "心影增大,心胸比0.6。"]}
    ).to_csv(reports, index=False)
    labels = tmp_path / "labels.csv"
    label_file(reports, labels, progress=False)
    rows = contract.read_rows(labels)
    assert rows["A1"].evidence[0].hedge == "可能" and rows["A1"].evidence[0].basis == "hedge"
    assert rows["A2"].values["heart"] == "1"
    # build joins films to these labels (and to an older file's) the same way
    (tmp_path / "images").mkdir()
    for name in ("a", "b"):
        (tmp_path / "images" / f"{name}.png").write_bytes(b"")
    images = tmp_path / "images.csv"
    pd.DataFrame(
        {
            "image_id": ["a", "b"],
            "png_path": ["images/a.png", "images/b.png"],
            "patient_key": ["p1", "p2"],
            "accession_number": ["A1", "A2"],
        }
    ).to_csv(images, index=False)
    joined = join_tables(labels, images)
    assert joined.films.set_index("image_id").loc[["a", "b"], ["lungs", "heart"]].values.tolist() == [
        ["u", "0"],
        ["0", "1"],
    ]
    old = tmp_path / "old.csv"
    old.write_text(OLD_FILE, encoding="utf-8")
    assert join_tables(old, images).films["lungs"].tolist() == ["u", "0"]
