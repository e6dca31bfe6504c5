"""The families of the behavioural suite: how each changes a template's report, and what the policy then
expects (see :mod:`cxr_regions.label.behaviour` for the overview)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from cxr_regions.label.behaviour import (
    BAR,
    LOCATION_SLOTS,
    NUMERAL_SLOTS,
    SLOT,
    Case,
    Template,
    fill,
    typo,
    words,
)
from cxr_regions.label.behaviour import join as join_report
from cxr_regions.regions import REGION_KEYS

if TYPE_CHECKING:
    from cxr_regions.label.behaviour import Generator

NEGATIONS = ("未见", "未见明显", "无", "未见明确", "没有")
HEDGES_BEFORE = ("可疑", "疑", "疑似")
HEDGES_AFTER = ("可能", "?", "待排", "不除外", "可能性大")
HEDGES_AROUND = ("考虑", "不除外")  # before the whole sentence: "考虑右侧胸腔积液"
GONE = ("，已吸收", "，较前完全吸收", "已消失", "，现已吸收消失", "，本次未见显示")
STILL = ("，较前相仿", "，同前", "，较前减少", "，较前进展", "，较前吸收好转")
ADVICE = ("请结合临床", "建议复查", "必要时CT进一步检查", "建议随访", "请结合临床及其他检查", "如有不适随诊")
PRIORS = ("与2023-05-12片比较：", "对比2021年3月4日旧片：", "较2022-11-02片：", "与前片（2024.01.09）对比，")
BREAKS = ("\n", "\r\n", "<br>", "<br/>", "</p><p>", "\\n")
NUMBERING = ("{n}、", "{n}.", "（{n}）", "{c}", "")
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
SURGERY = ("术后改变", "术后", "术后，见金属缝线影")
CONVERSIONS = ("s2t", "s2tw", "s2hk", "s2twp")
_FULL = str.maketrans(",.:;?()0123456789", "，．：；？（）０１２３４５６７８９")  # the full-width forms
_HALF = str.maketrans("，．：；？（）０１２３４５６７８９", ",.:;?()0123456789")


def _flip(labels: str, value: str) -> str:
    """The template's findings (its 1s) said as ``value``."""
    return "".join(value if v == "1" else v for v in labels)


@lru_cache(maxsize=8)
def _converter(config: str) -> Any:
    import opencc

    try:
        return opencc.OpenCC(config)
    except Exception:  # older OpenCC bindings want the file name
        return opencc.OpenCC(f"{config}.json")


def cases_for(gen: Generator, template: Template) -> Iterator[Case]:
    """Every case made from one template."""
    if template.family:
        yield from _functionality(gen, template)
        return
    for _, make in FAMILIES:
        yield from make(gen, template)


def _case(template: Template, family: str, text: str, expected: str) -> Case:
    return Case(family, template.text, template.held_out, template.region, text, expected)


def _stated(text: str) -> str:
    return text.replace(BAR, "")


def _sentence(gen: Generator, template: Template, rng: random.Random, fixed: dict | None = None) -> str:
    return _stated(fill(template.text, gen.slots, rng, fixed))


# -- invariance ------------------------------------------------------------------------------------


def _numbering(gen: Generator, t: Template) -> Iterator[Case]:
    for i, style in enumerate(NUMBERING[: gen.variants + 1]):
        rng = gen.rng(t.text, "numbering", i)
        parts = gen.report(_sentence(gen, t, rng), t.region, rng, others=rng.randint(1, 3))
        items = [style.format(n=n, c=CIRCLED[n - 1]) + p for n, p in enumerate(parts, start=1)]
        sep = rng.choice(("。", "；", "。\n", "\n"))
        yield _case(t, "inv.numbering", sep.join(items) + "。", t.labels)


def _width(gen: Generator, t: Template) -> Iterator[Case]:
    for i in range(gen.variants):
        rng = gen.rng(t.text, "width", i)
        text = join_report(gen.report(_sentence(gen, t, rng), t.region, rng))
        if i % 3 == 0:
            text = text.translate(_FULL)
        elif i % 3 == 1:
            text = text.translate(_HALF)
        else:
            text = "".join(c.translate(_FULL if rng.random() < 0.5 else _HALF) for c in text)
        yield _case(t, "inv.width", text, t.labels)


def _order(gen: Generator, t: Template) -> Iterator[Case]:
    for i in range(gen.variants):
        rng = gen.rng(t.text, "order", i)
        parts = gen.report(_sentence(gen, t, rng), t.region, rng, others=rng.randint(2, 3))
        text = "".join(p + rng.choice(("。", "，", "；")) for p in parts[:-1]) + parts[-1] + "。"
        yield _case(t, "inv.order", text, t.labels)


