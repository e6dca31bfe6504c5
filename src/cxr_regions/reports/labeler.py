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

from cxr_regions.regions import ABNORMAL, NORMAL, REGION_KEYS, UNCERTAIN, label_string, to_binary
from cxr_regions.reports.normalise import Normaliser, clauses, sentences
from cxr_regions.reports.vocabulary import Cue, FindingGroup, Vocabulary, load_vocabulary

STATUS_OK = "ok"
STATUS_EMPTY = "empty_text"
_RANK = {NORMAL: 0, UNCERTAIN: 1, ABNORMAL: 2}
_SEPARATORS = frozenset("、及和与或/及并")
_SUBJECT_REGION = {"markings": "lungs", "pleura": "diaphragm"}
_NO_REGION = frozenset({"outside", "neutral"})
_RATIO_RE = re.compile(
    r"心胸比[^0-9<>,;]{0,6}?(<|>|≤|≥|大于|小于|超过|高于|低于|不足)?[约为=:≈]*\s*(\d+(?:\.\d+)?)\s*(%)?"
)
_CACHE_LIMIT = 200_000
_SHADOW = "影"


@dataclass(frozen=True, slots=True)
class Evidence:
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
        return label_string(self.values)

    def binary(self) -> dict[str, int]:
        """The method's binary labels (``u`` -> 1)."""
        return {k: to_binary(v) for k, v in self.values.items()}


# One sentence's result: findings (region, value, cue, clause) and markings cues (cue, clause).
_Found = tuple[str, str, str, str]
_SentenceResult = tuple[tuple[_Found, ...], tuple[tuple[str, str], ...]]


