"""Each rule of labeling-policy.md, exercised by sentences written for these tests.

Expected values are the policy's, written as five characters in region order
(thorax lungs aorta heart diaphragm), e.g. ``0u000`` = lungs uncertain.
"""

from __future__ import annotations

import pytest

from cxr_regions.label import Labeler
from cxr_regions.regions import REGION_KEYS


@pytest.fixture(scope="module")
def labeler() -> Labeler:
    return Labeler()


def values(labeler: Labeler, text: str) -> str:
    result = labeler.label(text)
    return "".join(result.values[k] for k in REGION_KEYS)


def check(labeler: Labeler, cases: list[tuple[str, str]]) -> None:
    wrong = [(text, want, got) for text, want in cases if (got := values(labeler, text)) != want]
    assert not wrong, "\n".join(f"{t}: want {w}, got {g}" for t, w, g in wrong)


def test_the_papers_two_examples(labeler: Labeler) -> None:
    normal = (
        "两侧胸廓对称。两肺纹理稍增多，未见明显异常实变影。心影外形及大小如常。两膈面光整，两肋隔角锐利。"
    )
    abnormal = (
        "两侧胸廓对称。两肺纹理增多，两肺下野见片絮状模糊影。主动脉结突出并见钙化灶。"
        "心影外形及大小如常。两膈面光整，两肋隔角模糊。"
    )
    first, second = labeler.label(normal), labeler.label(abnormal)
    assert first.label_string == "00000"
    assert first.markings_only  # normal only by the increased-markings rule
    assert second.label_string == "01101"
    assert not second.markings_only


THORAX = [
    ("胸廓不对称。", "10000"),
    ("胸廓畸形，呈桶状胸。", "10000"),
    ("胸椎侧弯。", "10000"),
    ("胸腰段脊柱轻度侧弯。", "10000"),
    ("右侧第4肋骨骨折。", "10000"),
    ("左第5肋骨折。", "10000"),  # shorthand: 肋骨 and 骨折 share the 骨
    ("左侧第5、6肋骨陈旧性骨折。", "10000"),
    ("右侧第7后肋局部骨质欠连续。", "10000"),
    ("左锁骨骨折术后，见内固定影。", "10000"),
    ("胸骨正中术后改变，可见多发钢丝影。", "10000"),
    ("右侧肋骨骨质破坏。", "10000"),
    ("胸椎退行性变。", "10000"),
    ("胸12椎体压缩性骨折。", "10000"),
    ("T12椎体楔形变。", "10000"),
    ("右侧胸壁皮下气肿。", "10000"),
    ("左侧胸壁软组织肿块。", "10000"),
    ("左侧乳房术后改变。", "10000"),
    ("右侧乳房影未见显示。", "10000"),
    ("左侧乳房结节。", "10000"),
    ("左乳术后改变。", "10000"),  # 左乳 is short for 左侧乳房
    ("右乳缺如。", "10000"),
    ("右乳影未见显示。", "10000"),
    ("右侧颈肋。", "10000"),
    ("胸壁异物。", "10000"),
]
THORAX_NOT = [
    ("双侧肋骨未见骨折。", "00000"),
    ("右肱骨折。", "00000"),
    ("所见骨质结构完整。", "00000"),
    ("腰椎退行性变。", "00000"),
    ("L1椎体压缩骨折。", "00000"),
    ("颈椎骨质增生。", "00000"),
    ("左肩关节退行性变。", "00000"),
    ("右侧肱骨头骨折。", "00000"),
    ("颈部软组织肿胀。", "00000"),
    ("双乳影重叠于两下肺野。", "00000"),
]


def test_thorax_findings(labeler: Labeler) -> None:
    check(labeler, THORAX)


def test_thorax_negated_and_outside_the_cage(labeler: Labeler) -> None:
    check(labeler, THORAX_NOT)


def test_positioning_explains_a_curve_unless_only_to_be_ruled_out(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("胸廓不对称，考虑体位所致。", "00000"),
            ("脊柱轻度侧弯，体位所致。", "00000"),
            ("胸廓欠对称，待排体位因素。", "10000"),
        ],
    )


