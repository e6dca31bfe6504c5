"""Reading one sentence of a report (the recipe in :mod:`cxr_regions.label.labeler`'s docstring).

The sentence is cut into clauses at boundary marks; each clause's vocabulary terms are read left to
right (subjects, findings, negations, hedges, resolutions, explanations), and the result is two bit
masks over the regions (at ``1``, at ``u``) with the evidence behind each bit.
"""

from __future__ import annotations

import re
from typing import cast

from cxr_regions.label.labels import Evidence
from cxr_regions.label.language import rules_for
from cxr_regions.label.postposed import PostposedChain
from cxr_regions.label.vocabulary import (
    CUE,
    DEVICE,
    EXPLAINED,
    FINDING,
    SUBJECT,
    Cue,
    FindingGroup,
    Vocabulary,
)
from cxr_regions.regions import ABNORMAL, NORMAL, REGION_KEYS, UNCERTAIN

_SUBJECT_REGION = {"markings": "lungs", "pleura": "diaphragm"}
_NO_REGION = frozenset({"outside", "neutral", "subphrenic"})
_NUMBERS = re.compile(r"[\d一二三四五六七八九十、,~-]+")  # a level number between a spine and its 椎体
# Unread: a clause where no word says anything (no finding, device, negation, known-normal phrasing)
# and at least two letters or characters are left once its words and the small words that go with
# any statement (见, 呈, 及, sides...) are gone: "右侧胸壁见一窦道形成" leaves 窦道形成.
_FILLER = re.compile(r"[\d\W_见可呈示及和与并两双左右侧部区内为约有一其余较稍略少许量处]+")
_WORDY = re.compile(r"[A-Za-z\u3400-\u9fff]{2}")
_LIST_NUMBER = re.compile(
    r"^(?:\(?\d{1,2}[、.)]|\(\d{1,2}\)|[①-⑳]|[一二三四五六七八九十]{1,2}[、.])"
    r"|^[左右双两单]侧?$|^[一二三四五六七八九十]{1,2}$"  # a side, a list number alone
)
# "2、" opening a numbered item inside a line ("1、胸椎侧弯 2、主动脉迂曲") ends the item before it;
# not an enumeration of numbers (第5、6肋, T11、T12, 胸12、腰1).
_DIGIT_ITEM = re.compile(r"\d、")  # the cheap test first (a number after the sentence's start)
_LIST_ITEM = re.compile(r"(?<![\d第TLCS胸腰颈骶])(?=\d{1,2}、(?![\d第]))")
# One sentence's result: bit masks of the regions at 1 and at u, the evidence, the
# increased-markings statements (as lungs evidence, for the --markings-abnormal policy), and the
# clauses that no vocabulary word read (no subject, finding, device, known-normal phrasing...).
SentenceResult = tuple[int, int, tuple[Evidence, ...], tuple[Evidence, ...], tuple[str, ...]]
REGION_BIT = {k: 1 << i for i, k in enumerate(REGION_KEYS)}


