"""Line breaks with no closing mark before them: a wrap inside a statement, or the end of one?

Reports are typed with a statement per line and no full stop as often as they are wrapped at a
fixed width. A break ends a statement when no word of the vocabulary is cut by it, the line before
does not stop mid-phrase (右|侧, 未见|积液, 心包|积液) and the next line opens a new statement: a
side (左侧...), a subject, or a finding that names its own structure (桶状胸, 肺淤血). Otherwise it is
a wrap and the lines are joined. The normaliser asks (:mod:`cxr_regions.label.normalise`); answers
are kept, since the same line ends recur.
"""

from __future__ import annotations

import re

from cxr_regions.label.vocabulary import SUBJECT, Vocabulary

_OPEN_ENDED = re.compile(r"[\d左右双两单侧向于至及和与或并、见为呈示约达平第的之]$")
_OPENS_WITH_SIDE = re.compile(r"[左右双两单]侧|[左右双两](?=[肺膈胸侧肋乳锁肩腋])")  # a line opening 左侧...


class LineBreaks:
    """Decides line breaks with a vocabulary (see the module docstring); callable as ``(text, at)``."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self._token_re = vocabulary.token_re
        self._cue_for = vocabulary.cue_for
        self._wraps: dict[tuple[str, str], bool] = {}

    def __call__(self, text: str, at: int) -> bool:
        """Whether the line break at ``at`` of ``text`` (after a line with no closing mark) ends a
        statement (else it is a wrap)."""
        key = (text[max(0, at - 8) : at], text[at + 1 : at + 12].replace("\n", "")[:8])
        found = self._wraps.get(key)
        if found is None:
            if len(self._wraps) > 50_000:
                self._wraps.clear()
            found = self._wraps[key] = self._ends_statement(*key)
        return found

    def _ends_statement(self, before: str, after: str) -> bool:
        if not before or _OPEN_ENDED.search(before):
            return False  # 右\n侧, 第4至6\n后肋, 心影向\n两侧: the line stops mid-phrase
        joined, cut = before + after, len(before)
        for m in self._token_re.finditer(joined):
            if m.start() >= cut:
                break
            if m.end() > cut:
                return False  # 胸椎骨质增\n生: a word cut in two
            if m.end() == cut:
                cue = self._cue_for(m)
                if cue.kind == SUBJECT or cue.neg_pre or cue.hedge_pre:
                    return False  # 心包\n积液, 胸腔未见\n积液: the line stops before its finding
        if _OPENS_WITH_SIDE.match(after):
            return True
        head = self._token_re.match(after)
        if head is None:
            return False
        cue = self._cue_for(head)
        return cue.kind == SUBJECT or (cue.group is not None and bool(cue.group.fixed))
