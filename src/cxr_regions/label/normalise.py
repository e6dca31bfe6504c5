"""Report text normalisation and segmentation into sentences and clauses.

Normalising makes the many ways of writing one report read the same: full-width -> half-width and
other compatibility forms (Unicode NFKC), traditional -> simplified characters (OpenCC ``t2s``),
no whitespace, written-out line breaks ("\\n") made line breaks and HTML breaks (<br>, <p>) ends
of sentences, soft line wraps joined (a break after a line with no closing mark, unless the next
line opens a new statement, as :mod:`cxr_regions.label.line_breaks` decides), and the vocabulary's
misspelling rewrites (肋隔角 -> 肋膈角, 纵膈 -> 纵隔, 走形 -> 走行...). Speed matters (millions of
reports): the usual full-width commas are replaced directly, and NFKC and OpenCC run only on a report
holding a character they would change (the set of such characters is derived once from
``unicodedata`` and OpenCC themselves).
List numbers need no step: "1." ends a sentence and "1、" reads as nothing (an item "2、" inside a
line ends the item before it: :mod:`cxr_regions.label.clauses`, once per distinct sentence).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from functools import lru_cache

import opencc

# A line break that is only a wrap: the line before ends without punctuation (or with a colon:
# "心脏：" then "增大" on the next line is one statement) and the next line does not open a
# numbered item, a bullet or a bracketed number.
_SOFT_WRAP = re.compile(r"\n(?<![。;!?.,、\n】]\n)(?!\d{1,2}[、.)](?!\d)|\(\d{1,2}\)|[·•*\-【①-⑳]|\n)")
_FULL_STOP = re.compile(r"\.(?!\d)")  # a full stop, not a decimal point
_STOPS = (";", "!", "\n")
# The full-width punctuation of nearly every report, replaced directly (cheaper than NFKC).
_COMMON_WIDE = (("，", ","), ("；", ";"), ("：", ":"), ("（", "("), ("）", ")"), ("？", "?"), ("！", "!"))
_ESCAPED_BREAK = re.compile(r"(?:\\r)?\\n|\\r")
_HTML_TAG = re.compile(r"</?([A-Za-z]+)[^<>]*>")
_HTML_BREAKS = frozenset({"br", "p", "div", "li", "tr"})


def _html_tag(match: re.Match[str]) -> str:
    return "\n\n" if match.group(1).lower() in _HTML_BREAKS else ""  # a break, never a soft wrap


_SPACES = (" ", "\t", "\u3000", "\xa0")


def _char_class(chars: list[int]) -> str:
    """A compact regex character class for a sorted list of code points."""
    parts: list[tuple[int, int]] = []
    start: int | None = None
    prev = 0  # read only once start is set
    for cp in chars:
        if start is None:
            start = prev = cp
        elif cp == prev + 1:
            prev = cp
        else:
            parts.append((start, prev))
            start = prev = cp
    if start is not None:
        parts.append((start, prev))
    out = []
    for a, b in parts:
        out.append(re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}")
    return "[" + "".join(out) + "]"


def _nfkc_changes() -> list[int]:
    """Code points that NFKC would change (or combine with the character before)."""
    return [
        cp
        for cp in range(0x80, 0x10000)
        if not 0xD800 <= cp <= 0xDFFF
        and (unicodedata.normalize("NFKC", chr(cp)) != chr(cp) or unicodedata.combining(chr(cp)))
    ]


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    try:
        return opencc.OpenCC("t2s")
    except Exception:  # older OpenCC bindings want the file name
        return opencc.OpenCC("t2s.json")


def _t2s_changes() -> list[int]:
    """Code points that OpenCC's t2s changes (derived from OpenCC, not a hand-made table)."""
    convert = _converter().convert
    ranges = [(0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)]
    block = "".join(chr(cp) for a, b in ranges for cp in range(a, b + 1))
    converted = convert(block)
    if len(converted) == len(block):
        return [ord(a) for a, b in zip(block, converted, strict=True) if a != b]
    return [ord(ch) for ch in block if convert(ch) != ch]  # a length change: one at a time


@lru_cache(maxsize=1)
def _needs_conversion() -> re.Pattern[str]:
    """Any character that NFKC or t2s would change, or any outside the BMP."""
    cps = sorted(set(_nfkc_changes()) | set(_t2s_changes()))
    return re.compile(_char_class(cps)[:-1] + "\U00010000-\U0010ffff]")


def strip_spaces(text: str) -> str:
    for space in _SPACES:
        text = text.replace(space, "")
    return text


def literal_branches(words: list[str]) -> list[str]:
    """Regex alternatives, one per first character, that find the longest of ``words`` (a trie)."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if "" in node:
            return (body if len(branches) > 1 else "(?:" + body + ")") + "?"
        return body

    return [re.escape(ch) + build(child) for ch, child in sorted(trie.items())]


def literal_regex(words: list[str]) -> str:
    """One regular expression for many literals that finds the longest at each place."""
    return "(?:" + "|".join(literal_branches(words)) + ")"


class Normaliser:
    """Turn a raw report into canonical text (see the module docstring for the steps).

    ``ends_statement(text, at)``: whether the line break at ``at``, after a line with no closing mark,
    still ends a statement (the next line opens a new one); without it every such break is a wrap.
    """

    def __init__(self, rewrites: Mapping[str, str], ends_statement: Callable[[str, int], bool] | None = None):
        self._ends = ends_statement
        self._convert = _needs_conversion()
        self._t2s = _converter().convert
        self._rewrites = {strip_spaces(k): v for k, v in rewrites.items()}
        self._rewrite_re = re.compile(literal_regex(list(self._rewrites))) if self._rewrites else None

    def _rewrite(self, match: re.Match[str]) -> str:
        return self._rewrites[match.group()]

    def __call__(self, text: str) -> str:
        for wide, narrow in _COMMON_WIDE:
            if wide in text:
                text = text.replace(wide, narrow)
        if self._convert.search(text):
            text = self._t2s(unicodedata.normalize("NFKC", text))
        for space in _SPACES:
            if space in text:
                text = text.replace(space, "")
        if "\\" in text:  # line breaks written out by a web system: "\n", "\r\n"
            text = _ESCAPED_BREAK.sub("\n", text)
        if "<" in text:  # HTML line breaks and tags (<br/>, <p>)
            text = _HTML_TAG.sub(_html_tag, text)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" in text:
            text = text.strip("\n")
            ends = self._ends
            text = _SOFT_WRAP.sub(lambda m: "\n" if ends is not None and ends(text, m.start()) else "", text)
        if self._rewrite_re is not None:
            text = self._rewrite_re.sub(self._rewrite, text)
        return text


def sentences(text: str) -> list[str]:
    """Split normalised text into sentences (。 ; ! line breaks, a full stop not in a number)."""
    for mark in _STOPS:
        if mark in text:
            text = text.replace(mark, "。")
    if "." in text:
        text = _FULL_STOP.sub("。", text)
    return [s for s in text.split("。") if s]
