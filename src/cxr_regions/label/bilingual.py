"""One labeler for a language, or one that reads each report in the language it is written in.

``label --language zh|en|auto``: ``auto`` looks at each report's script (Chinese characters or not,
:func:`cxr_regions.label.language.detect_language`) and hands it to the Chinese or the English
labeler; both use the same engine, each with its own vocabulary.
"""

from __future__ import annotations

from pathlib import Path

from cxr_regions.label.labeler import Labeler, ReportLabels
from cxr_regions.label.language import LANGUAGES, check_language, detect_language
from cxr_regions.label.vocabulary import load_vocabulary


class AutoLabeler:
    """Labels each report with the labeler of its detected language (same interface as Labeler)."""

    def __init__(self, labelers: dict[str, Labeler]) -> None:
        self.labelers = labelers
        self.counts = dict.fromkeys(labelers, 0)

    def labeler_for(self, text: str | None) -> Labeler:
        """The labeler of ``text``'s language (Chinese for a missing text)."""
        return self.labelers[detect_language(text) if isinstance(text, str) else "zh"]

    def label(self, text: str | None) -> ReportLabels:
        language = detect_language(text) if isinstance(text, str) else "zh"
        self.counts[language] += 1
        return self.labelers[language].label(text)

    def label_many(self, texts: list[str | None]) -> list[ReportLabels]:
        return [self.label(t) for t in texts]

    def cache_stats(self) -> dict[str, float]:
        stats = [labeler.cache_stats() for labeler in self.labelers.values()]
        lookups = sum(s["lookups"] for s in stats)
        misses = sum(s["misses"] for s in stats)
        rate = (lookups - misses) / lookups if lookups else 0.0
        return {"lookups": lookups, "misses": misses, "hit_rate": rate}


def make_labeler(
    language: str = "zh", vocabulary: str | Path | None = None, markings_abnormal: bool = False
) -> Labeler | AutoLabeler:
    """The labeler for ``language`` (``zh``, ``en`` or ``auto``).

    A ``vocabulary`` file says its own language (its ``language:`` key); with ``auto`` it replaces the
    packaged vocabulary of that language only.
    """
    language = check_language(language)
    own = load_vocabulary(vocabulary) if vocabulary is not None else None
    if language != "auto":
        if own is not None and own.language != language:
            from cxr_regions.errors import UserError

            raise UserError(
                f"{vocabulary}: the vocabulary is written for language {own.language!r}, "
                f"not {language!r}; set `language: {language}` in it or run with --language {own.language}"
            )
        return Labeler(own or load_vocabulary(language=language), markings_abnormal=markings_abnormal)
    labelers = {}
    for lang in LANGUAGES:
        vocab = own if own is not None and own.language == lang else load_vocabulary(language=lang)
        labelers[lang] = Labeler(vocab, markings_abnormal=markings_abnormal)
    return AutoLabeler(labelers)
