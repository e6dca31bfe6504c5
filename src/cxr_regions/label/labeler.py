"""Report -> five region labels, clause by clause (labeling-policy.md).

Recipe for one report: normalise the text; split it into sentences and clauses; in each clause find
the vocabulary's terms in one pass; read them left to right: subject words say which region the
clause speaks of (a clause without one keeps the subject of the clause before it), finding words
make that region ``1``, a negation before them makes them nothing, a hedge makes them ``u``; a
later cue can still deny, hedge, resolve ("已吸收") or explain away ("体外因素") what came before.
Per region ``1`` beats ``u`` beats ``0``. Each label keeps its evidence: the clause and the cue.
Results are cached per sentence: hospital reports repeat their sentences endlessly. The reading of
one sentence is :mod:`cxr_regions.label.clauses`; the result types are :mod:`cxr_regions.label.labels`.
"""

from __future__ import annotations

from cxr_regions.label.clauses import REGION_BIT, SentenceReader, SentenceResult
from cxr_regions.label.labels import STATUS_EMPTY, STATUS_OK, Evidence, ReportLabels
from cxr_regions.label.language import normaliser_for, splitter_for
from cxr_regions.label.line_breaks import LineBreaks
from cxr_regions.label.vocabulary import Vocabulary, load_vocabulary
from cxr_regions.regions import ABNORMAL, NORMAL, REGION_KEYS, UNCERTAIN

__all__ = ["STATUS_EMPTY", "STATUS_OK", "Evidence", "Labeler", "ReportLabels", "label_text"]

_CACHE_LIMIT = 50_000  # sentences (about 50 MB); hospital reports repeat a few thousand
_LUNGS = REGION_BIT["lungs"]
_N = len(REGION_KEYS)
# every (mask at 1) | (mask at u) << 5 -> the values dict; 1 beats u beats 0
_VALUES = {
    a | u << _N: {
        k: ABNORMAL if a & bit else (UNCERTAIN if u & bit else NORMAL) for k, bit in REGION_BIT.items()
    }
    for a in range(1 << _N)
    for u in range(1 << _N)
}


class Labeler:
    """Label chest-film reports with the five regions, in the vocabulary's language (Chinese, English).

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
        vocabulary = self.vocabulary
        self.normalise = normaliser_for(vocabulary.language, vocabulary.rewrites, LineBreaks(vocabulary))
        self._sentences = splitter_for(self.vocabulary.language)
        self._sentence = SentenceReader(self.vocabulary).read
        self._cache: dict[str, SentenceResult] = {}
        self._cache_size = cache_size
        self._misses = 0
        self._lookups = 0

    # ----------------------------------------------------------------------------------------
    def label(self, text: str | None) -> ReportLabels:
        """Label one report (findings and impression may simply be joined)."""
        if not text or not isinstance(text, str) or text.isspace():
            return ReportLabels(values=dict.fromkeys(REGION_KEYS, NORMAL), status=STATUS_EMPTY)
        abnormal = uncertain = 0
        found: list[Evidence] = []
        markings: list[Evidence] = []
        unread: list[str] = []
        typos: list[tuple[str, str, str]] = []
        cache = self._cache
        parts = self._sentences(self.normalise(text))
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
            abnormal |= result.abnormal
            uncertain |= result.uncertain
            if result.evidence:
                found.extend(result.evidence)
            if result.markings:
                markings.extend(result.markings)
            if result.unread:
                unread.extend(result.unread)
            if result.typos:
                typos.extend(result.typos)
        markings_only = False
        if markings:
            if self.markings_abnormal:
                abnormal |= _LUNGS
                found.extend(markings)
            elif not (abnormal | uncertain) & _LUNGS:
                markings_only = True
        values = _VALUES[abnormal | uncertain << _N].copy()
        if uncertain or typos:  # a region shows only the evidence of its value (1 over u over 0)
            found = [e for e in found if e.value == values[e.region]]
        if len(parts) > 1 and len(found) > 1:
            found = list(dict.fromkeys(found))  # a sentence written twice
        if len(unread) > 1:
            unread = list(dict.fromkeys(unread))
        labels = ReportLabels(values=values, markings_only=markings_only, evidence=found, unread=unread)
        if typos:
            labels.typos = list(dict.fromkeys(typos))
        return labels

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


def label_text(text: str | None, markings_abnormal: bool = False) -> ReportLabels:
    """Label one report with the packaged vocabulary (convenience for scripts)."""
    return Labeler(markings_abnormal=markings_abnormal).label(text)
