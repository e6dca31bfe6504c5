"""Unread text (the ``unread`` column, ``label --review``, ``label-stats``) and the error analysis
(``label-eval --errors``), on small files made here."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from cxr_regions.cli import app
from cxr_regions.label import Labeler, label_file
from cxr_regions.label.files import REVIEW_COLUMNS

REPORTS = [
    ("R1", "两肺纹理增多。心影不大。右侧胸壁见一窦道形成。"),  # 窦道 is no word of the vocabulary
    ("R2", "右侧胸壁见一窦道形成。左肺见斑片影。"),
    ("R3", "两侧胸廓对称。两肺纹理清晰。心影大小正常。双膈面光整，肋膈角锐利。"),
    ("R4", "诊断意见：1.右下肺炎；2.左侧少量胸腔积液。对比2023-9-8旧片，较前吸收。"),
    ("R5", "气管插管末端位于隆突上方。"),
    ("R6", "膈下可见咖啡豆征。"),
]


def _reports(tmp_path: Path) -> Path:
    path = tmp_path / "reports.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["accession_number", "report"])
        writer.writerows(REPORTS)
    return path


def test_unread_clauses_are_those_no_word_read() -> None:
    labeler = Labeler()
    # a subject (胸壁) with nothing known said of it is unread: 窦道 is no word of the vocabulary
    assert labeler.label(REPORTS[0][1]).unread == ["右侧胸壁见一窦道形成"]
    assert labeler.label("横膈:光滑。").unread == []  # a subject that heads what follows is read
    # normal statements, headings, list numbers, dates and comparisons are known phrasing
    assert labeler.label(REPORTS[2][1]).unread == []
    assert labeler.label(REPORTS[3][1]).unread == []
    assert labeler.label(REPORTS[4][1]).unread == []  # a device is read (and gives no label)
    assert labeler.label("胸廓对称。局部可见咖啡豆征。").unread == ["局部可见咖啡豆征"]


def test_label_writes_unread_and_review_lists_the_most_frequent(tmp_path: Path) -> None:
    labels, review = tmp_path / "labels.csv", tmp_path / "review.csv"
    summary = label_file(_reports(tmp_path), labels, progress=False, review=review)
    frame = pd.read_csv(labels, dtype=str, keep_default_na=False).set_index("report_id")
    assert frame.loc["R3", "unread"] == "[]"
    assert json.loads(frame.loc["R6", "unread"])  # 咖啡豆征 is not a word the labeler knows
    rows = list(csv.DictReader(review.open(encoding="utf-8")))
    assert tuple(rows[0]) == REVIEW_COLUMNS
    top = rows[0]
    assert "窦道" in top["clause"] and top["reports"] == "2" and top["example_report_id"] in {"R1", "R2"}
    assert [int(r["reports"]) for r in rows] == sorted((int(r["reports"]) for r in rows), reverse=True)
    assert summary.with_unread == int((frame["unread"] != "[]").sum()) >= 3
    assert summary.unread_clauses == len(rows)

    result = CliRunner().invoke(app, ["label-stats", str(labels)])
    assert result.exit_code == 0, result.output
    share = summary.with_unread / len(REPORTS)
    expected = f"reports with unread clauses: {summary.with_unread} of {len(REPORTS)} ({share:.1%})"
    assert expected in result.output


def test_label_review_option_on_the_command_line(tmp_path: Path) -> None:
    labels, review = tmp_path / "labels.csv", tmp_path / "review.csv"
    result = CliRunner().invoke(
        app, ["label", str(_reports(tmp_path)), "-o", str(labels), "--review", str(review), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert review.is_file() and "窦道" in review.read_text(encoding="utf-8")


def test_label_eval_errors_lists_each_disagreement_by_region_and_rule(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    records = [  # two deliberate disagreements (the gold says what the policy does not)
        {"id": "G1", "text": "右侧第5肋骨骨折。", "labels": dict(zip(("thorax", "lungs", "aorta", "heart",
         "diaphragm"), "00000", strict=True))},
        {"id": "G2", "text": "心影增大。", "labels": dict(zip(("thorax", "lungs", "aorta", "heart",
         "diaphragm"), "00011", strict=True))},
        {"id": "G3", "text": "主动脉迂曲。", "rule": "aorta.tortuous", "thorax": "0", "lungs": "0",
         "aorta": "1", "heart": "0", "diaphragm": "0"},
    ]  # fmt: skip
    gold.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    errors = tmp_path / "errors.md"
    result = CliRunner().invoke(app, ["label-eval", "--gold", str(gold), "--errors", str(errors)])
    assert result.exit_code == 0, result.output
    text = errors.read_text(encoding="utf-8")
    assert "2 disagreement(s)" in text
    thorax = text[text.index("## thorax") : text.index("## lungs")]
    assert "### bone (1)" in thorax and "**G1**: gold `0`, predicted `1`" in thorax
    assert "右侧第5肋骨骨折" in thorax and "cue `骨折`" in thorax
    diaphragm = text[text.index("## diaphragm") :]
    assert "### nothing read (0) (1)" in diaphragm and "**G2**: gold `1`, predicted `0`" in diaphragm
    assert "evidence: none" in diaphragm
    assert "## aorta (0)" in text
    assert "aorta.tortuous" in result.output  # a record with a rule is scored per rule


def test_label_eval_auto_language_names_what_each_report_read(tmp_path: Path) -> None:
    """--language auto: each disagreement is explained with the vocabulary of its report's language."""
    gold = tmp_path / "gold.jsonl"
    zero = dict.fromkeys(("thorax", "lungs", "aorta", "heart", "diaphragm"), "0")
    records = [
        {"id": "Z1", "text": "右侧第5肋骨骨折。", "labels": zero},
        {"id": "E1", "text": "Acute fracture of the right fifth rib.", "labels": zero},
    ]
    gold.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    errors = tmp_path / "errors.md"
    args = ["label-eval", "--gold", str(gold), "--language", "auto", "--errors", str(errors)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    thorax = errors.read_text(encoding="utf-8").split("## thorax")[1].split("## lungs")[0]
    assert "### bone (2)" in thorax, thorax


def test_a_hospital_vocabulary_reads_what_was_unread(tmp_path: Path) -> None:
    ours = tmp_path / "ours.yaml"
    ours.write_text(
        "extends: default\n"
        "findings:\n"
        "  - name: sinus tract\n"
        "    region: thorax\n"
        "    terms: [窦道]\n"
        "normal: [未见特殊改变]\n",
        encoding="utf-8",
    )
    from cxr_regions.label import load_vocabulary

    before, after = Labeler(), Labeler(load_vocabulary(ours))
    text = "右侧胸壁见一窦道形成。膈下未见特殊改变。"
    assert before.label(text).unread == ["右侧胸壁见一窦道形成"]
    result = after.label(text)
    assert result.unread == [] and result.values["thorax"] == "1"


def test_every_label_says_how_it_was_reached() -> None:
    labeler = Labeler()
    result = labeler.label("右侧胸腔积夜可能。心影增大。左肺下叶结节？")  # 积夜: 积液 mistyped
    basis = {k: result.basis(k) for k in result.values}
    assert basis == {"thorax": "default", "lungs": "hedge", "aorta": "default", "heart": "exact",
                     "diaphragm": "typo"}  # fmt: skip
    assert result.values["diaphragm"] == "u"  # read through the typo, hedged
    assert result.typos == [("右侧胸腔积夜可能", "积夜", "积液")]
    # a negation read through a typo gives 0, and the evidence says the 0 rests on a typo
    denied = labeler.label("右侧胸腔位见积液。")  # 位见: 未见 mistyped
    assert denied.values["diaphragm"] == "0" and denied.basis("diaphragm") == "typo"
    assert [(e.region, e.value, e.basis) for e in denied.evidence] == [("diaphragm", "0", "typo")]
    # a word left as written that is a common word is not taken for a typo (部位, 合影)
    assert labeler.label("主动脉弓部见钙化。").values["aorta"] == "1"  # 部见 is no 不见
    assert labeler.label("胸骨正中见钢丝缝合影。").typos == []


def test_review_lists_typo_reads_then_unread_clauses(tmp_path: Path) -> None:
    reports = tmp_path / "reports.csv"
    typos = [("T1", "右侧胸腔积夜。"), ("T2", "左侧胸腔积夜。心影不大。"), ("T3", "右侧胸腔引流官影。")]
    pd.DataFrame([*REPORTS, *typos], columns=["accession_number", "report"]).to_csv(reports, index=False)
    labels, review = tmp_path / "labels.csv", tmp_path / "review.csv"
    summary = label_file(reports, labels, progress=False, review=review)
    table = list(csv.DictReader(review.open(encoding="utf-8")))
    kinds = [r["kind"] for r in table]
    assert kinds == sorted(kinds, key=["typo", "unread"].index)  # the typo reads first
    typo = [r for r in table if r["kind"] == "typo"]
    assert {r["read_as"] for r in typo} == {"积夜 -> 积液", "引流官 -> 引流管"}
    assert summary.with_typos == 3 and summary.typo_reads == len(typo)
    frame = pd.read_csv(labels, dtype=str, keep_default_na=False).set_index("report_id")
    assert frame.loc["T1", "diaphragm"] == "1" and frame.loc["T3", "lungs"] == "0"  # a tube, no opacity
    assert json.loads(frame.loc["T1", "evidence"])[0]["basis"] == "typo"
    # the hospital confirms the misspellings: its vocabulary rewrites them, and label reads them exactly
    ours = tmp_path / "ours.yaml"
    ours.write_text("extends: default\nrewrites:\n  积夜: 积液\n  引流官: 引流管\n", encoding="utf-8")
    again = tmp_path / "again.csv"
    summary = label_file(reports, again, progress=False, vocabulary=ours, review=tmp_path / "r2.csv")
    assert summary.with_typos == 0
    frame = pd.read_csv(again, dtype=str, keep_default_na=False).set_index("report_id")
    assert json.loads(frame.loc["T1", "evidence"])[0]["basis"] == "exact"
