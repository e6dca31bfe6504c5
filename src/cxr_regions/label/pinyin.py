"""How Chinese is mistyped with a pinyin input method: characters of the same reading, and slips of a key.

A radiologist types a word's pinyin and picks a character from a list; the typing errors that result
are a homophone picked instead of the right character (积液 -> 积夜), a neighbouring key hit in the
pinyin (ye -> te: 液 -> 特), and two characters swapped or one dropped. The readings come from
``pypinyin``'s character table (every reading of a character, tones dropped, ü as ``v``); "common"
characters are those of GB2312's first level (the 3,755 most used), which an input method offers first.
Both the typo-tolerant matcher (:mod:`cxr_regions.label.typo_match`) and the generated behavioural
suite (:mod:`cxr_regions.label.behaviour`) use this module.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

# Keys next to each key on a QWERTY keyboard (same row and the rows above and below).
_NEIGHBOURS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj", "i": "uojk",
    "o": "ipkl", "p": "ol", "a": "qwsz", "s": "adwezx", "d": "sferxc", "f": "dgrtcv", "g": "fhtyvb",
    "h": "gjyubn", "j": "hkuinm", "k": "jliom", "l": "kop", "z": "asx", "x": "zcsd", "c": "xvdf",
    "v": "cbfg", "b": "vngh", "n": "bmhj", "m": "njk",
}  # fmt: skip


@lru_cache(maxsize=4096)
def _toneless(reading: str) -> str:
    text = unicodedata.normalize("NFD", reading.replace("ü", "v"))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def _dictionary() -> dict[int, str]:
    from pypinyin.pinyin_dict import pinyin_dict

    return pinyin_dict


@lru_cache(maxsize=65536)
def readings(char: str) -> tuple[str, ...]:
    """Every toneless reading of a Chinese character, the usual one first (``()`` for anything else)."""
    found = _dictionary().get(ord(char)) if len(char) == 1 else None
    if not found:
        return ()
    return tuple(dict.fromkeys(_toneless(r) for r in found.split(",") if r))


@lru_cache(maxsize=8192)
def word_readings(word: str) -> tuple[str, ...]:
    """The reading of each character of ``word`` as read in that word (重叠: chong), tones dropped."""
    from pypinyin import Style, lazy_pinyin

    # pypinyin takes a list (one reading per character) from errors=; its annotation says str
    found = lazy_pinyin(word, style=Style.NORMAL, errors=lambda chars: [""] * len(chars))  # type: ignore[arg-type,return-value]
    return tuple(found) if len(found) == len(word) else tuple((readings(c) or ("",))[0] for c in word)


@lru_cache(maxsize=1)
def phrases() -> frozenset[str]:
    """Common Chinese words of two or more characters (pypinyin's phrase list)."""
    from pypinyin.phrases_dict import phrases_dict

    return frozenset(phrases_dict)


@lru_cache(maxsize=1)
def syllables() -> frozenset[str]:
    """Every toneless pinyin syllable."""
    return frozenset(_toneless(r) for found in _dictionary().values() for r in found.split(",") if r)


@lru_cache(maxsize=4096)
def slips(syllable: str) -> frozenset[str]:
    """Syllables one neighbouring key away (one letter replaced by a key next to it)."""
    valid = syllables()
    out = set()
    for i, letter in enumerate(syllable):
        for other in _NEIGHBOURS.get(letter, ""):
            typed = syllable[:i] + other + syllable[i + 1 :]
            if typed in valid and typed != syllable:
                out.add(typed)
    return frozenset(out)


def is_common(char: str) -> bool:
    """Whether ``char`` is one of GB2312's first-level characters (the ones an input method offers first)."""
    try:
        code = char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return len(code) == 2 and 0xB0 <= code[0] <= 0xD7


@lru_cache(maxsize=1)
def _common_by_reading() -> dict[str, tuple[str, ...]]:
    """Common characters by their usual reading (what an input method offers for that pinyin)."""
    by: dict[str, list[str]] = {}
    for code in _dictionary():
        char = chr(code)
        found = readings(char)
        if found and is_common(char):
            by.setdefault(found[0], []).append(char)
    return {k: tuple(sorted(v)) for k, v in by.items()}


@lru_cache(maxsize=4096)
def homophones(reading: str, char: str = "") -> tuple[str, ...]:
    """Common characters whose usual reading is ``reading`` (``char`` itself left out): what an input
    method offers for the pinyin typed."""
    return tuple(c for c in _common_by_reading().get(reading, ()) if c != char)


@lru_cache(maxsize=4096)
def slipped(reading: str, char: str = "") -> tuple[str, ...]:
    """Common characters an input method offers when one key of ``reading`` slips."""
    by = _common_by_reading()
    return tuple(sorted({c for s in slips(reading) for c in by.get(s, ()) if c != char}))
