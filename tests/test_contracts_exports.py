"""The files made for people and other tools: the reading room's verdict export (labels.csv layout)
and the demo's summary.json, written through their records."""

from __future__ import annotations

import json

import pandas as pd

from cxr_regions.contracts import VERDICTS, DemoSummary, VerdictRow
from cxr_regions.regions import REGION_KEYS


def test_the_verdict_export_has_the_labels_csv_layout_and_reads_back(tmp_path):
    from cxr_regions.serve.verdicts import EXPORT_COLUMNS

    after = [
        "label_string",
        "reader",
        "saved_at",
        "note",
        "cardiothoracic_ratio",
        "image_id",
        "accession",
        "text",
    ]
    assert list(EXPORT_COLUMNS) == ["report_id", *REGION_KEYS, *after]
    row = VerdictRow(
        report_id="A001", labels=dict(zip(REGION_KEYS, "01u00", strict=True)), label_string="01100",
        reader="dr.li", saved_at="2024-05-01T08:00:00+00:00", note="", image_id="0042", accession="A001",
        text="两肺纹理增多",
    )  # fmt: skip
    path = VERDICTS.write(tmp_path / "verdicts.csv", [row], REGION_KEYS)
    frame = VERDICTS.read(path, REGION_KEYS)
    assert frame["image_id"].tolist() == ["0042"] and frame["note"].tolist() == [""]
    assert list(VERDICTS.rows(frame, REGION_KEYS)) == [row]
    assert (
        VERDICTS.write(tmp_path / "mine.txt", [row], REGION_KEYS) == tmp_path / "mine.txt"
    )  # a file name kept


def test_the_demo_summary_is_a_versioned_document(tmp_path):
    from cxr_regions.workflows.demo import DemoConfig, DemoResult, summary_document, summary_record

    auc = pd.DataFrame(
        {"label": ["heart", "mean"], "auc": [0.9, 0.85], "ci_low": [0.8, 0.8], "ci_high": [1.0, 0.9]}
    )
    result = DemoResult(out=tmp_path, report=tmp_path / "report.html", auc=auc, seconds={"train": 12.5})
    config = DemoConfig(out=tmp_path, seed=3)
    record = summary_record(config, result)
    assert (
        record["schema_version"] == 1
        and record["config"]["seed"] == 3
        and record["config"]["out"] == str(tmp_path)
    )
    summary_document(config, result).write(tmp_path)
    back = DemoSummary.read(tmp_path)
    assert back.auc[-1] == {"label": "mean", "auc": 0.85, "ci_low": 0.8, "ci_high": 0.9}
    assert back.seconds == {"train": 12.5} and back.localisation == []
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8")) == record
