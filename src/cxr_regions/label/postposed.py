"""Subjects named after their findings ("tortuosity of the aorta", "tortuous aorta"), as English writes.

Chinese names the subject first (主动脉迂曲); English often names it last: an adjective before its
noun ("enlarged heart", "blunted costophrenic angles") or a noun with "of/in/at the ..." after it
("elevation of the right hemidiaphragm", "granuloma in the right upper lobe"). The clause reader
records the findings read since the last subject word as a chain (findings joined by nothing, "and",
"or" or a comma); when a subject word follows the chain across only such a gap (the language's
``postposed`` pattern), the chain's findings are given again to that subject instead of the one they
were read with. Languages without the pattern (Chinese) never use this.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from cxr_regions.label.vocabulary import Cue

_CHAIN_GAP = re.compile(r"\s*(?:,|/|and|or|and/or|,\s*and|,\s*or)?\s*")


class _Link(NamedTuple):
    """One finding of the chain: where its entries start, its cue, value and hedge, where it ends."""

    first_entry: int
    cue: Cue
    value: str
    hedge: str | None
    end: int


class PostposedChain:
    """The findings of one clause that a following subject word may still claim."""

    __slots__ = ("_items", "_postposed")

    def __init__(self, postposed: re.Pattern[str]) -> None:
        self._postposed = postposed
        self._items: list[_Link] = []

    def reset(self) -> None:
        self._items.clear()

    def finding(
        self, sentence: str, first_entry: int, cue: Cue, value: str, hedge: str | None, start: int, end: int
    ) -> None:
        """Record a finding that gave ``value`` (its entries start at ``first_entry``)."""
        if self._items and not _CHAIN_GAP.fullmatch(sentence, self._items[-1].end, start):
            self._items.clear()
        self._items.append(_Link(first_entry, cue, value, hedge, end))

    def claim(self, sentence: str, start: int, subject: str) -> tuple[int, list[tuple[Cue, str, str | None]]]:
        """A subject word at ``start``: where only a postposed gap (of/in/at the, sides, ordinals...)
        lies between it and the chain, the chain's findings, to be given to ``subject`` instead: the
        index of the first entry they gave and (cue, value, hedge) of each; else ``(-1, [])``."""
        items = self._items
        claimed: tuple[int, list[tuple[Cue, str, str | None]]] = (-1, [])
        if items and subject != "neutral" and self._postposed.fullmatch(sentence, items[-1].end, start):
            claimed = (items[0].first_entry, [(link.cue, link.value, link.hedge) for link in items])
        items.clear()
        return claimed
