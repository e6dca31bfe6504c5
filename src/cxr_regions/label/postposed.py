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
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from cxr_regions.label.vocabulary import Cue

if TYPE_CHECKING:
    from cxr_regions.label.vocabulary_schema import FindingGroup

_CHAIN_GAP = re.compile(r"\s*(?:,|/|and|or|and/or|,\s*and|,\s*or)?\s*")


class PostposedChain:
    """The findings of one clause that a following subject word may still claim."""

    __slots__ = ("_items", "_postposed")

    def __init__(self, postposed: re.Pattern[str]) -> None:
        self._postposed = postposed
        self._items: list[tuple[int, Cue, str, str | None, int]] = []

    def reset(self) -> None:
        self._items.clear()

    def finding(
        self, sentence: str, first_entry: int, cue: Cue, value: str, hedge: str | None, start: int, end: int
    ) -> None:
        """Record a finding that gave ``value`` (its entries start at ``first_entry``)."""
        if self._items and not _CHAIN_GAP.fullmatch(sentence, self._items[-1][4], start):
            self._items.clear()
        self._items.append((first_entry, cue, value, hedge, end))

    def subject(
        self,
        sentence: str,
        start: int,
        subject: str,
        entries: list[list],
        number: int,
        targets: Callable[[FindingGroup, tuple[str, ...]], tuple[str, ...]],
        markings: list[tuple[str, int]],
    ) -> None:
        """A subject word at ``start``: give the chain before it to ``subject`` if only a postposed gap
        (of/in/at the, sides, ordinals...) lies between."""
        items = self._items
        if items and subject != "neutral" and self._postposed.fullmatch(sentence, items[-1][4], start):
            del entries[items[0][0] :]
            for _, cue, value, hedge, _ in items:
                if subject == "markings" and cue.markings:
                    markings.append((cue.text, number))  # "prominent interstitial markings"
                    continue
                for region in targets(cast("FindingGroup", cue.group), (subject,)):  # a finding's cue
                    entries.append([region, value, cue.text, number, hedge])
        items.clear()
