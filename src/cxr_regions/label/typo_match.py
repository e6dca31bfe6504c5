"""Typo-tolerant matching of the vocabulary's Chinese words, by pinyin (:mod:`cxr_regions.label.pinyin`).

A word typed with a pinyin input method goes wrong in a few ways: a character of the same reading
(积液 -> 积夜, 未见 -> 位见), one a key off in the pinyin (for words of three or more characters:
不规则 -> 不绘则), two characters swapped (积液 -> 液积), one dropped (from words of four or more: 骨质疏松
-> 骨质疏). Only text that no vocabulary word covers is searched (a typo is what made the word fail to
match); a candidate must keep every other character of the word, may only swallow exact words that
lie wholly inside it, and must not be a common Chinese word itself nor cut one at its edge (pypinyin's
phrase list: 合影, 部位见). A match becomes a token whose cue is the word's, marked ``typo``: the labels
it gives say so (basis ``typo``), and ``label --review`` lists it first for a person to check.

Dropping a negation character (显示不清 -> 显示清) or swapping one in changes the meaning, so such
variants are never made; neither is a variant that is itself a word of the vocabulary. The negations an
input method offers first (不, 无, 没) are never read into a text: their homophones are common words.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from cxr_regions.label import pinyin
from cxr_regions.label.vocabulary import Cue

_HOLE = "\x00"
_MEANING = frozenset("不未无非欠没否")  # characters whose loss or move turns a statement round
# Negations an input method offers first for their pinyin: never mistyped, while their homophones are
# common words (部见 is no 不见, 五 no 无), so they are never read into a text.
_TYPED_FIRST = frozenset("不无没")


def _chinese(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


class TypoMatcher:
    """The vocabulary's Chinese words indexed for typo-tolerant lookup (built once per vocabulary)."""

    def __init__(self, cues: dict[str, Cue]) -> None:
        words = {w: c for w, c in cues.items() if len(w) >= 2 and _chinese(w) and not c.boundary}
        self._typo_cues: dict[str, Cue] = {}
        self._holes: dict[str, list[tuple[str, int]]] = {}  # the word with one character left out
        self._variants: dict[str, str] = {}  # swapped and dropped forms -> the word
        for word in words:
            for j in range(len(word)):
                self._holes.setdefault(word[:j] + _HOLE + word[j + 1 :], []).append((word, j))
            for variant in _variants(word):
                if variant not in words:
                    self._variants.setdefault(variant, word)
        self._cues = words
        self._lengths = sorted({len(w) for w in words}, reverse=True)
        self._variant_lengths = sorted({len(v) for v in self._variants}, reverse=True)

    def cue(self, word: str) -> Cue:
        """The cue of ``word`` as read through a typo (the same roles, marked ``typo``)."""
        found = self._typo_cues.get(word)
        if found is None:
            found = self._typo_cues[word] = dataclasses.replace(self._cues[word], typo=True)
        return found

    def _fits(self, written: str, word: str, j: int) -> bool:
        """Whether ``written`` may stand for ``word[j]``: the same reading, or a key off (long words)."""
        found, meant = pinyin.readings(written), pinyin.word_readings(word)[j]
        if not found or not meant or written in _MEANING or word[j] in _TYPED_FIRST:
            return False  # a negation written is meant; 位见 may be 未见, but 部见 is no 不见
        typed = found[0]  # an input method offers a character first for its usual reading
        # a key off only in words of three or more characters: in two-character words it meets real words
        return typed == meant or (len(word) >= 3 and typed in pinyin.slips(meant))

    def _candidates(self, sentence: str, p: int) -> Iterable[tuple[int, int, str]]:
        """(start, end, word) of the typo readings of windows holding the uncovered character at ``p``."""
        n = len(sentence)
        for length in self._lengths:
            for j in range(length):
                s = p - j
                if s < 0 or s + length > n:
                    continue
                window = sentence[s : s + length]
                for word, hole in self._holes.get(window[:j] + _HOLE + window[j + 1 :], ()):
                    if hole == j and window[j] != word[j] and self._fits(window[j], word, j):
                        yield s, s + length, word
        for length in self._variant_lengths:
            for s in range(max(0, p - length + 1), min(p, n - length) + 1):
                word = self._variants.get(sentence[s : s + length])
                if word is not None:
                    yield s, s + length, word

    def merge(self, sentence: str, toks: list) -> list:
        """``toks`` (exact tokens, left to right) with typo readings of the uncovered text added; exact
        tokens wholly inside a typo reading give way to it."""
        covered = bytearray(len(sentence))
        for start, end, _, _ in toks:
            covered[start:end] = b"\x01" * (end - start)
        found = []
        for p, ch in enumerate(sentence):
            if not covered[p] and "\u4e00" <= ch <= "\u9fff":
                found.extend(self._candidates(sentence, p))
        if not found:
            return toks
        chosen: list[tuple[int, int, str]] = []
        phrases = pinyin.phrases()
        for start, end, word in sorted(set(found), key=lambda f: (f[0] - f[1], f[0])):
            if any(start < e and s < end for s, e, _ in chosen):
                continue
            if sentence[start:end] in phrases or _in_word(sentence, start, end, phrases):
                continue  # 合影, 中段, 部位见: written as meant, a word of its own
            if any(s < start < e or s < end < e for s, e, _, _ in toks):
                continue  # it would cut an exact word in two
            chosen.append((start, end, word))
        if not chosen:
            return toks
        kept = [t for t in toks if not any(s <= t[0] and t[1] <= e for s, e, _ in chosen)]
        added = [(s, e, self.cue(word), sentence[s:e]) for s, e, word in chosen]
        return sorted(kept + added, key=lambda t: t[0])


def _in_word(sentence: str, start: int, end: int, phrases: frozenset[str]) -> bool:
    """Whether a character at an edge of ``sentence[start:end]`` makes a common word with the
    character beside it outside (心影普|遍, 部|位见): then it was written as meant."""
    return (start > 0 and sentence[start - 1 : start + 1] in phrases) or (
        end < len(sentence) and sentence[end - 1 : end + 1] in phrases
    )


def _variants(word: str) -> set[str]:
    """The swapped and dropped forms of ``word`` that a typo may leave (see the module docstring)."""
    out = set()
    for i in range(len(word) - 1):
        if word[i] != word[i + 1] and word[i] not in _MEANING and word[i + 1] not in _MEANING:
            out.add(word[:i] + word[i + 1] + word[i] + word[i + 2 :])
    if len(word) >= 4:  # a three-character word less one is two characters: met by chance too often
        for i in range(len(word)):
            if word[i] not in _MEANING:
                out.add(word[:i] + word[i + 1 :])
    return {v for v in out if len(v) >= 2}
