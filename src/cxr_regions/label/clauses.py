"""Reading one sentence of a report (the recipe in :mod:`cxr_regions.label.labeler`'s docstring).

The sentence's vocabulary terms are found in one pass (:class:`Token` records) and cut into clauses
at boundary marks (:class:`Clause` records); each clause's tokens are read left to right by the
sentence's state object (:mod:`cxr_regions.label.reading`: subjects, findings, negations, hedges,
resolutions, explanations), and the result is two bit masks over the regions (at ``1``, at ``u``)
with the evidence behind each bit (:class:`SentenceResult`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cxr_regions.contracts.label_rows import EXACT, HEDGE, TYPO, Evidence
from cxr_regions.label.language import rules_for
from cxr_regions.label.postposed import PostposedChain
from cxr_regions.label.reading import NO_REGION, SUBJECT_REGION, Clause, SentenceState, Token
from cxr_regions.label.vocabulary import FindingGroup, Vocabulary
from cxr_regions.regions import ABNORMAL, NORMAL, REGION_KEYS

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
REGION_BIT = {k: 1 << i for i, k in enumerate(REGION_KEYS)}


@dataclass(slots=True)
class SentenceResult:
    """What one sentence says: bit masks of the regions at 1 and at u, the evidence, the
    increased-markings statements (as lungs evidence, for the --markings-abnormal policy), and the
    clauses that no vocabulary word read (no subject, finding, device, known-normal phrasing...).
    Results are cached and shared between reports: never change one."""

    abnormal: int
    uncertain: int
    evidence: tuple[Evidence, ...]
    markings: tuple[Evidence, ...]
    unread: tuple[str, ...]
    typos: tuple[tuple[str, str, str], ...] = ()  # (clause, word as written, word read) of typo reads


class SentenceReader:
    """Reads sentences with one vocabulary; :meth:`read` is pure, so its results may be cached."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self._finditer = vocabulary.token_re.finditer
        self._cues = vocabulary.cues
        self._patterns = vocabulary.patterns
        self._spine = vocabulary.spine_cue
        self._threshold = vocabulary.ratio_threshold
        # the language's list joiners, list gap (what may stand between a negation or hedge and the
        # next subject of the list it opens), shadow word and ratio phrase (language.py)
        self._rules = rules_for(vocabulary.language)
        postposed = self._rules.postposed
        self._chain = PostposedChain(postposed) if postposed is not None else None
        self._targets_cache: dict[tuple[int, tuple[str, ...]], tuple[str, ...]] = {}
        self._typos = vocabulary.typo_matcher() if vocabulary.language == "zh" else None

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
                    if s in NO_REGION or s in group.not_for:
                        continue
                    region = SUBJECT_REGION.get(s, s)
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
                return SentenceResult(
                    sum_bits(r.abnormal for r in results),
                    sum_bits(r.uncertain for r in results),
                    tuple(e for r in results for e in r.evidence),
                    tuple(e for r in results for e in r.markings),
                    tuple(c for r in results for c in r.unread),
                    tuple(t for r in results for t in r.typos),
                )
        return self._read(sentence)

    def _tokens(self, sentence: str) -> list[Token]:
        """Every vocabulary term of ``sentence``, left to right (the longest at each place)."""
        cues, named, spine = self._cues, self._patterns, self._spine
        return [
            (m.start(), m.end(), cues[text] if (g := m.lastgroup) is None else named[g] or spine(text), text)
            for m in self._finditer(sentence)
            if (text := m.group())
        ]

    def _clauses(self, sentence: str, toks: list[Token]) -> list[Clause]:
        """Runs of tokens between boundary marks (, : ( ) and a ? that closes its clause)."""
        ends_clause = self._rules.ends_clause
        clauses: list[Clause] = []
        lo = text_start = 0
        for k, (start, end, cue, _) in enumerate(toks):
            if cue.boundary and (ends_clause is None or ends_clause(sentence, start)):
                if cue.hedge_post:
                    clauses.append((lo, k + 1, text_start, end))
                else:
                    clauses.append((lo, k, text_start, start))
                lo, text_start = k + 1, end
        clauses.append((lo, len(toks), text_start, len(sentence)))
        return clauses

    def _read(self, sentence: str) -> SentenceResult:
        toks = self._tokens(sentence)
        if self._typos is not None:
            toks = self._typos.merge(sentence, toks)
        clauses = self._clauses(sentence, toks)
        reads = [cue.reads for _, _, cue, _ in toks]
        unread = tuple(
            _LIST_NUMBER.sub("", sentence[start:end].strip("?"))
            for lo, hi, start, end in clauses
            if not any(reads[lo:hi]) and _unknown(sentence, lo, hi, start, end, toks)
        )
        ratios = self._ratios(sentence) if self._rules.ratio_trigger in sentence else []
        state = SentenceState(sentence, toks, self._rules, self._targets, self._chain)
        for number, span in enumerate(clauses):
            state.read_clause(number, span, ratios)

        abnormal = uncertain = 0
        found = []
        make = tuple.__new__  # Evidence without the Python-level NamedTuple constructor
        for e in state.entries:
            if e.value == NORMAL:
                continue
            _, _, start, end = clauses[e.clause]
            clause = sentence[start:end].strip()
            if e.value == ABNORMAL:
                abnormal |= REGION_BIT[e.region]
                found.append(make(Evidence, (e.region, e.value, clause, e.cue, None, e.basis)))
            else:
                uncertain |= REGION_BIT[e.region]
                basis = HEDGE if e.basis == EXACT else e.basis
                found.append(make(Evidence, (e.region, e.value, clause, e.cue, e.hedge, basis)))
        said = abnormal | uncertain
        for e in state.typo_denials:  # regions said normal through a typo: 0, basis typo
            if not said & REGION_BIT[e.region]:
                _, _, start, end = clauses[e.clause]
                clause = sentence[start:end].strip()
                found.append(make(Evidence, (e.region, NORMAL, clause, e.cue, None, TYPO)))
        marked = []
        for cue_text, n in state.markings:
            _, _, start, end = clauses[n]
            clause = sentence[start:end].strip()
            marked.append(make(Evidence, ("lungs", ABNORMAL, clause, cue_text, None, EXACT)))
        typos = tuple(
            (_clause_of(sentence, clauses, start), text, cue.text) for start, _, cue, text in toks if cue.typo
        )
        return SentenceResult(abnormal, uncertain, tuple(found), tuple(marked), unread, typos)


def _clause_of(sentence: str, clauses: list[Clause], at: int) -> str:
    """The text of the clause holding position ``at``."""
    for _, _, start, end in clauses:
        if start <= at < end:
            return sentence[start:end].strip()
    return sentence.strip()


def sum_bits(masks) -> int:
    """The union of region bit masks."""
    out = 0
    for mask in masks:
        out |= mask
    return out


def _unknown(sentence: str, lo: int, hi: int, at: int, end: int, toks: list[Token]) -> bool:
    """Whether the clause ``sentence[at:end]`` (tokens ``toks[lo:hi]``) holds text no token covers."""
    parts = []
    for start, stop, _, _ in toks[lo:hi]:
        parts.append(sentence[at:start])
        at = stop
    parts.append(sentence[at:end])
    return _WORDY.search(_FILLER.sub("", _LIST_NUMBER.sub("", "".join(parts)))) is not None
