"""What differs between the languages the labeler reads: normalising, sentence splitting, word lists.

One engine (:mod:`cxr_regions.label.clauses`) reads every language; a :class:`LanguageRules`
holds the few places where Chinese and English are written differently: how two subject words are
joined into one list ("心、肺" / "heart and lungs"), what may stand between a negation and the subject
of the list it opens, the cardiothoracic-ratio phrase, and how a report is normalised and cut into
sentences. English text keeps its spaces and is matched word by word (:mod:`.english`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cxr_regions.errors import UserError
from cxr_regions.label.english import EnglishNormaliser, comma_ends_clause, english_sentences
from cxr_regions.label.normalise import Normaliser, sentences

LANGUAGES = ("zh", "en")
LANGUAGE_CHOICES = (*LANGUAGES, "auto")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class LanguageRules:
    """The language-specific constants of the clause reader (see the module docstring)."""

    name: str
    separated: Callable[[str], bool]  # the text between two subject words joins them into one list
    adjacent: Callable[[str], bool]  # the two subject words touch (肺纹理, "lung markings")
    list_gap: re.Pattern[str]  # may stand between a negation or hedge and the next subject of its list
    shadow: str | None  # a word that after a named thing is that thing's shadow (影), else None
    ratio_trigger: str  # a sentence holding this may state a cardiothoracic ratio
    ratio_re: re.Pattern[str]  # groups: comparator, number, percent, denominator
    below: frozenset[str]  # comparators that say "below"
    ends_clause: Callable[[str, int], bool] | None = None  # whether a boundary mark there ends its clause
    continues: Callable[[str], bool] | None = None  # a negated list goes on past a new subject
    postposed: re.Pattern[str] | None = None  # a subject after its findings ("of the aorta"): postposed.py


# Two subject words are one list when only a joiner and sides stand between them (心、肺; 两肺及左侧胸腔),
# not when a statement does (心影大小如常及...: 如常 ends what was said of the heart).
_ZH_PLACE = "左右双两单侧上中下前后部区段处缘内外"  # sides and places that may stand around a joiner
_ZH_LIST = re.compile(f"[{_ZH_PLACE}]*[、及和与或/并][{_ZH_PLACE}、及和与或/并]*")

ZH = LanguageRules(
    name="zh",
    separated=lambda gap: _ZH_LIST.fullmatch(gap) is not None,
    adjacent=lambda gap: not gap,
    list_gap=re.compile(
        r"(?:[左右双两单侧上中下前后部第\d~、及和与或并稍略见-]|明显|明确|确切|确定|肯定|显著|少量|少许|轻度|轻微|"
        r"广泛|大量|中量|多发|散在|局部|可见)*"
    ),
    shadow="影",
    ratio_trigger="心胸比",
    ratio_re=re.compile(
        r"心胸比[^0-9<>,;]{0,6}?(<|>|≤|≥|大于|小于|超过|高于|低于|不足)?[约为=:≈]*\s*(\d+(?:\.\d+)?)\s*"
        r"(?:(%)|[:/](\d+(?:\.\d+)?))?"  # 0.55, 55%, or 1:2
    ),
    below=frozenset({"<", "≤", "小于", "低于", "不足"}),
)

_EN_SEPARATOR = re.compile(r"\s*(?:,|/|-|&|and|or|as well as|,\s*and|,\s*or)?\s*(?:the\s+|both\s+)?")
_EN_NEGATED_LIST = re.compile(r",|/|\b(?:or|nor)\b")
_EN_ADJACENT = re.compile(r"\s*")
EN = LanguageRules(
    name="en",
    separated=lambda gap: _EN_SEPARATOR.fullmatch(gap) is not None,
    ends_clause=lambda sentence, at: sentence[at] != "," or comma_ends_clause(sentence, at),
    continues=lambda gap: _EN_NEGATED_LIST.search(gap) is not None,  # "no X or Y", not "not X and the Y"
    adjacent=lambda gap: _EN_ADJACENT.fullmatch(gap) is not None,
    list_gap=re.compile(
        r"(?:\s|,|-|\d|left|right|bilateral|bilaterally|both|either|the|a|an|any|of|in|at|within|"
        r"and|or|upper|middle|mid|lower|lobes?|definite|definitive|evidence|significant|obvious|"
        r"acute|focal|large|small|new|visible|other|additional|further|signs?|findings?|for|to|suggest|xxxx|"
        r"suggestion|suggestive|seen|identified)*"
    ),
    shadow=None,
    ratio_trigger="ratio",
    ratio_re=re.compile(
        r"(?:cardiothoracic|cardio-thoracic|ct) ratio[^0-9<>,;]{0,20}?"
        r"(<|>|less than|greater than|more than|above|below|under|over)?[\s=:~]*(\d+(?:\.\d+)?)\s*"
        r"(?:(%)|[:/](\d+(?:\.\d+)?))?"
    ),
    below=frozenset({"<", "less than", "below", "under"}),
    postposed=re.compile(
        r"\s*(?:(?:changes?|disease|deformit(?:y|ies)|findings?)\s+)?"
        r"(?:(?:is|are|was|were)\s+(?:present|seen|noted|identified|visualized)\s+)?"
        r"(?:(?:of|in|at|within|involving|along|about|around|near|from|to|on|through|throughout|across|"
        r"overlying|crossing|crosses)\s+)?"
        r"(?:(?:the|both|left|right|bilateral|a|an|visualized|visible|imaged|upper|middle|mid|lower|"
        r"posterior|anterior|lateral|medial|distal|proximal|superior|inferior|\d+(?:st|nd|rd|th)?|"
        r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
        r"several|multiple|mild|mildly|minimal|slight|slightly|moderate|moderately|severe|severely|"
        r"chronically|diffusely|diffuse|xxxx|"
        r"-)\s*)*"
    ),
)

_RULES = {"zh": ZH, "en": EN}


def rules_for(language: str) -> LanguageRules:
    """The rules of ``language`` (``zh`` or ``en``)."""
    return _RULES[check_language(language, allow_auto=False)]


def check_language(language: str, allow_auto: bool = True) -> str:
    """``language`` if it is one the labeler reads, else a :class:`UserError` naming the choices."""
    choices = LANGUAGE_CHOICES if allow_auto else LANGUAGES
    if language not in choices:
        raise UserError(f"language {language!r} is not one the labeler reads; use {', '.join(choices)}")
    return language


def detect_language(text: str) -> str:
    """``zh`` for a text holding Chinese characters, else ``en`` (reports are one or the other)."""
    return "zh" if _CJK.search(text) else "en"


def normaliser_for(
    language: str, rewrites: Mapping[str, str], ends_statement: Callable[[str, int], bool] | None = None
) -> Callable[[str], str]:
    """The text normaliser of ``language`` with the vocabulary's rewrites (and, for Chinese, its test
    of whether a line break with no closing mark before it ends a statement)."""
    if rules_for(language).name == "en":
        return EnglishNormaliser(rewrites)
    return Normaliser(rewrites, ends_statement)


def splitter_for(language: str) -> Callable[[str], list[str]]:
    """How normalised text of ``language`` is cut into sentences."""
    return english_sentences if rules_for(language).name == "en" else sentences
