"""Spine levels as an ordered range: which vertebrae a phrase names, and whether a thoracic one is among them.

Radiologists name vertebrae by segment and number in many ways: ``T12``, ``胸12``, ``胸十二``, ``第12胸椎``,
ranges (``T11-L2``, ``胸12-腰1``, ``第12胸椎至第1腰椎``, ``颈7至胸1``) and lists (``胸11及胸12``, ``L1、T12``,
``第1、2腰椎``, ``胸11-12``: a bare number keeps the segment before it). The vertebrae are ordered
C1-C7, T1-T12, L1-L5, S1-S5; a range covers every vertebra between its ends. The policy's thorax holds the
thoracic spine, so a phrase is the thorax's when any vertebra it names is thoracic (fixation from T11 to
L2 is a finding of the thoracic spine too) and outside the five regions otherwise (lumbar, cervical).
The labeler's token matcher finds these phrases as one token (:mod:`cxr_regions.label.vocabulary`).
"""

from __future__ import annotations

import re

_SEGMENTS = {"c": (0, 7), "t": (7, 12), "l": (19, 5), "s": (24, 5)}  # first index, vertebrae
_CHINESE_SEGMENT = {"颈": "c", "胸": "t", "腰": "l", "骶": "s"}
_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
THORACIC = frozenset(range(7, 19))  # T1-T12

_NUM = r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})"
_RANGE = r"[-~–—至到]|to|through"
_LIST = r"[、,/]|及|和|与|and"
_SEP = rf"\s?(?:{_RANGE}|{_LIST})\s?"
_LEVEL = rf"(?:第{_NUM}(?:{_SEP}{_NUM})*[颈胸腰骶]椎|[颈胸腰骶CTLSctls]{_NUM})(?:椎体|椎)?"
_NEXT = rf"(?:第?{_NUM}(?:{_SEP}{_NUM})*[颈胸腰骶]椎|[颈胸腰骶CTLSctls]?{_NUM})(?:椎体|椎)?"
PATTERN = rf"{_LEVEL}(?:{_SEP}{_NEXT})*(?![\d一二三四五六七八九十])"
"""A spine-level phrase (a regular expression; the token matcher holds it as one alternative)."""

_PART = re.compile(rf"第?({_NUM}(?:{_SEP}{_NUM})*)([颈胸腰骶])椎|([颈胸腰骶ctls])?({_NUM})")
_NUMBER = re.compile(_NUM)
_RANGE_RE = re.compile(rf"\s?(?:{_RANGE})\s?")


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if text.startswith("十"):  # 十, 十二
        return 10 + (_DIGITS.get(text[1:], 0) if len(text) > 1 else 0)
    if "十" in text:  # 二十
        tens, _, ones = text.partition("十")
        return _DIGITS.get(tens, 0) * 10 + _DIGITS.get(ones, 0)
    return _DIGITS.get(text, 0)


def vertebrae(text: str) -> set[int]:
    """The indices (C1 = 0 ... S5 = 28) of the vertebrae a spine-level phrase names."""
    text = text.lower()
    found: list[tuple[int, int, bool]] = []  # (index, end in text, a range mark before it)
    segment = "t"
    for m in _PART.finditer(text):
        before = text[found[-1][1] : m.start()] if found else ""
        in_range = bool(found) and _RANGE_RE.fullmatch(before) is not None
        if m.group(1) is not None:  # 第1、2腰椎: the numbers first, then the segment
            segment = _CHINESE_SEGMENT[m.group(2)]
            numbers = [_number(n) for n in _NUMBER.findall(m.group(1))]
        else:
            if m.group(3):
                segment = _CHINESE_SEGMENT.get(m.group(3), m.group(3))
            numbers = [_number(m.group(4))]
        first, count = _SEGMENTS[segment]
        for k, n in enumerate(numbers):
            if 1 <= n <= count:
                found.append((first + n - 1, m.end(), in_range and k == 0))
    out: set[int] = set()
    for i, (index, _, in_range) in enumerate(found):
        if in_range and i:
            lo, hi = sorted((found[i - 1][0], index))
            out.update(range(lo, hi + 1))
        out.add(index)
    return out


def is_thoracic(text: str) -> bool:
    """Whether a spine-level phrase names a thoracic vertebra (then it is the thorax's)."""
    return not THORACIC.isdisjoint(vertebrae(text))
