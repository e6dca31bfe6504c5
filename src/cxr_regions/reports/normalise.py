"""Report text normalisation and segmentation into sentences and clauses.

Normalising makes the many ways of writing one report read the same: full-width -> half-width and
other compatibility forms (Unicode NFKC), traditional -> simplified characters (OpenCC ``t2s``),
whitespace, soft line wraps and list numbering, and the vocabulary's misspelling rewrites
(肋隔角 -> 肋膈角, 纵膈 -> 纵隔, 走形 -> 走行...). Both character conversions are skipped when a
report holds no character they would change; the sets of such characters are derived once from
``unicodedata`` and OpenCC themselves.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from functools import lru_cache

import opencc

# A line break that is only a wrap: the line before ends without punctuation and the next line
# does not open a numbered item, a bullet or a bracketed number.
_ITEM_START = r"[ \t]*(?:\d{1,2}\s*[、.)](?!\d)|\(\d{1,2}\)|[·•*\-]|【)"
_SOFT_WRAP = re.compile(r"(?<![。;:!?.,、\n】])\n(?!" + _ITEM_START + r"|\n)")
_TRAILING_SPACE = re.compile(r"[ \t\u3000]+\n")
_NUMBERING = re.compile(r"(?:^|(?<=[\s。;:!?,]))(?:\d{1,2}\s*[、.)](?!\d)|\(\d{1,2}\))|^[ \t]*[·•*\-]+", re.M)
_SPACES_NEAR_CJK = re.compile(r"[ \t\u3000]+(?=[^\x00-\x7f])|(?<=[^\x00-\x7f])[ \t\u3000]+")
_SENTENCE_SPLIT = re.compile(r"[。;!\n]+|\.(?!\d)")
_CLAUSE_SPLIT = re.compile(r"(?<=\?)|[,:()]")


def _char_class(chars: list[int]) -> str:
    """A compact regex character class for a sorted list of code points."""
    parts = []
    start = prev = None
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


@lru_cache(maxsize=1)
def _nfkc_needed() -> re.Pattern[str]:
    """Characters that NFKC would change (or combine), plus everything outside the BMP."""
    cps = [
        cp
        for cp in range(0x80, 0x10000)
        if not 0xD800 <= cp <= 0xDFFF
        and (unicodedata.normalize("NFKC", chr(cp)) != chr(cp) or unicodedata.combining(chr(cp)))
    ]
    return re.compile(_char_class(cps)[:-1] + "\U00010000-\U0010ffff]")


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    try:
        return opencc.OpenCC("t2s")
    except Exception:  # older OpenCC bindings want the file name
        return opencc.OpenCC("t2s.json")


@lru_cache(maxsize=1)
def _traditional() -> re.Pattern[str]:
    """Characters that OpenCC's t2s changes (derived from OpenCC, not a hand-made table)."""
    convert = _converter().convert
    ranges = [(0x2E80, 0x2FDF), (0x3000, 0x303F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF)]
    block = "".join(chr(cp) for a, b in ranges for cp in range(a, b + 1))
    converted = convert(block)
    if len(converted) == len(block):
        cps = [ord(a) for a, b in zip(block, converted, strict=True) if a != b]
    else:  # a conversion changed the length: fall back to one character at a time
        cps = [ord(ch) for ch in block if convert(ch) != ch]
    return re.compile(_char_class(cps)[:-1] + "\U00010000-\U0010ffff]")


class Normaliser:
    """Turn a raw report into canonical text (see the module docstring for the steps)."""

    def __init__(self, rewrites: Mapping[str, str]):
        self._nfkc = _nfkc_needed()
        self._trad = _traditional()
        self._t2s = _converter().convert
        self._rewrites = dict(rewrites)
        changing = sorted((k for k, v in self._rewrites.items()), key=len, reverse=True)
        self._rewrite_re = re.compile("|".join(re.escape(k) for k in changing)) if changing else None

    def _rewrite(self, match: re.Match[str]) -> str:
        return self._rewrites[match.group()]

    def __call__(self, text: str) -> str:
        if self._nfkc.search(text):
            text = unicodedata.normalize("NFKC", text)
        if self._trad.search(text):
            text = self._t2s(text)
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" in text:
            text = _SOFT_WRAP.sub("", _TRAILING_SPACE.sub("\n", text.strip()))
        if " " in text or "\t" in text or "\u3000" in text:
            text = _SPACES_NEAR_CJK.sub("", text)
        text = _NUMBERING.sub("\n", text)
        if self._rewrite_re is not None:
            text = self._rewrite_re.sub(self._rewrite, text)
        return text


def sentences(text: str) -> list[str]:
    """Split normalised text into sentences (。 ; ! line breaks, a full stop not in a number)."""
    return [s for s in _SENTENCE_SPLIT.split(text) if s and not s.isspace()]


def clauses(sentence: str) -> list[str]:
    """Split a sentence into clauses at commas, colons and brackets; a ``?`` stays with its clause."""
    return [c for c in _CLAUSE_SPLIT.split(sentence) if c]