def _location(gen: Generator, t: Template) -> Iterator[Case]:
    text = t.text.replace("{zone}", "{zone}{loc}")
    slots = [s for s in LOCATION_SLOTS if "{" + s + "}" in text]
    if not slots:
        prefix = {"thorax": "所示", "lungs": "片内", "heart": "正位片示", "aorta": "片示"}.get(
            t.region, "所示"
        )
        text = prefix + text
    for i in range(gen.variants):
        rng = gen.rng(t.text, "location", i)
        fixed = {s: gen.slots[s][(i + 1) % len(gen.slots[s])] for s in slots}
        sentence = _stated(fill(text, gen.slots, rng, fixed))
        yield _case(t, "inv.location", join_report(gen.report(sentence, t.region, rng)), t.labels)


def _degree(gen: Generator, t: Template) -> Iterator[Case]:
    if "{deg}" in t.text:
        text = t.text
    elif BAR in t.text:
        text = t.text.replace(BAR, BAR + "{deg}")
    else:
        return
    degrees = [d for d in gen.slots["deg"] if d]
    for i in range(gen.variants):
        rng = gen.rng(t.text, "degree", i)
        sentence = _stated(fill(text, gen.slots, rng, {"deg": degrees[i % len(degrees)]}))
        yield _case(t, "inv.degree", join_report(gen.report(sentence, t.region, rng)), t.labels)


def _levels(gen: Generator, t: Template) -> Iterator[Case]:
    slots = [s for s in NUMERAL_SLOTS if "{" + s + "}" in t.text]
    if not slots:
        return
    for i in range(gen.variants * 2):
        rng = gen.rng(t.text, "levels", i)
        fixed = {s: gen.slots[s][i % len(gen.slots[s])] for s in slots}
        sentence = _sentence(gen, t, rng, fixed)
        yield _case(t, "inv.levels", join_report(gen.report(sentence, t.region, rng)), t.labels)


def _traditional(gen: Generator, t: Template) -> Iterator[Case]:
    for i, config in enumerate(CONVERSIONS[: gen.variants]):
        rng = gen.rng(t.text, "traditional", i)
        text = join_report(gen.report(_sentence(gen, t, rng), t.region, rng))
        yield _case(t, "inv.traditional", _converter(config).convert(text), t.labels)


def _breaks(gen: Generator, t: Template) -> Iterator[Case]:
    for i in range(gen.variants):
        rng = gen.rng(t.text, "breaks", i)
        sentence = _sentence(gen, t, rng)
        parts = gen.report(sentence, t.region, rng, others=rng.randint(1, 3))
        if i % 2 and len(sentence) > 2:  # a line wrapped inside the sentence (joined again by the reader)
            cut = rng.randrange(1, len(sentence))
            if sentence[cut - 1] not in "，,。" and sentence[cut] not in "，,。":
                parts[parts.index(sentence)] = sentence[:cut] + "\n" + sentence[cut:]
        sep = BREAKS[i % len(BREAKS)]
        text = sep.join(p + rng.choice(("。", "")) for p in parts)
        yield _case(t, "inv.breaks", text, t.labels)


def _advice(gen: Generator, t: Template) -> Iterator[Case]:
    for i in range(gen.variants):
        rng = gen.rng(t.text, "advice", i)
        parts = [*gen.report(_sentence(gen, t, rng), t.region, rng), ADVICE[i % len(ADVICE)]]
        yield _case(t, "inv.advice", join_report(parts), t.labels)


def _comparison(gen: Generator, t: Template) -> Iterator[Case]:
    abnormal = "1" in t.labels
    for i in range(gen.variants):
        rng = gen.rng(t.text, "comparison", i)
        sentence = _sentence(gen, t, rng)
        if i % 2 and abnormal:  # still there, in the words of a comparison
            sentence += rng.choice(STILL if t.resolvable else STILL[:2])
        text = PRIORS[i % len(PRIORS)] + join_report(gen.report(sentence, t.region, rng))
        yield _case(t, "inv.comparison", text, t.labels)


# -- typos -----------------------------------------------------------------------------------------


def _typos(kind: str) -> Callable[[Generator, Template], Iterator[Case]]:
    def make(gen: Generator, t: Template) -> Iterator[Case]:
        forms = [(t.text, t.labels)]
        if t.directional:
            forms.append((t.text.replace(BAR, NEGATIONS[0], 1), _flip(t.labels, "0")))
        made = 0
        for i in range(gen.variants * 3):
            if made >= gen.variants:
                break
            rng = gen.rng(t.text, kind, i)
            text, labels = forms[i % len(forms)]
            sentence = _stated(fill(text, gen.slots, rng))
            spans = words(gen, sentence)
            if not spans:
                continue
            start, end = rng.choice(spans)
            changed = typo(kind, sentence[start:end], rng)
            if changed is None:
                continue
            sentence = sentence[:start] + changed + sentence[end:]
            made += 1
            yield _case(t, f"typo.{kind}", join_report(gen.report(sentence, t.region, rng)), labels)

    return make