LUNGS = [
    ("右下肺片状模糊影。", "01000"),
    ("右侧气胸，肺组织压缩约40%。", "01000"),
    ("右肺中叶不张。", "01000"),
    ("两肺门影增大、增浓。", "01000"),
    ("两肺间质性改变。", "01000"),
    ("两肺水肿。", "01000"),
    ("肺淤血。", "01000"),
    ("双肺散在纤维条索灶。", "01000"),
    ("右肺尖陈旧性结核。", "01000"),
    ("右下肺野见钙化灶。", "01000"),
    ("肺血减少。", "01000"),
    ("肺血增多。", "01000"),
    ("右肺术后改变。", "01000"),
    ("左肺上叶见空洞。", "01000"),
    ("慢性支气管炎、肺气肿。", "01000"),
    ("支气管扩张。", "01000"),
    ("两下肺网格状影。", "01000"),
    ("右肺下叶磨玻璃密度影。", "01000"),
    ("两肺透光度增高，两肺纹理稀疏。", "01000"),
    ("双下肺坠积性改变。", "01000"),
    ("左肺上叶见团块影，大小约3.5cm×4.0cm，边缘分叶。", "01000"),
    ("左侧少量胸腔积液，左肺下叶部分膨胀不全。", "01001"),
]
LUNGS_NOT = [
    ("胸廓对称，纵隔未见增宽。两肺野清晰，未见异常密度影。两肺门影不大。心影大小、形态正常。", "00000"),
    ("两肺未见明显实质性病变。", "00000"),
    ("两肺野清晰，未见异常密度影。", "00000"),
    ("未见气胸征象。", "00000"),
    ("右侧气胸征象不明确。", "00000"),
    ("两肺未见实变及结节影。", "00000"),
    ("右肺复张良好。", "00000"),
    ("右肺复张良好，胸腔引流管留置。", "00000"),
]


def test_lung_findings(labeler: Labeler) -> None:
    check(labeler, LUNGS)


def test_lung_negations_and_re_expansion(labeler: Labeler) -> None:
    check(labeler, LUNGS_NOT)


def test_opacity_put_down_to_something_outside_the_patient(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("体外异物影。", "00000"),
            ("左下肺野见结节影，考虑乳头影。", "00000"),
            ("右上肺野小结节影，考虑体外异物。", "00000"),
            ("右肺下野结节影，考虑为血管断面。", "00000"),
            ("右下肺野小结节，乳头影可能。", "0u000"),  # the explanation itself is in doubt
        ],
    )


def test_increased_markings_alone_are_normal(labeler: Labeler) -> None:
    for text in ("两肺纹理增多、增粗。", "两肺纹理增重。", "双肺纹理增多，请结合临床。", "两側肺紋理增加。"):
        result = labeler.label(text)
        assert result.values["lungs"] == "0", text
        assert result.markings_only, text
    for text in ("两肺纹理增多、紊乱。", "两肺纹理增多模糊。", "两肺纹理增多，右下肺纹理紊乱。"):
        result = labeler.label(text)
        assert result.values["lungs"] == "1", text
        assert not result.markings_only, text
    assert not labeler.label("肺纹理清晰，走行自然。").markings_only


def test_the_other_markings_policy_is_an_option() -> None:
    strict = Labeler(markings_abnormal=True)
    result = strict.label("两肺纹理增多、增粗，未见明确实变影。心影不大。")
    assert result.values["lungs"] == "1"
    assert not result.markings_only
    assert any(e.region == "lungs" and e.cue in ("增多", "增粗") for e in result.evidence)
    assert strict.label("两肺纹理无明显增多。").values["lungs"] == "0"


AORTA = [
    ("主动脉结突出。", "00100"),
    ("主动脉弓钙化。", "00100"),
    ("主动脉迂曲延长。", "00100"),
    ("主动脉增宽。", "00100"),
    ("主动脉硬化。", "00100"),
    ("主动脉结缩小。", "00100"),
    ("降主动脉迂曲。", "00100"),
    ("主动脉弓部见钙化斑。", "00100"),
    ("主动脉结明显突出，其内见弧形钙化影。", "00100"),
    ("主动脉支架术后改变。", "00100"),
    ("主动脉型心脏。", "00110"),
    ("心影呈主动脉型，主动脉结突出。", "00110"),
    ("主动脉结不宽，未见钙化。", "00000"),
    ("心影大小正常，主动脉未见增宽。", "00000"),
]


def test_aorta(labeler: Labeler) -> None:
    check(labeler, AORTA)


