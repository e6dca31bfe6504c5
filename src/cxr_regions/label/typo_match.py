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
import re

from cxr_regions.label import pinyin
from cxr_regions.label.vocabulary import Cue

_CHINESE = re.compile(r"[\u4e00-\u9fff]")
_MEANING = frozenset("不未无非欠没否")  # characters whose loss or move turns a statement round
# Negations an input method offers first for their pinyin: never mistyped, while their homophones are
# common words (部见 is no 不见, 五 no 无), so they are never read into a text.
_TYPED_FIRST = frozenset("不无没")


def _chinese(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


class TypoMatcher:
    """The vocabulary's Chinese words indexed for typo-tolerant lookup (built once per vocabulary)."""

    def __init__(self, cues: dict[str, Cue]) -> None:
        self._cues = {w: c for w, c in cues.items() if len(w) >= 2 and _chinese(w) and not c.boundary}
        self._typo_cues: dict[str, Cue] = {}
        self._around: dict[str, list[tuple[str, int, str, str]]] | None = None  # built on first use

    def _build(self) -> dict[str, list[tuple[str, int, str, str]]]:
        """The index (built on first use: it reads pypinyin's tables). A mistyped character sits beside
        right ones and was typed with the pinyin of the one meant (or a key off it): the words by the
        characters around the hole (the one before a last, the one after a first character) and the
        pinyin that may have been typed there, as (word, hole, the word before it, after it)."""
        words = self._cues
        around: dict[str, list[tuple[str, int, str, str]]] = {}
        self._variants: dict[str, str] = {}  # swapped and dropped forms -> the word
        for word in words:
            said, last = pinyin.word_readings(word), len(word) - 1
            for j in range(len(word)):
                if word[j] in _TYPED_FIRST or not said[j]:
                    continue  # 不, 无, 没 are offered first for their pinyin: never mistyped
                if j == 0:
                    key = ">" + word[1]
                elif j == last:
                    key = word[j - 1] + "<"
                else:
                    key = word[j - 1] + word[j + 1]
                # a key off only in words of three or more characters: in shorter ones it meets real words
                typed = {said[j], *(pinyin.slips(said[j]) if len(word) >= 3 else ())}
                for reading in typed:
                    around.setdefault(f"{key}|{reading}", []).append((word, j, word[:j], word[j + 1 :]))
            for variant in _variants(word):
                if variant not in words:
                    self._variants.setdefault(variant, word)
        self._chars = frozenset("".join(words))
        self._variant_lengths: dict[str, list[int]] = {}  # first character -> the lengths of variants
        for variant in self._variants:
            self._variant_lengths.setdefault(variant[0], []).append(len(variant))
        for first, lengths in self._variant_lengths.items():
            self._variant_lengths[first] = sorted(set(lengths))
        self._longest = max((len(v) for v in self._variants), default=0)
        self._around = around
        return around

    def cue(self, word: str) -> Cue:
        """The cue of ``word`` as read through a typo (the same roles, marked ``typo``)."""
        found = self._typo_cues.get(word)
        if found is None:
            found = self._typo_cues[word] = dataclasses.replace(self._cues[word], typo=True)
        return found

    def _candidates(self, sentence: str, p: int, found: list[tuple[int, int, str]]) -> None:
        """Add to ``found`` (start, end, word) of the typo readings of windows holding the uncovered
        character at ``p``."""
        around = self._around or self._build()
        n, written = len(sentence), sentence[p]
        readings = pinyin.readings(written)
        if readings and written not in _MEANING:  # a negation written is meant
            typed = "|" + readings[0]  # an input method offers a character first for its usual reading
            before, after = sentence[p - 1 : p] if p else "", sentence[p + 1 : p + 2]
            for key in (before + after + typed, before + "<" + typed, ">" + after + typed):
                for word, j, head, tail in around.get(key, ()):
                    s, end = p - j, p + 1 + len(tail)
                    fits = s >= 0 and end <= n and written != word[j]
                    if fits and sentence.startswith(head, s) and sentence.startswith(tail, p + 1):
                        found.append((s, end, word))
        if written not in self._chars:
            return  # a swapped or dropped form holds only the word's own characters
        lengths, variants = self._variant_lengths, self._variants
        for s in range(max(0, p - self._longest + 1), p + 1):
            for length in lengths.get(sentence[s], ()):
                if p < s + length <= n:
                    variant = variants.get(sentence[s : s + length])
                    if variant is not None:
                        found.append((s, s + length, variant))

    def merge(self, sentence: str, toks: list) -> list:
        """``toks`` (exact tokens, left to right) with typo readings of the uncovered text added; exact
        tokens wholly inside a typo reading give way to it."""
        found: list[tuple[int, int, str]] = []
        at = 0
        for start, end, _, _ in (*toks, (len(sentence), 0, None, "")):
            if start > at:  # the text between two words
                for m in _CHINESE.finditer(sentence, at, start):
                    self._candidates(sentence, m.start(), found)
            at = max(at, end)
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