class SentenceReader:
    """Reads sentences with one vocabulary; :meth:`read` is pure, so its results may be cached."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self._finditer = vocabulary.token_re.finditer
        self._cues = vocabulary.cues
        self._patterns = vocabulary.patterns
        self._threshold = vocabulary.ratio_threshold
        # the language's list joiners, list gap (what may stand between a negation or hedge and the
        # next subject of the list it opens), shadow word and ratio phrase (language.py)
        self._rules = rules_for(vocabulary.language)
        postposed = self._rules.postposed
        self._chain = PostposedChain(postposed) if postposed is not None else None
        self._targets_cache: dict[tuple[int, tuple[str, ...]], tuple[str, ...]] = {}

    def _targets(self, group: FindingGroup, subjects: tuple[str, ...]) -> tuple[str, ...]:
        """The regions a finding of ``group`` gives, said of ``subjects``."""
        key = (id(group), subjects)
        cached = self._targets_cache.get(key)
        if cached is not None:
            return cached
        named = [s for s in subjects if s != "neutral"]
        out: list[str] = []
        if group.fixed:
            if not (named and all(s == "outside" for s in named)):
                out = list(group.fixed)
                for s in named:
                    if s in group.redirect:
                        out = [group.redirect[s]]
                        break
        elif not named:
            out = [group.region] if group.region else []
        else:
            for s in named:
                region = group.redirect.get(s)
                if region is None:
                    if s in _NO_REGION or s in group.not_for:
                        continue
                    region = _SUBJECT_REGION.get(s, s)
                if region not in out:
                    out.append(region)
        result = tuple(out)
        self._targets_cache[key] = result
        return result

    def _ratios(self, sentence: str) -> list[tuple[int, str]]:
        """Cardiothoracic ratios above the threshold in ``sentence``: (position, cue text)."""
        out = []
        for m in self._rules.ratio_re.finditer(sentence):
            comparator, number, percent, denominator = m.groups()
            value = float(number)
            if denominator:
                value = value / float(denominator) if float(denominator) else 0.0
            elif percent or value > 1.0:
                value /= 100.0
            if comparator in self._rules.below:
                continue
            if value > self._threshold or (comparator is not None and value >= self._threshold):
                out.append((m.start(), m.group()))
        return out

    def read(self, sentence: str) -> SentenceResult:
        """Read one sentence (the unit of caching: clauses share subjects only within it).

        Numbered items inside it ("1、… 2、…") are read as sentences of their own."""
        if "、" in sentence and _DIGIT_ITEM.search(sentence, 1):
            items = [part for part in _LIST_ITEM.split(sentence) if part]
            if len(items) > 1:
                results = [self._read(item) for item in items]
                return (
                    sum_bits(r[0] for r in results),
                    sum_bits(r[1] for r in results),
                    tuple(e for r in results for e in r[2]),
                    tuple(e for r in results for e in r[3]),
                    tuple(c for r in results for c in r[4]),
                )
        return self._read(sentence)

    def _read(self, sentence: str) -> SentenceResult:
        cues, patterns = self._cues, self._patterns
        toks = [
            (m.start(), m.end(), cues[text] if (name := m.lastgroup) is None else patterns[name], text)
            for m in self._finditer(sentence)
            if (text := m.group())
        ]
        rules, chain = self._rules, self._chain
        # Clauses: runs of tokens between boundary marks (, : ( ) and a ? that closes its clause).
        segments = []
        lo = text_start = 0
        for k, (start, end, cue, _) in enumerate(toks):
            if cue.boundary and (rules.ends_clause is None or rules.ends_clause(sentence, start)):
                if cue.hedge_post:
                    segments.append((lo, k + 1, text_start, end))
                else:
                    segments.append((lo, k, text_start, start))
                lo, text_start = k + 1, end
        segments.append((lo, len(toks), text_start, len(sentence)))
        reads = [t[2].reads for t in toks]
        unread = tuple(
            _LIST_NUMBER.sub("", sentence[a:b].strip("?"))
            for lo_, hi_, a, b in segments
            if not any(reads[lo_:hi_]) and _unknown(sentence, a, b, toks[lo_:hi_])
        )
        ratios = self._ratios(sentence) if rules.ratio_trigger in sentence else ()
        targets = self._targets

        entries: list[list] = []  # [region, value, cue text, clause number, hedge cue]
        markings: list[tuple[str, int]] = []
        inherited: tuple[str, ...] = ()
        for number, (lo, hi, text_start, text_end) in enumerate(segments):
            clause_start = len(entries)
            for position, cue_text in ratios:
                if text_start <= position < text_end:
                    entries.append(["heart", ABNORMAL, cue_text, number, None])
            group = inherited
            own_subject = False  # the clause names a subject (else it reads the one carried over)
            scoped_at = -1  # end of the negation or hedge in force, where it followed such a subject
            subject_end = -1  # where the last subject word ended
            subject_len = 0
            last = 0  # kind of the last significant token (the _KIND values)
            neg = False
            hedge: str | None = None
            last_hedge: Cue | None = None
            advice = False
            explained: str | None = None  # what an explanation earlier in the clause makes of findings
            scope = len(entries)
            token_end = -1
            named = False  # the token before names a thing (a subject, device, explanation...)
            if chain is not None:
                chain.reset()
            for k in range(lo, hi):
                start, end, cue, text = toks[k]
                kind = cue.kind
                after_thing = named and start == token_end
                gap_start = token_end  # where the token before ended
                named, token_end = cue.names, end
                if kind == FINDING:
                    if advice:
                        last = FINDING
                        continue
                    if cue.markings and group and group[-1] == "markings":
                        if not neg:
                            markings.append((text, number))
                        last = FINDING
                        continue
                    fgroup = cue.group
                    if fgroup is None:
                        continue
                    if after_thing and text == rules.shadow:
                        continue  # 纵隔影, 置管影, 外物影, 血管影: the shadow of the thing just named
                    if last == DEVICE and fgroup.device_owned:
                        continue
                    last = FINDING
                    if neg or explained == NORMAL:
                        continue
                    value = UNCERTAIN if hedge or explained == UNCERTAIN else ABNORMAL
                    if chain is not None:
                        chain.finding(sentence, len(entries), cue, value, hedge, start, end)
                    subjects = group if own_subject or fgroup.carry else ()
                    if fgroup.fixed and not own_subject and _NO_REGION.issuperset(subjects):
                        subjects = ()  # "气管右移，右上肺不张": the carried 气管 does not hold back 肺不张
                    regions = targets(fgroup, subjects)
                    for region in regions:
                        entries.append([region, value, text, number, hedge])
                    if regions:
                        named = True  # 渗出影: the 影 is this finding's shadow, already counted
                elif kind == SUBJECT:
                    subject = cast(str, cue.subject or cue.part)  # a subject cue names one or the other
                    fresh = False
                    if chain is not None:
                        chain.subject(sentence, start, subject, entries, number, targets, markings)
                    if last == SUBJECT:
                        gap = sentence[subject_end:start]
                        if cue.part is not None and group and gap and _NUMBERS.fullmatch(gap):
                            subject_end = end  # 腰椎1椎体: the 椎体 of the lumbar spine
                            continue
                        if rules.adjacent(gap):
                            if cue.part is not None and group:
                                subject_end = end
                                continue
                            if subject == "markings":
                                group = ("markings",)
                            elif end - start == 1 or subject_len == 1:
                                group = (*group, subject)
                            else:
                                group = (subject,)
                        elif rules.separated(gap):
                            group = (*group, subject)
                        else:
                            group = (subject,)
                            fresh = True
                    else:
                        group = (subject,)
                        fresh = True
                    if (
                        fresh
                        and scoped_at >= 0
                        and not rules.list_gap.fullmatch(sentence, scoped_at, start)
                        and not (rules.continues or rules.separated)(sentence[gap_start:start])
                    ):
                        # "心影未见增大主动脉迂曲": the denial was said of the subject before it
                        neg, hedge, scoped_at, scope = False, None, -1, len(entries)
                    own_subject = True
                    subject_end = end
                    subject_len = end - start
                    last = SUBJECT
                elif kind == DEVICE:
                    last = DEVICE
                elif kind == CUE:
                    last = CUE
                    if cue.neg_pre or cue.neg_post:
                        if cue.neg_pre and (not cue.neg_post or _finding_follows(toks, k + 1, hi)):
                            neg = True
                            scope = len(entries)
                            scoped_at = end if own_subject else -1
                        else:
                            del entries[scope:]
                    if cue.hedge_pre or cue.hedge_post:
                        if cue.hedge_post:
                            last_hedge = cue
                        if cue.hedge_pre and (not cue.hedge_post or _finding_follows(toks, k + 1, hi)):
                            hedge = text
                            scope = len(entries)
                            scoped_at = end if own_subject else -1
                        else:
                            for entry in entries[scope:]:
                                if entry[1] == ABNORMAL:
                                    entry[1] = UNCERTAIN
                                    entry[4] = text
                    if cue.explained or cue.resolved:
                        # an explanation is doubted only by 可能/待排/?... (考虑体位所致 still explains)
                        doubt = last_hedge or next((t[2] for t in toks[k + 1 : hi] if t[2].hedge_post), None)
                        if cue.resolved or doubt is None:
                            mode: str | None = NORMAL
                        else:
                            mode = None if doubt.rule_out else UNCERTAIN
                        if mode is not None:
                            self._cancel(entries, clause_start, inherited, mode, text)
                        if cue.explained:
                            explained = mode
                            last = EXPLAINED
                    if cue.advice:
                        advice = True
                    if cue.scope_break:
                        neg = False
                        hedge = None
                        advice = False
                        scoped_at = -1
                        scope = len(entries)
            if last_hedge is not None and number and not neg and _hedge_alone(toks, lo, hi):
                # "右下肺炎症，待排", "骨折(可疑)": a clause that is only a hedge doubts the one before
                for entry in reversed(entries[:clause_start]):
                    if entry[3] != number - 1:
                        break
                    if entry[1] == ABNORMAL:
                        entry[1] = UNCERTAIN
                        entry[4] = last_hedge.text
            inherited = group

        abnormal = uncertain = 0
        found = []
        make = tuple.__new__  # Evidence without the Python-level NamedTuple constructor
        for region, value, cue_text, number, hedge_text in entries:
            if value == NORMAL:
                continue
            clause = sentence[segments[number][2] : segments[number][3]].strip()
            if value == ABNORMAL:
                abnormal |= REGION_BIT[region]
                found.append(make(Evidence, (region, value, clause, cue_text)))
            else:
                uncertain |= REGION_BIT[region]
                found.append(make(Evidence, (region, value, clause, f"{cue_text} [{hedge_text}]")))
        marked = tuple(
            make(Evidence, ("lungs", ABNORMAL, sentence[segments[n][2] : segments[n][3]].strip(), cue_text))
            for cue_text, n in markings
        )
        return abnormal, uncertain, tuple(found), marked, unread

    def _cancel(
        self, entries: list[list], clause_start: int, inherited: tuple[str, ...], mode: str, cue: str
    ) -> None:
        """Resolve (``0``) or explain away (``0``/``u``) the findings this clause refers back to.

        Those are the findings earlier in the same clause, or else those of the earlier clauses of
        the sentence about the subject this clause carried over (all of them when it carried none).
        A part of a two-region finding can go on its own: "液气胸引流术后，…，气胸已消失" takes back
        the air (lungs) of the 液气胸 and leaves its fluid (an earlier cue of the same region that
        holds the gone cue and gave a second region too).
        """
        if len(entries) > clause_start:
            lo, regions = clause_start, set()
            if mode == NORMAL:  # withdrawn in place (value 0), so that the reader's indices hold
                gone = {(e[0], e[2]) for e in entries[clause_start:]}
                before = entries[:clause_start]
                for e in before:
                    if any(r == e[0] and t in e[2] and t != e[2] for r, t in gone) and any(
                        o[2] == e[2] and o[3] == e[3] and o[0] != e[0] for o in before
                    ):
                        e[1] = NORMAL
        else:
            lo, regions = 0, {_SUBJECT_REGION.get(s, s) for s in inherited if s not in _NO_REGION}
        keep = entries[:lo]
        for entry in entries[lo:]:
            if regions and entry[0] not in regions:
                keep.append(entry)
            elif mode == UNCERTAIN:
                if entry[1] == ABNORMAL:
                    entry[1] = UNCERTAIN
                    entry[4] = cue
                keep.append(entry)
        entries[:] = keep


def sum_bits(masks) -> int:
    """The union of region bit masks."""
    out = 0
    for mask in masks:
        out |= mask
    return out


def _unknown(sentence: str, start: int, end: int, toks: list) -> bool:
    """Whether the clause ``sentence[start:end]`` holds text that none of its tokens covers."""
    parts, at = [], start
    for lo, hi, _, _ in toks:
        parts.append(sentence[at:lo])
        at = hi
    parts.append(sentence[at:end])
    return _WORDY.search(_FILLER.sub("", _LIST_NUMBER.sub("", "".join(parts)))) is not None


def _hedge_alone(toks: list, lo: int, hi: int) -> bool:
    """Whether the clause ``toks[lo:hi]`` is only a hedge: no subject, finding, device, explanation
    (待排体位: the explanation is what is doubted), resolution or advice."""
    for k in range(lo, hi):
        cue = toks[k][2]
        if cue.kind in (SUBJECT, FINDING, DEVICE) or cue.explained or cue.resolved or cue.advice:
            return False
    return True


def _finding_follows(toks: list, lo: int, hi: int) -> bool:
    """Whether a finding word comes later in the clause (decides how a two-sided cue reads)."""
    return any(toks[k][2].group is not None for k in range(lo, hi))