HEART = [
    ("心影增大。", "00010"),
    ("心影稍大。", "00010"),
    ("心影饱满。", "00010"),
    ("卧位心影增大。", "00010"),
    ("心胸比约0.56。", "00010"),
    ("心胸比例55%。", "00010"),
    ("CTR 0.55。", "00010"),
    ("心影呈二尖瓣型。", "00010"),
    ("心影呈靴型。", "00010"),  # boot-shaped: the aorta only when named
    ("肺动脉段突出。", "00010"),
    ("心包积液。", "00010"),
    ("心影区见人工瓣膜影。", "00010"),
    ("心脏瓣膜置换术后改变。", "00010"),
]
HEART_NOT = [
    ("心胸比0.48。", "00000"),
    ("心胸比<0.5。", "00000"),
    ("心胸比约为1:2。", "00000"),  # a ratio written as a fraction
    ("心影显示不清。", "00000"),  # obscured: the cause lies next door
    ("心影模糊。", "00000"),
    ("心影左移。", "00000"),
    ("心影大小正常。", "00000"),
    ("心影不大。", "00000"),
    ("心影无增大，主动脉无迂曲。", "00000"),
]


def test_heart(labeler: Labeler) -> None:
    check(labeler, HEART)


def test_heart_normal_shifted_or_obscured(labeler: Labeler) -> None:
    check(labeler, HEART_NOT)


DIAPHRAGM = [
    ("右膈面抬高。", "00001"),
    ("右侧膈面模糊。", "00001"),
    ("左侧肋膈角变钝。", "00001"),
    ("双侧肋膈角消失。", "00001"),
    ("左侧肋膈角变浅。", "00001"),
    ("左侧肋膈角欠锐利。", "00001"),
    ("右侧胸腔积液。", "00001"),
    ("左侧胸腔包裹性积液。", "00001"),
    ("右侧胸膜增厚、粘连。", "00001"),
    ("左侧胸膜钙化。", "00001"),
    ("叶间胸膜增厚。", "00001"),
    ("膈下游离气体。", "00001"),
    ("右膈下少量积气。", "00001"),
    ("右侧膈疝。", "00001"),
    ("右侧膈膨升。", "00001"),
    ("右侧液气胸。", "01001"),  # air for the lungs, fluid for the diaphragm
]
DIAPHRAGM_NOT = [
    ("双侧肋膈角锐利。", "00000"),
    ("两膈面光整。", "00000"),
    ("双侧胸腔未见积液。", "00000"),
    ("无胸腔积液及气胸。", "00000"),
    ("胸腔积液不明显。", "00000"),
    ("左侧膈下见胃泡影。", "00000"),
    ("右膈下见致密影。", "00000"),  # below the diaphragm: the abdomen
]


def test_diaphragm(labeler: Labeler) -> None:
    check(labeler, DIAPHRAGM)


def test_diaphragm_normal(labeler: Labeler) -> None:
    check(labeler, DIAPHRAGM_NOT)


def test_hedged_findings_are_u_but_a_hedged_cause_is_not(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("可疑结节影。", "0u000"),
            ("右下肺野似见小结节影。", "0u000"),
            ("右下肺结节？", "0u000"),
            ("疑右侧少量气胸。", "0u000"),
            ("右侧气胸不除外。", "0u000"),
            ("左下肺炎症待排。", "0u000"),
            ("除外左下肺炎症？", "0u000"),
            ("左下肺野炎症可能性大。", "0u000"),
            ("右侧胸腔少量积液可能。", "0000u"),
            ("心影可疑增大。", "000u0"),
            # an opacity is stated; only its cause is in doubt
            ("右下肺片状模糊影，考虑炎症可能。", "01000"),
            ("左下肺野小片状影，炎症可能性大。", "01000"),
            ("右下肺野结节，不除外肺癌。", "01000"),
            ("双肺纹理增多，右下肺见斑片影（炎症？）", "01000"),
            ("左侧肋膈角显示不清，考虑少量胸腔积液可能。", "00001"),
        ],
    )


def test_forms_of_negation(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("主动脉结不突出。", "00000"),
            ("心影不增大。", "00000"),
            ("心影无增大，肋膈角未见变钝。", "00000"),
            ("主动脉未见迂曲。", "00000"),
            ("双侧膈下未见游离气体。", "00000"),
            ("心影大小正常，心包未见积液。", "00000"),
            ("两肺不同程度纤维化。", "01000"),  # 不同 is no negation
            ("两肺见大小不等结节影。", "01000"),
            ("左侧肋膈角不锐利。", "00001"),  # 不锐利 is a finding, not a negated one
            ("無法排除肺炎。", "0u000"),  # "cannot be excluded" is a hedge
        ],
    )


