"""Chinese chest-film reports (findings + impression) written from a phantom film's ground truth.

Phrasing varies the way real reports do (docs/labeling-policy.md): several normal
templates, negations, severity words, hedges for truth ``u``, comparisons with a prior film,
common misspellings (肋隔角, 隔面, 双肺, 走形, 纵膈) and, now and then, traditional characters.
Every sentence describes the same findings that were drawn on the film.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import opencc

from cxr_regions.phantom.abnormalities import Finding, sample_findings
from cxr_regions.regions import NORMAL, REGION_KEYS, UNCERTAIN

# Normal statements per region (the film shows nothing abnormal there).
_NORMAL = {
    "thorax": (
        "两侧胸廓对称",
        "胸廓对称，骨质未见异常",
        "胸廓形态正常，所见骨质结构完整",
        "所示胸廓骨骼及胸壁软组织未见异常",
        "胸廓两侧对称，所见肋骨未见骨折征象",
    ),
    "lungs": (
        "两肺纹理清晰，未见明显实质性病变",
        "两肺纹理稍增多，未见明显异常实变影",
        "两肺野清晰，肺纹理走行自然",
        "两肺纹理增多、增粗，未见明显异常密度影",
        "两肺野透亮度正常，未见异常密度影",
        "两肺未见明显活动性病变",
    ),
    "aorta": ("主动脉结不宽", "主动脉未见异常", "主动脉弓大小形态正常"),
    "heart": ("心影大小、形态正常", "心影不大", "心脏形态大小未见异常", "心影外形及大小如常"),
    "diaphragm": (
        "两膈面光整，两肋膈角锐利",
        "两膈光滑，肋膈角锐利",
        "两侧膈面光整，两侧肋膈角锐利",
        "两侧横膈位置形态正常，两侧肋膈角清晰锐利",
    ),
}
_HILA = ("两侧肺门影不大", "两肺门结构正常", "双侧肺门形态大小位置未见异常")
_MEDIASTINUM = ("气管居中", "纵隔无增宽", "气管居中，纵隔未见增宽", "纵隔未见移位及增宽")
_NORMAL_IMPRESSION = (
    "心肺膈未见明显异常",
    "胸部正位片未见明显异常",
    "心、肺、膈未见异常",
    "两肺未见明显活动性病变",
    "胸部未见明显病变",
    "两肺纹理增多，请结合临床",
)
_ADVICE = ("请结合临床", "建议复查", "必要时CT检查", "建议随访")
_MISSPELLINGS = (  # (right, common misspelling, how often a report has it)
    ("肋膈角", "肋隔角", 0.25),
    ("膈面", "隔面", 0.2),
    ("两肺", "双肺", 0.3),
    ("走行", "走形", 0.5),
    ("纵隔", "纵膈", 0.3),
    ("两膈", "双隔", 0.15),
)


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(len(options)))]


def _side(f: Finding, rng: np.random.Generator) -> str:
    if f.side == "both":
        return _pick(rng, ("两", "双"))
    return "右" if f.side == "right" else "左"


def _sided(f: Finding, rng: np.random.Generator) -> str:
    """右侧 / 左侧 / 两侧 as a report names a side."""
    return "两侧" if f.side == "both" else _side(f, rng) + "侧"


def _lung_place(f: Finding, rng: np.random.Generator) -> str:
    zone = {"upper": "上", "middle": "中", "lower": "下"}[f.zone or "lower"]
    return _side(f, rng) + zone + _pick(rng, ("肺野", "肺"))


def _mild(f: Finding, rng: np.random.Generator, words: Sequence[str]) -> str:
    return _pick(rng, words) if f.severity < 0.7 and rng.random() < 0.7 else ""


def _describe(f: Finding, truth: dict[str, str], rng: np.random.Generator) -> tuple[str, str | None]:
    """(findings sentence, impression item or None) for one abnormal region."""
    hedged = f.value == UNCERTAIN
    side, sided = _side(f, rng), _sided(f, rng)
    if f.region == "thorax":
        if f.kind == "scoliosis":
            if hedged:
                return _pick(rng, ("胸椎似轻度侧弯", "胸椎轻度侧弯？", "胸椎可疑侧弯")), "胸椎侧弯？"
            degree = _mild(f, rng, ("轻度",))
            return _pick(
                rng, (f"胸椎{degree}向{side}侧弯", f"胸椎{degree}侧弯畸形", "胸段脊柱侧弯")
            ), "胸椎侧弯"
        if f.kind == "asymmetry":
            if hedged:
                return _pick(rng, (f"胸廓似略不对称，{sided}稍小", "两侧胸廓可疑不对称")), "胸廓不对称？"
            text = _pick(
                rng, (f"两侧胸廓不对称，{sided}胸廓较小", f"胸廓不对称，{sided}塌陷", "胸廓畸形，两侧不对称")
            )
            return text, _pick(rng, ("胸廓不对称", "胸廓畸形"))
        ribs = "、".join(f"第{r}" for r in f.detail["ribs"]) + "肋骨"
        if hedged:
            text = _pick(rng, (f"{sided}{ribs}可疑骨折", f"疑{sided}{ribs}骨折", f"{sided}{ribs}骨质似中断"))
            return text, _pick(rng, (f"{sided}{ribs}骨折不除外", f"{sided}{ribs}骨折？"))
        if f.detail["old"]:
            text = _pick(rng, (f"{sided}{ribs}陈旧性骨折", f"{sided}{ribs}见骨痂形成，为陈旧性骨折"))
            return text, f"{sided}{ribs}陈旧性骨折"
        text = _pick(rng, (f"{sided}{ribs}骨折，断端稍错位", f"{sided}{ribs}骨质中断，骨折"))
        return text, f"{sided}{ribs}骨折"
    if f.region == "lungs":
        place = _lung_place(f, rng)
        if f.kind == "patchy":
            if hedged:
                return _pick(
                    rng, (f"{place}似见小片状模糊影", f"{place}可疑斑片影", f"疑{place}少许渗出")
                ), _pick(rng, (f"{place}炎症可能", f"{place}炎症不除外", f"{place}少许炎症？"))
            amount = _mild(f, rng, ("少许", "小"))
            text = _pick(
                rng,
                (
                    f"{place}见{amount}斑片状模糊影",
                    f"{place}见{amount}片状密度增高影，边缘模糊",
                    f"{place}见{amount}片絮状模糊影",
                ),
            )
            if rng.random() < 0.3:
                text += "，考虑炎症"
            return text, _pick(rng, (f"{place}炎症", f"{place}感染", f"{place}渗出性病变"))
        if f.kind == "nodule":
            many = len(f.detail["radii"]) > 1
            big = f.detail["radii"][0] > 0.03
            kind = "肿块" if big else "结节"
            if hedged:
                return _pick(rng, (f"{place}可疑小结节影", f"{place}似见结节影", f"疑{place}小结节")), _pick(
                    rng, (f"{place}小结节？", f"{place}结节可能")
                )
            if many:
                return f"{side}肺见多发{kind}影，大者直径约{f.detail['size_cm']}cm", f"{side}肺多发{kind}"
            text = _pick(
                rng,
                (f"{place}见一{kind}影，直径约{f.detail['size_cm']}cm，边界清", f"{place}见类圆形{kind}影"),
            )
            return text, f"{place}{kind}"
        if hedged:
            return _pick(rng, (f"{place}似见片状实变影", f"{place}可疑实变")), f"{place}肺炎可能"
        text = _pick(rng, (f"{place}见大片实变影，其内见支气管充气征", f"{place}见大片状致密影，边界模糊"))
        return text, _pick(rng, (f"{place}肺炎", f"{place}实变"))
    if f.region == "aorta":
        if hedged:
            return _pick(rng, ("主动脉结稍突出？", "主动脉结似见钙化", "主动脉结可疑钙化")), "主动脉硬化？"
        parts = []
        if f.detail["prominent"]:
            parts.append(_pick(rng, ("主动脉结突出", "主动脉结增宽", "主动脉弓突出")))
        if f.detail["calcified"]:
            parts.append(_pick(rng, ("主动脉结见弧形钙化影", "主动脉弓钙化", "主动脉结钙化")))
        if f.detail["tortuous"]:
            parts.append("主动脉走行迂曲")
        return "，".join(parts), _pick(rng, ("主动脉硬化", "主动脉迂曲", "主动脉粥样硬化"))
    if f.region == "heart":
        if hedged:
            return _pick(rng, ("心影似稍大", "心影可疑增大", "心影饱满？")), _pick(
                rng, ("心影增大？", "心影稍大待排")
            )
        shape = f.detail["shape"]
        size_word = "稍大" if f.severity < 0.7 and rng.random() < 0.5 else "增大"
        text = _pick(
            rng, (f"心影{size_word}", f"心影向左下扩大，心胸比约{f.detail['ctr']:.2f}", "心影明显增大")
        )
        if shape == "left_ventricular" and truth.get("aorta") == "1" and rng.random() < 0.5:
            text += "，呈主动脉型"
        elif shape == "global" and rng.random() < 0.4:
            text += "，呈普大型"
        elif shape == "mitral" and rng.random() < 0.5:
            text += "，呈二尖瓣型"
        return text, _pick(rng, ("心影增大", "心脏增大", "心脏扩大"))
    # diaphragm
    if f.kind == "blunted":
        if hedged:
            text = _pick(rng, (f"{sided}肋膈角欠锐利？", f"{sided}肋膈角似变钝", f"{sided}少量胸腔积液可能"))
            return text, _pick(rng, (f"{sided}少量胸腔积液可能", f"{sided}胸膜增厚？"))
        text = _pick(rng, (f"{sided}肋膈角变钝", f"{sided}肋膈角模糊", f"{sided}肋膈角变浅"))
        if f.side != "both" and rng.random() < 0.3:
            text = "两膈面光整，" + text
        return text, _pick(rng, (f"{sided}胸膜增厚粘连", f"{sided}少量胸腔积液", f"{sided}肋膈角变钝"))
    if f.kind == "effusion":
        if hedged:
            return _pick(rng, (f"{sided}胸腔积液可能", f"疑{sided}少量胸腔积液")), f"{sided}胸腔积液不除外"
        amount = "少量" if f.severity < 0.6 else "中等量"
        text = _pick(
            rng,
            (
                f"{sided}胸腔{amount}积液，{sided}肋膈角消失",
                f"{sided}肋膈角消失，膈面显示不清，{sided}胸腔积液",
            ),
        )
        return text, f"{sided}胸腔积液"
    if hedged:
        return _pick(rng, (f"{sided}膈面似稍抬高", f"{sided}膈面抬高？")), f"{sided}膈面抬高？"
    return _pick(rng, (f"{sided}膈面抬高", f"{side}膈抬高", f"{sided}膈面膨隆")), f"{sided}膈面抬高"


def _end(sentence: str, mark: str) -> str:
    """End a sentence with ``mark`` unless it already ends with a question mark."""
    return sentence if sentence.endswith("？") else sentence + mark


def _comparison(rng: np.random.Generator, date: str) -> str:
    return _pick(rng, (f"与{date}片比较，较前相仿", "较前片吸收好转", f"较{date}片进展", "大致同前"))


def _vary(text: str, rng: np.random.Generator) -> str:
    """Common misspellings of real reports (same meaning, see the labeling policy)."""
    for right, wrong, p in _MISSPELLINGS:
        if right in text and rng.random() < p:
            text = text.replace(right, wrong)
    return text


@functools.lru_cache(maxsize=1)
def _to_traditional() -> Any:
    return opencc.OpenCC("s2tw")


def _traditional(text: str) -> str:
    """The report as written in Taiwan: traditional characters, 肋膜積液 for pleural effusion."""
    text = text.replace("胸腔积液", "肋膜积液").replace("心影增大", "心脏扩大")
    return _to_traditional().convert(text)


def write_report(
    rng: np.random.Generator, truth: dict[str, str], findings: list[Finding] | None = None
) -> tuple[str, str]:
    """(findings, impression) in Chinese for a film with this ground truth.

    Pass the film's ``findings`` (``Film.findings``) so that the report names the same sides,
    zones and kinds as the image; without them, findings are drawn from ``rng``.
    """
    if findings is None:
        findings = sample_findings(rng, truth)
    by_region = {f.region: f for f in findings}
    sentences: list[str] = []
    impressions: list[str] = []
    compared = False
    for key in REGION_KEYS:
        value = truth.get(key, NORMAL)
        if value == NORMAL or key not in by_region:
            if key == "aorta" and rng.random() < 0.5:
                continue
            if key == "thorax" and rng.random() < 0.15:
                continue
            sentence = _pick(rng, _NORMAL[key])
            if key == "lungs" and rng.random() < 0.04:
                place = _pick(rng, ("右下肺", "左下肺", "右上肺"))
                sentence = f"原{place}炎症已完全吸收，" + sentence
        else:
            sentence, impression = _describe(by_region[key], truth, rng)
            if key == "lungs" and rng.random() < 0.4:
                sentence = (
                    _pick(rng, ("两肺纹理增多，", "两肺纹理增多、增粗，", "两肺纹理稍增多，")) + sentence
                )
            if value != UNCERTAIN and not compared and rng.random() < 0.12:
                year, month, day = (int(rng.integers(lo, hi)) for lo, hi in ((2018, 2024), (1, 13), (1, 29)))
                sentence += "，" + _comparison(rng, f"{year}-{month:02d}-{day:02d}")
                compared = True
            if impression:
                impressions.append(impression)
        if key == "lungs" and rng.random() < 0.5:
            sentence += "。" + _pick(rng, _HILA)
        if key == "lungs" and rng.random() < 0.6:
            sentence += "。" + _pick(rng, _MEDIASTINUM)
        sentences.append(sentence)
    findings_text = "".join(_end(s, "。") for s in sentences)
    if not impressions:
        impressions = [_pick(rng, _NORMAL_IMPRESSION)]
    if len(impressions) > 1 and rng.random() < 0.6:
        impression_text = "".join(f"{i}、{_end(item, '。')}" for i, item in enumerate(impressions, 1))
    else:
        impression_text = "".join(_end(item, "；") for item in impressions[:-1]) + _end(impressions[-1], "。")
    if rng.random() < 0.25:
        impression_text += _pick(rng, _ADVICE) + "。"
    findings_text, impression_text = _vary(findings_text, rng), _vary(impression_text, rng)
    if rng.random() < 0.06:
        findings_text, impression_text = _traditional(findings_text), _traditional(impression_text)
    return findings_text, impression_text
