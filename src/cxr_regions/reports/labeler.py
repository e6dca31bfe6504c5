"""Report -> five region labels, clause by clause (labeling-policy.md).

Recipe for one report: normalise the text; split it into sentences and clauses; in each clause find
the vocabulary's terms in one pass; read them left to right: subject words say which region the
clause speaks of (a clause without one keeps the subject of the clause before it), finding words
make that region ``1``, a negation before them makes them nothing, a hedge makes them ``u``; a
later cue can still deny, hedge, resolve ("已吸收") or explain away ("体外因素") what came before.
Per region ``1`` beats ``u`` beats ``0``. Each label keeps its evidence: the clause and the cue.
Results are cached per sentence: hospital reports repeat their sentences endlessly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from cxr_regions.regions import ABNORMAL, NORMAL, REGION_KEYS, UNCERTAIN, label_string, to_binary
from cxr_regions.reports.normalise import Normaliser, sentences
from cxr_regions.reports.vocabulary import (
    CUE,
    DEVICE,
    EXPLAINED,
    FINDING,
    SUBJECT,
    Cue,
    FindingGroup,
    Vocabulary,
    load_vocabulary,
)

STATUS_OK = "ok"
STATUS_EMPTY = "empty_text"
_SEPARATORS = frozenset("、及和与或/及并")
_SUBJECT_REGION = {"markings": "lungs", "pleura": "diaphragm"}
_NO_REGION = frozenset({"outside", "neutral", "subphrenic"})
_RATIO_RE = re.compile(
    r"心胸比[^0-9<>,;]{0,6}?(<|>|≤|≥|大于|小于|超过|高于|低于|不足)?[约为=:≈]*\s*(\d+(?:\.\d+)?)\s*"
    r"(?:(%)|[:/](\d+(?:\.\d+)?))?"  # 0.55, 55%, or 1:2
)
_CACHE_LIMIT = 50_000  # sentences (about 50 MB); hospital reports repeat a few thousand
_AS_BIT = {ABNORMAL: "1", UNCERTAIN: "1", NORMAL: "0"}
_SHADOW = "影"
# What may stand between a negation or hedge and the next subject of the list it opens (sides,
# numbers, intensifiers, list marks): anything else is a statement, and the new subject starts anew.
_LIST_GAP = re.compile(r"(?:[左右双两单侧上中下前后部第\d~、及和与或并-]|明显|明确|确切|确定|肯定|显著)*")


class Evidence(NamedTuple):
    """Why a region is not ``0``: the clause, the cue that fired, and the value it gave."""

    region: str
    value: str
    clause: str
    cue: str

    def to_dict(self) -> dict[str, str]:
        return {"region": self.region, "value": self.value, "clause": self.clause, "cue": self.cue}


@dataclass(slots=True)
class ReportLabels:
    """The labels of one report."""

    values: dict[str, str]
    markings_only: bool = False
    status: str = STATUS_OK
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def label_string(self) -> str:
        """Five characters in region order, ``u`` counted as ``1`` (e.g. ``01101``)."""
        try:  # the same as regions.label_string, without a Python-level loop (it runs per report)
            return "".join(map(_AS_BIT.__getitem__, map(self.values.__getitem__, REGION_KEYS)))
        except KeyError:
            return label_string(self.values)

    def binary(self) -> dict[str, int]:
        """The method's binary labels (``u`` -> 1)."""
        return {k: to_binary(v) for k, v in self.values.items()}


# One sentence's result: bit masks of the regions at 1 and at u, the evidence, and the
# increased-markings statements (as lungs evidence, for the --markings-abnormal policy).
_SentenceResult = tuple[int, int, tuple[Evidence, ...], tuple[Evidence, ...]]
_BIT = {k: 1 << i for i, k in enumerate(REGION_KEYS)}
_LUNGS = _BIT["lungs"]
_N = len(REGION_KEYS)
# every (mask at 1) | (mask at u) << 5 -> the values dict; 1 beats u beats 0
_VALUES = {
    a | u << _N: {k: ABNORMAL if a & bit else (UNCERTAIN if u & bit else NORMAL) for k, bit in _BIT.items()}
    for a in range(1 << _N)
    for u in range(1 << _N)
}


