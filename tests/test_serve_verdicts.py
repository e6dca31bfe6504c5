"""Verdict export in the labels.csv format (read back by label-eval and build's join) and model agreement."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from typer.testing import CliRunner

from cxr_regions.build.join import join_tables
from cxr_regions.cli import app as cli_app
from cxr_regions.label.scoring import read_gold, score
from cxr_regions.regions import REGION_KEYS
from cxr_regions.serve.store import Store
from cxr_regions.serve.verdicts import EXPORT_COLUMNS, agreement, export_verdicts

NORMAL = dict.fromkeys(REGION_KEYS, "0")
REPORTS = {
    "A1": "心影增大，两肺纹理清晰。",
    "A2": "两肺未见异常，心影不大，膈面光整。",
}


@pytest.fixture
def room(tmp_path):
    """Three read films (two with accession numbers and reports), results, and three verdicts."""
    store = Store(tmp_path / "data")
    a1 = store.add_film(
        image_id="img-a1", png_path="a1.png", width=8, height=8, source="demo", accession="A1",
        report_text=REPORTS["A1"],
    )  # fmt: skip
    a2 = store.add_film(
        image_id="img-a2", png_path="a2.png", width=8, height=8, source="demo", accession="A2",
        report_text=REPORTS["A2"],
    )  # fmt: skip
    bare = store.add_film(image_id="img-x", png_path="x.png", width=8, height=8, source="upload")
    low = dict.fromkeys(REGION_KEYS, 0.2)
    store.set_result(a1.id, {**low, "heart": 0.9})
    store.set_result(a2.id, {**low, "lungs": 0.7})
    store.save_verdict(a1.id, "dr_li", {**NORMAL, "heart": "1"}, note="大心", mark_read=True)
    store.save_verdict(a2.id, "dr_li", NORMAL, mark_read=True)
    store.save_verdict(a1.id, "dr_wang", {**NORMAL, "heart": "u", "lungs": "1"})
    store.save_verdict(bare.id, "dr_wang", {**NORMAL, "aorta": "1"})
    return store


def test_export_writes_the_labels_csv_columns(room, tmp_path):
    out = tmp_path / "verdicts.csv"
    assert export_verdicts(room, out) == 4
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(EXPORT_COLUMNS)
    assert list(frame["report_id"]) == ["A1", "A2", "A1", "img-x"]
    assert list(frame["reader"]) == ["dr_li", "dr_li", "dr_wang", "dr_wang"]
    assert list(frame["heart"]) == ["1", "0", "u", "0"]
    assert list(frame["label_string"]) == ["00010", "00000", "01010", "00100"]
    assert frame["note"][0] == "大心" and frame["text"][1] == REPORTS["A2"]
    assert all(s.endswith("+00:00") for s in frame["saved_at"])


def test_label_eval_scores_the_labeler_against_the_exported_verdicts(room, tmp_path):
    verdicts = tmp_path / "verdicts.csv"
    export_verdicts(room, verdicts)
    reports = tmp_path / "reports.csv"
    pd.DataFrame({"accession_number": list(REPORTS), "findings": list(REPORTS.values())}).to_csv(
        reports, index=False
    )
    runner = CliRunner()
    labelled = runner.invoke(cli_app, ["label", str(reports), "-o", str(tmp_path / "labels.csv"), "-q"])
    assert labelled.exit_code == 0, labelled.output
    # the gold rows of A1 and A2 only: label-eval needs a prediction for every gold id
    only_reports = pd.read_csv(verdicts, dtype=str, keep_default_na=False).query("accession != ''")
    only_reports.to_csv(tmp_path / "gold.csv", index=False)
    result = runner.invoke(
        cli_app, ["label-eval", "--gold", str(tmp_path / "gold.csv"), "--pred", str(tmp_path / "labels.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "3 reports" in result.output
    gold = read_gold(tmp_path / "gold.csv")
    assert [(g["id"], g["labels"]["heart"]) for g in gold] == [("A1", "1"), ("A2", "0"), ("A1", "u")]
    scored = score(gold)  # the labeler on the exported report texts
    heart = scored.regions["heart"]
    assert (heart.tp, heart.fn, heart.tn, heart.fp) == (2, 0, 1, 0)
    assert scored.regions["lungs"].fn == 1  # dr_wang called lungs abnormal, the report does not
    only_reports.drop(columns="text").to_csv(tmp_path / "gold-no-text.csv", index=False)
    no_text = runner.invoke(cli_app, ["label-eval", "--gold", str(tmp_path / "gold-no-text.csv")])
    assert no_text.exit_code != 0
    assert "no report text" in str(no_text.exception) + no_text.output


def test_build_joins_the_exported_verdicts_to_films(room, tmp_path):
    verdicts = tmp_path / "verdicts.csv"
    export_verdicts(room, verdicts)
    images = tmp_path / "images.csv"
    pd.DataFrame(
        {
            "image_id": ["img-a1", "img-a2", "img-x"],
            "png_path": ["a1.png", "a2.png", "x.png"],
            "patient_key": ["p1", "p2", "p3"],
            "accession_number": ["A1", "A2", ""],
        }
    ).to_csv(images, index=False)
    for name in ("a1", "a2", "x"):
        (tmp_path / f"{name}.png").write_bytes(b"")  # the join checks that each film's file exists
    joined = join_tables(verdicts, images, on="accession").films.set_index("image_id")
    assert sorted(joined.index) == ["img-a1", "img-a2"]
    assert joined.loc["img-a1", "heart"] == "1" and joined.loc["img-a1", "lungs"] == "1"  # 1 beats u
    assert joined.loc["img-a2", list(REGION_KEYS)].tolist() == ["0"] * 5
    by_image = join_tables(verdicts, images, on="image_id").films.set_index("image_id")
    assert by_image.loc["img-x", "aorta"] == "1"


def test_agreement_counts_u_as_abnormal(room):
    stats = agreement(room, {})  # every region at the default 0.5
    heart = stats["heart"]
    assert (heart.n, heart.tp, heart.fp, heart.tn, heart.fn) == (3, 2, 0, 1, 0)
    assert heart.sensitivity == 1.0 and heart.specificity == 1.0 and heart.threshold == 0.5
    lungs = stats["lungs"]
    assert (lungs.tp, lungs.fp, lungs.tn, lungs.fn) == (0, 1, 1, 1)
    assert lungs.sensitivity == 0.0 and lungs.specificity == 0.5
    assert math.isnan(stats["aorta"].sensitivity) and stats["aorta"].to_dict()["sensitivity"] is None
    strict = agreement(room, {"heart": 0.95})
    assert (strict["heart"].tp, strict["heart"].fn, strict["heart"].threshold) == (0, 2, 0.95)
    assert strict["lungs"].threshold == 0.5 and strict["lungs"].fp == 1
