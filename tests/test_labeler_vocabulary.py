"""The vocabulary file (validated on load, extensible) and text normalisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from cxr_regions.errors import UserError
from cxr_regions.label import Labeler, load_vocabulary
from cxr_regions.label.normalise import Normaliser, sentences


def test_packaged_vocabulary_loads_and_names_every_region() -> None:
    vocabulary = load_vocabulary()
    subjects = {cue.subject for cue in vocabulary.cues.values() if cue.subject}
    assert {"thorax", "lungs", "aorta", "heart", "diaphragm", "outside"} <= subjects
    assert vocabulary.ratio_threshold == 0.5


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hospital.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("findings:\n  - name: x\n    region: liver\n    terms: [肿]\n", r"findings\[0\]\.region.*'liver'"),
        ("findings:\n  - name: x\n    terms: ['re:[abc']\n", r"terms\[0\].*not a valid regular"),
        ("findings:\n  - name: x\n    terms: ['re:.*肿']\n", r"must start with a character"),
        ("subjects:\n  thorax: [肺]\n", r"subjects\.thorax\[0\]: '肺' is already listed as subject 'lungs'"),
        ("negation: [结节]\n", r"'结节'.*cannot be combined"),
        ("rule_out: [待议]\n", r"rule_out.*must also be listed under hedge"),
        ("devices: [管]\nnonsense: 1\n", r"nonsense.*Extra inputs"),
        ("findings: [\n", r"not valid YAML"),
    ],
)
def test_a_bad_vocabulary_names_file_entry_and_problem(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, "extends: default\n" + text)
    with pytest.raises(UserError, match=expected) as err:
        load_vocabulary(path)
    assert str(path) in str(err.value)


def test_a_hospital_adds_its_own_phrasing(tmp_path: Path) -> None:
    text = "右肺门区见多发钙化淋巴结，余未见异常。左膈面呈驼峰样改变。"
    default = Labeler()
    assert default.label(text).values["diaphragm"] == "0"
    path = _write(
        tmp_path,
        "extends: default\nfindings:\n  - name: local shapes\n    region: null\n    terms: [驼峰样改变]\n",
    )
    local = Labeler(load_vocabulary(path))
    result = local.label(text)
    assert result.values["diaphragm"] == "1"
    assert result.values["lungs"] == "1"  # the default vocabulary is still there
    assert any(e.cue == "驼峰样改变" for e in result.evidence)


def test_normaliser_full_width_traditional_spaces_and_rewrites() -> None:
    normalise = Normaliser(load_vocabulary().rewrites)
    assert normalise("兩肺紋理增多，肋膈角銳利。") == "两肺纹理增多,肋膈角锐利。"
    assert normalise("心胸比约０．５５（ＣＴＲ）") == "心胸比约0.55(心胸比)"
    assert normalise("两肋隔角锐利，纵膈居中，主动脉走形迂曲") == "两肋膈角锐利,纵隔居中,主动脉走行迂曲"
    assert normalise("小叶间隔增厚") == "小叶间隔增厚"  # 间隔 is protected from 隔 -> 膈
    assert normalise("气管  居中 。") == "气管居中。"
    assert normalise("胸壁皮下气\n肿。\n2.心影增大") == "胸壁皮下气肿。\n2.心影增大"


def test_sentences_split_on_stops_but_not_inside_numbers() -> None:
    assert sentences("心胸比约0.55。右下肺炎症;2023.9.8片对比\n1.心影增大.") == [
        "心胸比约0.55",
        "右下肺炎症",
        "2023.9.8片对比",
        "1",
        "心影增大",
    ]