class Labeler:
    """Label Chinese chest-film reports with the five regions.

    ``markings_abnormal=True`` applies the other increased-markings policy (lung markings that are
    only increased count as abnormal); the default is the method's (they are normal).
    """

    def __init__(
        self,
        vocabulary: Vocabulary | None = None,
        markings_abnormal: bool = False,
        cache_size: int = _CACHE_LIMIT,
    ):
        self.vocabulary = vocabulary or load_vocabulary()
        self.markings_abnormal = markings_abnormal
        self.normalise = Normaliser(self.vocabulary.rewrites)
        self._finditer = self.vocabulary.token_re.finditer
        self._cues = self.vocabulary.cues
        self._patterns = self.vocabulary.patterns
        self._threshold = self.vocabulary.ratio_threshold
        self._cache: dict[str, _SentenceResult] = {}
        self._cache_size = cache_size
        self._misses = 0
        self._lookups = 0
        self._targets_cache: dict[tuple[int, tuple[str, ...]], tuple[str, ...]] = {}

    # ----------------------------------------------------------------------------------------
    def label(self, text: str | None) -> ReportLabels:
        """Label one report (findings and impression may simply be joined)."""
        if not text or not isinstance(text, str) or text.isspace():
            return ReportLabels(values=dict.fromkeys(REGION_KEYS, NORMAL), status=STATUS_EMPTY)
        abnormal = uncertain = 0
        found: list[Evidence] = []
        markings: list[Evidence] = []
        cache = self._cache
        parts = sentences(self.normalise(text))
        self._lookups += len(parts)
        for sentence in parts:
            result = cache.get(sentence)
            if result is None:
                self._misses += 1
                result = self._sentence(sentence)
                if len(cache) >= self._cache_size:
                    cache.clear()
                if self._cache_size:
                    cache[sentence] = result
            abnormal |= result[0]
            uncertain |= result[1]
            if result[2]:
                found.extend(result[2])
            if result[3]:
                markings.extend(result[3])
        markings_only = False
        if markings:
            if self.markings_abnormal:
                abnormal |= _LUNGS
                found.extend(markings)
            elif not (abnormal | uncertain) & _LUNGS:
                markings_only = True
        values = _VALUES[abnormal | uncertain << _N].copy()
        if uncertain:  # a region at 1 shows only its 1 evidence
            found = [e for e in found if e.value == values[e.region]]
        if len(parts) > 1 and len(found) > 1:
            found = list(dict.fromkeys(found))  # a sentence written twice
        return ReportLabels(values=values, markings_only=markings_only, evidence=found)

    def cache_stats(self) -> dict[str, float]:
        """Sentences looked up, read afresh, and the hit rate of the sentence cache."""
        hits = self._lookups - self._misses
        return {
            "lookups": self._lookups,
            "misses": self._misses,
            "hit_rate": hits / self._lookups if self._lookups else 0.0,
        }

    def label_many(self, texts: list[str | None]) -> list[ReportLabels]:
        """Label a batch of reports."""
        return [self.label(t) for t in texts]

    # ----------------------------------------------------------------------------------------
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
        for m in _RATIO_RE.finditer(sentence):
            comparator, number, percent, denominator = m.groups()
            value = float(number)
            if denominator:
                value = value / float(denominator) if float(denominator) else 0.0
            elif percent or value > 1.0:
                value /= 100.0
            if comparator in ("<", "≤", "小于", "低于", "不足"):
                continue
            if value > self._threshold or (comparator is not None and value >= self._threshold):
                out.append((m.start(), m.group()))
        return out

    def _sentence(self, sentence: str) -> _SentenceResult:
        """Read one sentence (the unit of caching: clauses share subjects only within it)."""
        cues, patterns = self._cues, self._patterns
        toks = [
            (m.start(), m.end(), cues[text] if (name := m.lastgroup) is None else patterns[name], text)
            for m in self._finditer(sentence)
            if (text := m.group())
        ]
        # Clauses: runs of tokens between boundary marks (, : ( ) and a ? that closes its clause).
        segments = []
        lo = text_start = 0
        for k, (start, end, cue, _) in enumerate(toks):
            if cue.boundary:
                if cue.hedge_post:
                    segments.append((lo, k + 1, text_start, end))
                else:
                    segments.append((lo, k, text_start, start))
                lo, text_start = k + 1, end
        segments.append((lo, len(toks), text_start, len(sentence)))
        ratios = self._ratios(sentence) if "心胸比" in sentence else ()
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
                    if after_thing and text == _SHADOW:
                        continue  # 纵隔影, 置管影, 外物影, 血管影: the shadow of the thing just named
                    if last == DEVICE and fgroup.device_owned:
                        continue
                    last = FINDING
                    if neg or explained == NORMAL:
                        continue
                    value = UNCERTAIN if hedge or explained == UNCERTAIN else ABNORMAL
                    regions = targets(fgroup, group if own_subject or fgroup.carry else ())
                    for region in regions:
                        entries.append([region, value, text, number, hedge])
                    if regions:
                        named = True  # 渗出影: the 影 is this finding's shadow, already counted
                elif kind == SUBJECT:
                    subject = cue.subject or cue.part
                    fresh = False
                    if last == SUBJECT:
                        gap = sentence[subject_end:start]
                        if not gap:
                            if cue.part is not None and group:
                                subject_end = end
                                continue
                            if subject == "markings":
                                group = ("markings",)
                            elif end - start == 1 or subject_len == 1:
                                group = (*group, subject)
                            else:
                                group = (subject,)
                        elif _SEPARATORS.intersection(gap):
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
                        and not _LIST_GAP.fullmatch(sentence, scoped_at, start)
                        and not _SEPARATORS.intersection(sentence[gap_start:start])
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
            inherited = group

        abnormal = uncertain = 0
        found = []
        make = tuple.__new__  # Evidence without the Python-level NamedTuple constructor
        for region, value, cue_text, number, hedge_text in entries:
            clause = sentence[segments[number][2] : segments[number][3]]
            if value == ABNORMAL:
                abnormal |= _BIT[region]
                found.append(make(Evidence, (region, value, clause, cue_text)))
            else:
                uncertain |= _BIT[region]
                found.append(make(Evidence, (region, value, clause, f"{cue_text} [{hedge_text}]")))
        marked = tuple(
            make(Evidence, ("lungs", ABNORMAL, sentence[segments[n][2] : segments[n][3]], cue_text))
            for cue_text, n in markings
        )
        return abnormal, uncertain, tuple(found), marked

    def _cancel(
        self, entries: list[list], clause_start: int, inherited: tuple[str, ...], mode: str, cue: str
    ) -> None:
        """Resolve (``0``) or explain away (``0``/``u``) the findings this clause refers back to.

        Those are the findings earlier in the same clause, or else those of the earlier clauses of
        the sentence about the subject this clause carried over (all of them when it carried none).
        """
        if len(entries) > clause_start:
            lo, regions = clause_start, set()
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


def _finding_follows(toks: list, lo: int, hi: int) -> bool:
    """Whether a finding word comes later in the clause (decides how a two-sided cue reads)."""
    return any(toks[k][2].group is not None for k in range(lo, hi))


def label_text(text: str | None, markings_abnormal: bool = False) -> ReportLabels:
    """Label one report with the packaged vocabulary (convenience for scripts)."""
    return Labeler(markings_abnormal=markings_abnormal).label(text)