def test_a_denial_said_of_one_subject_ends_at_the_next(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("心影未见增大主动脉迂曲", "00100"),  # run-on: no comma between two statements
            ("心影不大主动脉结突出", "00100"),
            ("两肺未见实变右侧肋膈角变钝", "00001"),
            ("心影似增大主动脉迂曲", "001u0"),
            # a negation that opens a list still reaches every item of it
            ("未见肺实变及胸腔积液。", "00000"),
            ("两肺未见明显渗出、实变及肺门增大。", "00000"),
            ("胸廓对称未见肋骨骨折。", "00000"),
            ("两肺、心、膈未见异常。", "00000"),
        ],
    )


def test_lung_words_do_not_take_a_subject_carried_over(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("心影增大，见少许渗出。", "01010"),
            ("心影不大，见少许渗出影。", "01000"),  # and the 影 of 渗出影 is the exudate's
            ("右侧胸腔积液，左下肺见实变。", "01001"),
            ("主动脉结突出，见钙化。", "00100"),  # a generic word still takes the carried subject
        ],
    )


def test_the_shadow_of_a_named_thing_is_no_lung_opacity(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("人工瓣环影。", "00010"),
            ("胸骨术后，见钢丝影。", "10000"),
            ("见钙化影。", "01000"),  # a calcification said of nothing is a lung focus
        ],
    )


def test_density_words_describe_an_opacity(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("右肺见异常密度影。", "01000"),
            ("左下肺见类圆形密度影。", "01000"),
            ("右肺门区见软组织密度肿块影。", "01000"),  # a lung mass, not the chest wall's soft tissue
            ("右侧胸壁见软组织密度影。", "10000"),
            ("两肺未见异常密度影。", "00000"),
            ("心膈角区见脂肪密度影。", "00000"),  # a fat pad
        ],
    )


def test_strongest_statement_wins(labeler: Labeler) -> None:
    result = labeler.label("右下肺可疑结节。左下肺斑片影。右侧胸腔积液可能。")
    assert result.values["lungs"] == "1"
    assert result.values["diaphragm"] == "u"
    assert all(e.value == "1" for e in result.evidence if e.region == "lungs")


def test_devices_alone_give_no_label(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("右侧胸腔引流管留置。", "00000"),
            ("气管插管，末端位于隆突上方约3cm。", "00000"),
            ("心电监护导线影。", "00000"),
            ("左上胸壁见起搏器影，导线末端位于右心室。", "00000"),
            ("心脏起搏器植入术后。", "00000"),
            ("PICC管末端位于上腔静脉。", "00000"),
            ("右侧胸壁置管影。", "00000"),
            ("右肺放射性粒子植入术后。", "00000"),
            # a finding beside a device still counts
            ("右侧胸腔引流管留置，右侧少量气胸。", "01000"),
            ("右侧胸壁置管影及少许积气影。", "10000"),
        ],
    )


def test_structures_outside_the_five(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("纵隔增宽。", "00000"),
            ("气管右移。", "00000"),
            ("纵隔内见多发淋巴结钙化。", "00000"),
            ("上腹部见肠管积气。", "00000"),
            ("胃泡影增大。", "00000"),
            ("左侧锁骨上淋巴结肿大。", "00000"),
            ("甲状腺肿大，气管受压右移。", "00000"),
            ("左侧前臂软组织肿胀。", "00000"),
            ("心影增大，上纵隔稍增宽。", "00010"),
        ],
    )


def test_advice_changes_nothing(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("请结合临床。", "00000"),
            ("建议复查胸部CT以除外肺结核。", "00000"),
            ("右上肺结节影，建议CT检查。", "01000"),
            ("右肺门增大，请结合临床。", "01000"),
        ],
    )


def test_comparison_with_a_prior_film(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("右下肺炎症较前吸收好转。", "01000"),
            ("两肺炎症，较前相仿。", "01000"),
            ("两肺散在渗出，较前进展。", "01000"),
            ("左侧胸腔积液较前减少。", "00001"),
            ("右下肺炎症较前明显吸收，仍见少许斑片影。", "01000"),
            ("右下肺炎症较前完全吸收。", "00000"),
            ("原右下肺斑片影已消失。", "00000"),
            ("左侧胸腔积液已吸收。", "00000"),
            ("右侧气胸，较前已吸收。", "00000"),
            ("对比前片，左侧胸腔积液消失。", "00000"),
        ],
    )