# -- directional -----------------------------------------------------------------------------------


def _negation(gen: Generator, t: Template) -> Iterator[Case]:
    if not t.directional or "1" not in t.labels:
        return
    for i in range(gen.variants):
        rng = gen.rng(t.text, "negation", i)
        head, _, tail = fill(t.text, gen.slots, rng).partition(BAR)
        tail = tail.removeprefix("见")
        head = head.removesuffix("见")
        sentence = (head + NEGATIONS[i % len(NEGATIONS)] + tail).replace(BAR, "")
        yield _case(t, "dir.negation", join_report(gen.report(sentence, t.region, rng)), _flip(t.labels, "0"))


def _negation_removed(gen: Generator, t: Template) -> Iterator[Case]:
    if not t.directional or "1" not in t.labels:
        return
    for i in range(gen.variants):
        rng = gen.rng(t.text, "negation_removed", i)
        sentence = _sentence(gen, t, rng)
        yield _case(t, "dir.negation_removed", join_report(gen.report(sentence, t.region, rng)), t.labels)


def _hedge(gen: Generator, t: Template) -> Iterator[Case]:
    if not t.directional or "1" not in t.labels:
        return
    for i in range(gen.variants + 1):
        rng = gen.rng(t.text, "hedge", i)
        head, _, tail = fill(t.text, gen.slots, rng).partition(BAR)
        where = i % 3
        if where == 0:
            sentence = head + rng.choice(HEDGES_BEFORE) + tail.removeprefix("见")
        elif where == 1:
            sentence = head + tail + rng.choice(HEDGES_AFTER)
        else:
            sentence = rng.choice(HEDGES_AROUND) + head + tail
        expected = _flip(t.labels, "u")
        yield _case(t, "dir.hedge", join_report(gen.report(sentence, t.region, rng)), expected)


def _resolved(gen: Generator, t: Template) -> Iterator[Case]:
    if not t.resolvable:
        return
    for i in range(gen.variants):
        rng = gen.rng(t.text, "resolved", i)
        sentence = _sentence(gen, t, rng) + GONE[i % len(GONE)]
        yield _case(t, "dir.resolved", join_report(gen.report(sentence, t.region, rng)), _flip(t.labels, "0"))


def surgery_cases(gen: Generator) -> Iterator[Case]:
    """``dir.surgery``: a structure said normal (0), then said to be after surgery (1)."""
    from cxr_regions.label.behaviour import HELD_OUT_SHARE

    for region, subjects in gen.spec["surgery"].items():
        labels = "".join("1" if k == region else "0" for k in REGION_KEYS)
        for n, subject in enumerate(subjects):
            t = Template(subject, region, labels, held_out=n < round(len(subjects) * HELD_OUT_SHARE))
            for i, suffix in enumerate(SURGERY):
                rng = gen.rng(subject, "surgery", i)
                for words_, expected in (("未见异常", "00000"), (suffix, labels)):
                    sentence = fill(subject, gen.slots, rng) + words_
                    yield _case(t, "dir.surgery", join_report(gen.report(sentence, region, rng)), expected)


# -- minimum functionality -------------------------------------------------------------------------


def _functionality(gen: Generator, t: Template) -> Iterator[Case]:
    slots = SLOT.findall(t.text)
    for i in range(gen.variants * (2 if slots else 1)):
        rng = gen.rng(t.text, "mft", i)
        sentence = fill(t.text, gen.slots, rng)
        region = next((k for k, v in zip(REGION_KEYS, t.labels, strict=True) if v != "0"), "")
        yield _case(t, t.family, join_report(gen.report(sentence, region, rng)), t.labels)


FAMILIES: tuple[tuple[str, Callable[[Generator, Template], Iterator[Case]]], ...] = (
    ("inv.numbering", _numbering),
    ("inv.width", _width),
    ("inv.order", _order),
    ("inv.location", _location),
    ("inv.degree", _degree),
    ("inv.levels", _levels),
    ("inv.traditional", _traditional),
    ("inv.breaks", _breaks),
    ("inv.advice", _advice),
    ("inv.comparison", _comparison),
    ("typo.homophone", _typos("homophone")),
    ("typo.slip", _typos("slip")),
    ("typo.swap", _typos("swap")),
    ("typo.drop", _typos("drop")),
    ("dir.negation", _negation),
    ("dir.negation_removed", _negation_removed),
    ("dir.hedge", _hedge),
    ("dir.resolved", _resolved),
)