class Labeler:
    """Label Chinese chest-film reports with the five regions.

    ``markings_abnormal=True`` applies the other increased-markings policy (lung markings that are
    only increased count as abnormal); the default is the method's (they are normal).
    """

    def __init__(self, vocabulary: Vocabulary | None = None, markings_abnormal: bool = False):
        self.vocabulary = vocabulary or load_vocabulary()
        self.markings_abnormal = markings_abnormal
        self.normalise = Normaliser(self.vocabulary.rewrites)
        self._finditer = self.vocabulary.token_re.finditer
        self._cues = self.vocabulary.cues
        self._patterns = self.vocabulary.patterns
        self._threshold = self.vocabulary.ratio_threshold
        self._cache: dict[str, _SentenceResult] = {}
        self._targets_cache: dict[tuple[int, tuple[str, ...]], tuple[str, ...]] = {}

    # ----------------------------------------------------------------------------------------
    def label(self, text: str | None) -> ReportLabels:
        """Label one report (findings and impression may simply be joined)."""
        if text is None or not isinstance(text, str) or not text.strip():
            return ReportLabels(values=dict.fromkeys(REGION_KEYS, NORMAL), status=STATUS_EMPTY)
        best = dict.fromkeys(REGION_KEYS, 0)
        found: list[_Found] = []
        markings: list[tuple[str, str]] = []
        cache = self._cache
        for sentence in sentences(self.normalise(text)):
            result = cache.get(sentence)
            if result is None:
                result = self._sentence(sentence)
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                cache[sentence] = result
            sentence_found, sentence_markings = result
            for item in sentence_found:
                rank = _RANK[item[1]]
                if rank > best[item[0]]:
                    best[item[0]] = rank
                found.append(item)
            markings.extend(sentence_markings)
        markings_only = False
        if markings:
            if self.markings_abnormal:
                best["lungs"] = 2
                found.extend(("lungs", ABNORMAL, cue, clause) for cue, clause in markings)
            elif best["lungs"] == 0:
                markings_only = True
        values = {k: (NORMAL, UNCERTAIN, ABNORMAL)[best[k]] for k in REGION_KEYS}
        evidence: list[Evidence] = []
        seen = set()
        for item in found:
            if item[1] == values[item[0]] and item not in seen:
                seen.add(item)
                evidence.append(Evidence(*item))
        return ReportLabels(values=values, markings_only=markings_only, evidence=evidence)

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
                if s in _NO_REGION or s in group.not_for:
                    continue
                region = group.redirect.get(s) or _SUBJECT_REGION.get(s, s)
                if region not in out:
                    out.append(region)
        result = tuple(out)
        self._targets_cache[key] = result
        return result

    def _ratio(self, clause: str) -> str | None:
        """The cue text when a cardiothoracic ratio in ``clause`` is above the threshold."""
        m = _RATIO_RE.search(clause)
        if m is None:
            return None
        comparator, number, percent = m.groups()
        value = float(number)
        if percent or value > 1.0:
            value /= 100.0
        if comparator in ("<", "≤", "小于", "低于", "不足"):
            return None
        above = value >= self._threshold if comparator in (">", "≥", "大于", "超过", "高于") else None
        if above is None:
            above = value > self._threshold
        return m.group() if above else None

    def _tokens(self, clause: str) -> list[tuple[int, int, Cue, str]]:
        cues = self._cues
        patterns = self._patterns
        out = []
        for m in self._finditer(clause):
            name = m.lastgroup
            text = m.group()
            out.append((m.start(), m.end(), cues[text] if name == "lit" else patterns[name], text))
        return out

    def _sentence(self, sentence: str) -> _SentenceResult:
        """Read one sentence (the unit of caching: clauses share subjects only within it)."""
        # entries: [region, value, cue, clause, hedge cue]
        entries: list[list] = []
        markings: list[tuple[str, str]] = []
        inherited: tuple[str, ...] = ()
        for clause in clauses(sentence):
            toks = self._tokens(clause)
            clause_start = len(entries)
            if "心胸比" in clause:
                cue = self._ratio(clause)
                if cue:
                    entries.append(["heart", ABNORMAL, cue, clause, None])
            group: list[str] = list(inherited)
            prev_end = -1
            prev_len = 0
            last = None  # kind of the last significant token: subject / finding / device / cue
            neg = False
            hedge: str | None = None
            last_hedge: Cue | None = None
            advice = False
            explained: str | None = None  # what an explanation earlier in the clause makes of findings
            scope = len(entries)
            n = len(toks)
            finding_after = [False] * (n + 1)
            for k in range(n - 1, -1, -1):
                finding_after[k] = finding_after[k + 1] or toks[k][2].group is not None
            prev_token_end = -1
            prev_named = False  # the token before names a thing (not a finding or a cue)
            for k, (start, end, cue, text) in enumerate(toks):
                adjacent_end, prev_token_end = prev_token_end, end
                after_thing, prev_named = (
                    prev_named,
                    bool(cue.ignore or cue.subject or cue.part or cue.device or cue.explained),
                )
                if cue.ignore:
                    continue
                subject = cue.subject or cue.part
                if subject is not None:
                    if last == "subject":
                        gap = clause[prev_end:start]
                        if not gap:
                            if cue.part is not None and group:
                                prev_end = end
                                continue
                            if subject == "markings":
                                group = ["markings"]
                            elif end - start == 1 or prev_len == 1:
                                group.append(subject)
                            else:
                                group = [subject]
                        elif _SEPARATORS.intersection(gap):
                            group.append(subject)
                        else:
                            group = [subject]
                    else:
                        group = [subject]
                    prev_end = end
                    prev_len = end - start
                    last = "subject"
                    continue
                if cue.group is not None or cue.markings:
                    if advice:
                        last = "finding"
                        continue
                    if cue.markings and group and group[-1] == "markings":
                        if not neg:
                            markings.append((text, clause))
                        last = "finding"
                        continue
                    fgroup = cue.group
                    if fgroup is None:
                        continue
                    if text == _SHADOW and start == adjacent_end and after_thing:
                        continue  # 纵隔影, 置管影, 外物影, 血管影: the shadow of the thing just named
                    if fgroup.device_owned and last == "device":
                        continue
                    last = "finding"
                    if neg or explained == NORMAL:
                        continue
                    value = UNCERTAIN if hedge or explained == UNCERTAIN else ABNORMAL
                    for region in self._targets(fgroup, tuple(group)):
                        entries.append([region, value, text, clause, hedge])
                    continue
                if cue.device:
                    last = "device"
                    continue
                last = "cue"
                if cue.neg_pre or cue.neg_post:
                    if cue.neg_pre and (not cue.neg_post or finding_after[k + 1]):
                        neg = True
                        scope = len(entries)
                    else:
                        del entries[scope:]
                if cue.hedge_pre or cue.hedge_post:
                    if cue.hedge_post:
                        last_hedge = cue
                    if cue.hedge_pre and (not cue.hedge_post or finding_after[k + 1]):
                        hedge = text
                        scope = len(entries)
                    else:
                        for entry in entries[scope:]:
                            if entry[1] == ABNORMAL:
                                entry[1] = UNCERTAIN
                                entry[4] = text
                if cue.explained or cue.resolved:
                    # an explanation is doubted only by 可能/待排/?... (考虑体位所致 still explains)
                    doubt = last_hedge or next((c for _, _, c, _ in toks[k + 1 :] if c.hedge_post), None)
                    if cue.resolved or doubt is None:
                        mode: str | None = NORMAL
                    else:
                        mode = None if doubt.rule_out else UNCERTAIN
                    if mode is not None:
                        self._cancel(entries, clause_start, inherited, mode, text)
                    if cue.explained:
                        explained = mode
                        last = "explained"
                if cue.advice:
                    advice = True
                if cue.scope_break:
                    neg = False
                    hedge = None
                    advice = False
                    scope = len(entries)
            inherited = tuple(group)
        found = tuple((e[0], e[1], e[2] if e[1] == ABNORMAL else f"{e[2]} [{e[4]}]", e[3]) for e in entries)
        return found, tuple(markings)

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


def label_text(text: str | None, markings_abnormal: bool = False) -> ReportLabels:
    """Label one report with the packaged vocabulary (convenience for scripts)."""
    return Labeler(markings_abnormal=markings_abnormal).label(text)
