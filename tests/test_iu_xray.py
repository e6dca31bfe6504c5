"""The IU X-ray gold set: MeSH tags -> region labels (docs/english-labels.md), the fixed split, and,
where the torchxrayvision wheel is installed, the reports read from it and the English labeler's
agreement with them."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from cxr_regions.errors import UserError
from cxr_regions.label import iu_xray
from cxr_regions.label.iu_xray import IUReport, iu_part, parse_gold_name, tag_regions


@pytest.mark.parametrize(
    ("tag", "regions"),
    [
        ("normal", ()),
        ("Cardiomegaly/mild", ("heart",)),
        ("Aorta/tortuous", ("aorta",)),
        ("Calcinosis/aorta", ("aorta",)),
        ("Calcinosis/lung/upper lobe/right", ("lungs",)),
        ("Calcinosis/mediastinum/lymph nodes", ()),  # outside the five
        ("Thoracic Vertebrae/degenerative/mild", ("thorax",)),
        ("Spine/degenerative", ("thorax",)),
        ("Scoliosis/lumbar vertebrae/moderate", ()),  # the lumbar spine is outside
        ("Fractures, Bone/ribs/right", ("thorax",)),
        ("Fractures, Bone/humerus", ()),
        ("Diaphragm/right/elevated", ("diaphragm",)),
        ("Costophrenic Angle/left/blunted", ("diaphragm",)),
        ("Pleural Effusion/right/small", ("diaphragm",)),
        ("Opacity/costophrenic angle/left", ("diaphragm",)),
        ("Opacity/lung/base/left/patchy", ("lungs",)),
        ("Nodule/thorax/scattered", ("lungs",)),  # a lung finding "in the thorax" is the hemithorax
        ("Pneumothorax/apex/right", ("lungs",)),
        ("Hydropneumothorax/right", ("lungs", "diaphragm")),
        ("Markings/lung/interstitial/prominent", ()),  # increased markings are normal by the policy
        ("Catheters, Indwelling/right", ()),
        ("Implanted Medical Device/aortic valve", ("heart",)),  # a prosthetic valve is the heart's
        ("Stents/coronary vessels", ("heart",)),
        ("Cardiac Shadow/obscured", ()),  # an obscured heart is no heart finding
        ("Hernia, Hiatal/large", ()),
        ("Subcutaneous  Emphysema/left", ("thorax",)),  # the archive's double space
        ("Something Unknown/lung", None),
    ],
)
def test_tags_map_to_regions_by_the_documented_table(tag: str, regions) -> None:
    assert tag_regions(tag) == regions


def test_a_report_gets_all_its_tags_regions_and_no_gold_where_it_cannot() -> None:
    report = IUReport("CXR9", "Cardiomegaly. Tortuous aorta.", "", ("Cardiomegaly", "Aorta/tortuous"))
    assert report.gold() == {"thorax": "0", "lungs": "0", "aorta": "1", "heart": "1", "diaphragm": "0"}
    assert IUReport("CXR9", "Text.", "", ("No Indexing",)).gold() is None
    assert IUReport("CXR9", "", "", ("normal",)).gold() is None
    assert IUReport("CXR9", "Text.", "", ("Unheard Of",)).gold() is None


def test_the_split_is_fixed_by_the_hash_of_the_id() -> None:
    parts = [iu_part(f"CXR{n}") for n in range(1, 2001)]
    assert parts == [iu_part(f"CXR{n}") for n in range(1, 2001)]
    assert 900 < parts.count("dev") < 1100
    assert iu_part("CXR1") == ("dev" if hashlib.sha256(b"CXR1").digest()[0] % 2 == 0 else "eval")


def test_gold_names() -> None:
    assert parse_gold_name("iu") == "all"
    assert parse_gold_name("iu:eval") == "eval"
    assert parse_gold_name("gold.jsonl") is None
    with pytest.raises(UserError, match="iu:dev or iu:eval"):
        iu_xray.iu_gold("test")


def _installed() -> None:
    try:
        iu_xray.archive_path()
    except UserError as exc:
        pytest.skip(f"torchxrayvision is not installed, so the IU X-ray reports are absent ({exc})")


def test_the_reports_are_read_from_the_installed_wheel() -> None:
    _installed()
    reports = iu_xray.read_iu_reports()
    assert len(reports) == 3955
    dev, test = iu_xray.iu_gold("dev"), iu_xray.iu_gold("eval")
    assert len(dev) + len(test) == len(iu_xray.iu_gold("all")) > 3800
    assert not {r["id"] for r in dev} & {r["id"] for r in test}
    assert all(set(r["labels"].values()) <= {"0", "1"} for r in dev)


def test_label_eval_on_the_evaluation_half_reports_scores_and_disagreements(tmp_path) -> None:
    _installed()
    from cxr_regions.cli import app

    result = CliRunner().invoke(app, ["label-eval", "--gold", "iu:eval", "--show", "2", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "disagree in at least one region" in " ".join(result.output.split())
    score = json.loads((tmp_path / "score.json").read_text(encoding="utf-8"))
    assert score["reports"] > 1800
    assert score["macro_f1"] > 0.9  # a floor against breakage; measured: docs/english-labels.md
    assert 0 < score["reports_disagreeing_binary"] < score["reports"] / 4
    assert "mesh" in (tmp_path / "disagreements.csv").read_text(encoding="utf-8").splitlines()[0]


def test_the_mapping_table_in_the_docs_names_every_head() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "english-labels.md").read_text(encoding="utf-8")
    missing = [head for head in iu_xray.HEADS if f"`{head}`" not in doc]
    assert not missing, f"docs/english-labels.md does not list {missing}"
