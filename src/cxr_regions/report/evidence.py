"""A report's text as HTML with the labeler's evidence marked: each clause behind a label is
underlined in its region's colour and its cue word (and hedge) highlighted, with the label in a tooltip.
The evidence is labels.csv's :class:`~cxr_regions.contracts.label_rows.Evidence` (read with
:func:`parse_evidence`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from markupsafe import Markup, escape

from cxr_regions.contracts.label_rows import Evidence, parse_evidence
from cxr_regions.regions import label_title

__all__ = ["Evidence", "highlight", "parse_evidence", "region_title"]

VALUE_WORDS = {"1": "abnormal", "u": "uncertain", "0": "normal"}


def _spans(text: str, needle: str, within: tuple[int, int] | None = None) -> list[tuple[int, int]]:
    if not needle:
        return []
    lo, hi = within or (0, len(text))
    found, start = [], text.find(needle, lo, hi)
    while start != -1:
        found.append((start, start + len(needle)))
        start = text.find(needle, start + len(needle), hi)
    return found


def highlight(text: str, marks: Sequence[Evidence]) -> Markup:
    """The text, escaped, with clause spans and cue marks (the cue word and the hedge that doubts it).

    Evidence is searched for in the NFKC-normalised text (the form the labeler reads: half-width
    punctuation), in lower case with runs of spaces as one (as English is read), and marked on the
    original characters. Evidence that cannot be found is left unmarked (the labels table still lists it).
    """
    pieces: list[str] = []
    for ch in text:
        piece = " " if ch.isspace() else unicodedata.normalize("NFKC", ch).lower()
        pieces.append("" if piece == " " and pieces and pieces[-1] in (" ", "") else piece)
    owner = [i for i, piece in enumerate(pieces) for _ in piece]
    normal = "".join(pieces)

    def original(span: tuple[int, int]) -> range:
        return range(owner[span[0]], owner[span[1] - 1] + 1)

    clause_at: list[set[int]] = [set() for _ in text]
    cue_at: list[set[int]] = [set() for _ in text]
    for i, mark in enumerate(marks):
        clauses = _spans(normal, mark.clause.lower())
        for span in clauses:
            for k in original(span):
                clause_at[k].add(i)
        for part in (mark.cue.lower(), (mark.hedge or "").lower()):
            cues = [c for span in clauses for c in _spans(normal, part, span)] or _spans(normal, part)
            for span in cues:
                for k in original(span):
                    cue_at[k].add(i)
    out: list[str] = []
    for start, end, ids in _runs(clause_at, 0, len(text)):
        inner = "".join(
            _wrap("mark", "cue", cue_ids, marks, escape(text[a:b])) if cue_ids else str(escape(text[a:b]))
            for a, b, cue_ids in _runs(cue_at, start, end)
        )
        out.append(_wrap("span", "clause", ids, marks, inner) if ids else inner)
    return Markup("".join(out))


def _runs(at: list[set[int]], start: int, end: int) -> list[tuple[int, int, set[int]]]:
    """Maximal runs of characters in [start, end) that carry the same evidence."""
    runs, k = [], start
    while k < end:
        j = k
        while j < end and at[j] == at[k]:
            j += 1
        runs.append((k, j, at[k]))
        k = j
    return runs


def _wrap(tag: str, css: str, ids: Iterable[int], marks: Sequence[Evidence], inner: str) -> str:
    chosen = [marks[i] for i in sorted(ids)]
    regions = " ".join(dict.fromkeys(f"r-{m.region}" for m in chosen))
    cues: dict[tuple[str, str], list[str]] = {}
    for m in chosen:
        cues.setdefault((m.region, m.value), []).append(f"{m.cue} [{m.hedge}]" if m.hedge else m.cue)
    tip = "; ".join(
        f"{region_title(r)} = {v} ({VALUE_WORDS.get(v, v)}), cue {', '.join(dict.fromkeys(c))}"
        for (r, v), c in cues.items()
    )
    return f'<{tag} class="{css} {escape(regions)}" title="{escape(tip)}">{inner}</{tag}>'


region_title = label_title
"""``heart 心影`` for a region key, other label names as they are (``regions.label_title``)."""