def test_traditional_characters(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("兩肺紋理增多。心臟擴大。主動脈迂曲。", "00110"),
            ("雙側肋膜積液。", "00001"),
            ("左側肋膜積水。", "00001"),
            ("右側橫膈抬高。", "00001"),
            ("肋膈角銳利。兩肺未見實質化病灶。", "00000"),
            ("脊椎側彎。", "10000"),
            ("右下肺葉浸潤，疑似肺炎。", "01000"),
            ("心臟大小正常，CT ratio 約 0.45。", "00000"),
            ("兩側肺紋增加。", "00000"),  # 肺紋 (no 理): increased markings
            ("兩側肺野可見增加之紋理。", "00000"),  # the increase said before the noun
        ],
    )


def test_full_width_forms_and_numbering(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("１、右下肺炎症。２、心影增大。", "01010"),
            ("心胸比約０．５５", "00010"),
            ("1.双肺纹理增多\n2.双侧肺门影浓密。", "01000"),
        ],
    )


def test_misspellings_and_variants(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("两肋隔角锐利，双隔面光整。", "00000"),
            ("左侧肋隔角变钝。", "00001"),
            ("隔角变钝。", "00001"),
            ("隔面抬高。", "00001"),
            ("心肺隔未见异常。", "00000"),
            ("心、肺、隔未见明显异常。", "00000"),
            ("纵膈增宽。", "00000"),
            ("主动脉走形迂曲。", "00100"),
            ("双肺野见斑片状影。", "01000"),
        ],
    )


def test_soft_line_wraps_are_joined(labeler: Labeler) -> None:
    assert values(labeler, "右肺术后，右侧胸壁皮下气\n肿。") == "11000"
    assert values(labeler, "心脏：\n增大。\n肋膈角：\n变钝") == "00011"  # structured report headings


def test_empty_or_missing_text_is_all_zero_with_a_status(labeler: Labeler) -> None:
    for text in ("", "   ", None, "\n\n"):
        result = labeler.label(text)
        assert result.status == "empty_text"
        assert result.label_string == "00000"
    assert labeler.label("心肺膈未见异常。").status == "ok"


def test_evidence_names_clause_cue_and_value(labeler: Labeler) -> None:
    result = labeler.label("两肺纹理增多。右侧肋膈角变钝。心影不大。左下肺结节？")
    by_region = {e.region: e for e in result.evidence}
    assert set(by_region) == {"lungs", "diaphragm"}
    assert by_region["diaphragm"].value == "1"
    assert by_region["diaphragm"].cue == "变钝"
    assert by_region["diaphragm"].clause == "右侧肋膈角变钝"
    assert by_region["lungs"].value == "u"
    assert (by_region["lungs"].cue, by_region["lungs"].hedge) == ("结节", "?")
    assert (by_region["lungs"].basis, by_region["diaphragm"].basis) == ("hedge", "exact")
    assert by_region["diaphragm"].hedge is None
    assert result.evidence[0].to_dict().keys() == {"region", "value", "clause", "cue", "hedge", "basis"}


def test_labels_do_not_depend_on_the_sentence_cache() -> None:
    text = "两肺纹理增多，右下肺斑片影。心影增大。右侧肋膈角变钝。"
    cold, warm = Labeler(), Labeler()
    warm.label(text)
    assert cold.label(text) == warm.label(text)


def test_numbered_items_and_web_line_breaks_end_a_statement(labeler: Labeler) -> None:
    check(
        labeler,
        [
            ("1、考虑右下肺炎 2、胸椎侧弯", "1u000"),  # the hedge of item 1 does not reach item 2
            ("1、考虑右下肺炎<br/>2、胸椎侧弯", "1u000"),
            ("<p>考虑右下肺炎</p><p>胸椎侧弯</p>", "1u000"),
            ("1、心影不大 2、主动脉结突出", "00100"),
            ("右侧第4、5、6肋骨骨折", "10000"),  # an enumeration of rib numbers is no list
            ("胸11、12椎体变扁，L1、L2椎体正常", "10000"),
            ("两肺<b>纹理</b>增多", "00000"),
        ],
    )
    assert labeler.normalise("右下肺炎\\n胸椎侧弯") == labeler.normalise("右下肺炎\n胸椎侧弯")
