"""English reports: normalising, sentence splitting and word-bounded matching for the one engine.

English is matched on lower-case text with single spaces, and a vocabulary word matches only as whole
words: "no" is not found inside "normal" or "nodule", and "pneumothorax" not inside
"hydropneumothorax" (the longest whole-word entry wins at each place, as in Chinese). A comma is a
clause boundary except inside a list that ends with "and"/"or" ("no pneumothorax, effusion, or
consolidation" is one negated list); a comma followed by a new statement ("..., the heart is enlarged")
stays a boundary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from cxr_regions.label.normalise import literal_branches

_VERB = r"\b(?:is|are|was|were|has|have|had|appears?|seems?|remains?|shows?|demonstrates?)\b"
# A comma followed, before the next comma, by a list's last "and"/"or" (or by another comma) without a
# verb between is a list comma ("..., the heart is enlarged and ..." is not).
_LIST_COMMA = re.compile(rf"(?:(?!{_VERB})[^,])*?(?:,|\b(?:and|or|nor)\b)")
# A sentence that opens with a negation and holds no verb and no turn ("but", "with") is one negated
# list, commas or not ("negative for pneumothorax, pleural effusion").
_NEGATED_LIST = re.compile(r"(?:no|without|negative for|free of)\b")
# A comma after a negation with no verb or turn between lists adjectives or the negation's items ("no
# acute, displaced rib fractures", "clear without focal opacity, pleural effusion, pneumothorax"), unless
# a new statement follows it ("no effusion, the heart is enlarged").
_AFTER_NEGATION = re.compile(
    rf"(?:^|.*\b)(?:no|without|negative for|free of|clear of)\b(?:(?!{_VERB}|\b(?:but|however|with)\b).)*$"
)
_JUST_AFTER_NEGATION = re.compile(r"(?:^|.*\b)(?:no|without|negative for|free of|clear of)(?:\s+[\w-]+)?\s*$")
_NO_VERB_AHEAD = re.compile(rf"(?:(?!{_VERB})[^,])*(?:,|$)")
_STATEMENT = re.compile(r"\s*(?:the|there|a|an|this|these|it|its)\b")
_TURN = re.compile(rf"{_VERB}|\b(?:but|however|though|although|with|except|otherwise|other than)\b")
_SPACE_RUN = re.compile(r"[ \t\xa0\u3000]+")
# A line break that starts a new statement: a blank line, a numbered item or a bullet.
_HARD_BREAK = re.compile(r"\n\s*(?=\n|\d{1,2}[.)]\s|[-*•·])")
_SENTENCE_END = re.compile(r"\.(?!\d)|[;!\n]")
_WIDE = str.maketrans(dict(zip("，；：（）？！。", ",;:()?!.", strict=True)))


def english_term(term: str) -> str:
    """The form a vocabulary entry is matched in: lower case, single spaces."""
    return " ".join(term.lower().split())


class EnglishNormaliser:
    """Lower case, compatibility forms (NFKC) folded, runs of spaces and soft line wraps made one
    space, and the vocabulary's rewrites (whole words) applied."""

    def __init__(self, rewrites: Mapping[str, str]):
        self._rewrites = {english_term(k): english_term(v) for k, v in rewrites.items()}
        self._rewrite_re = (
            re.compile(r"\b(?:" + "|".join(literal_branches(sorted(self._rewrites))) + r")(?!\w)")
            if self._rewrites
            else None
        )

    def _rewrite(self, match: re.Match[str]) -> str:
        return self._rewrites[match.group()]

    def __call__(self, text: str) -> str:
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text.translate(_WIDE))
        text = text.lower()
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" in text:
            text = _HARD_BREAK.sub(".\n", text)
            text = text.replace("\n", " ")
        if "  " in text or "\t" in text or "\xa0" in text or "\u3000" in text:
            text = _SPACE_RUN.sub(" ", text)
        if self._rewrite_re is not None:
            text = self._rewrite_re.sub(self._rewrite, text)
        return text


def comma_ends_clause(sentence: str, at: int) -> bool:
    """Whether the comma at ``at`` ends a clause (a comma inside a list or a negated list does not)."""
    if _LIST_COMMA.match(sentence, at + 1):
        return False
    if (
        _AFTER_NEGATION.match(sentence[:at])
        and not _STATEMENT.match(sentence, at + 1)
        and (_NO_VERB_AHEAD.match(sentence, at + 1) or _JUST_AFTER_NEGATION.match(sentence[:at]))
    ):
        return False
    return not (_NEGATED_LIST.match(sentence) and not _TURN.search(sentence))


def english_sentences(text: str) -> list[str]:
    """Split normalised English text into sentences (full stops not in a number, ; ! line breaks)."""
    return [s for s in (part.strip() for part in _SENTENCE_END.split(text)) if s]


def english_token_alternatives(literals: list[str], patterns: list[str]) -> list[str]:
    """The alternatives of the one matcher: boundary marks anywhere, every word entry as whole words.

    ``patterns`` are the ``re:`` entries, already written as ``head(?P<name>rest)``.
    """
    marks = [t for t in literals if not t[0].isalnum()]
    words = [t for t in literals if t[0].isalnum()]
    body = "|".join([*patterns, *literal_branches(words)])
    return [*(re.escape(m) for m in marks), rf"\b(?:{body})(?!\w)"]
