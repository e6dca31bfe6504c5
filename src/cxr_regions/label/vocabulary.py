"""The labeler's vocabulary: a YAML file validated on load and compiled into one token matcher.

The packaged ``vocabulary.yaml`` holds every word of labeling-policy.md. A hospital adds its own
phrasing with a file that starts ``extends: default`` and lists only its additions. Errors name
the file, the entry and what is wrong. Every term becomes one alternative of a single regular
expression (literals as a trie, so one pass over a clause finds the longest term at each place).
The file's schema is :mod:`cxr_regions.label.vocabulary_schema`; this module compiles and loads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from cxr_regions.errors import UserError
from cxr_regions.label import spine
from cxr_regions.label.english import english_term, english_token_alternatives
from cxr_regions.label.normalise import literal_branches, strip_spaces
from cxr_regions.label.vocabulary_schema import (
    REGEX_PREFIX,
    SUBJECT_KEYS,
    FindingGroup,
    Ratio,
    VocabularyFile,
    format_validation,
    pattern_heads,
)
from cxr_regions.regions import REGION_KEYS

_BOUNDARIES = ",:()?"  # clause boundaries (a ? also hedges the clause it closes)
DEFAULT_PATH = "vocabulary.yaml"
DEFAULT_PATHS = {"zh": DEFAULT_PATH, "en": "vocabulary_en.yaml"}  # the packaged vocabulary per language


# ---------------------------------------------------------------------------------------------
# The compiled form


@dataclass(slots=True)
class Cue:
    """Everything one term means (a term may play several compatible roles)."""

    text: str
    subject: str | None = None
    part: str | None = None
    group: FindingGroup | None = None
    markings: bool = False
    device: bool = False
    neg_pre: bool = False
    neg_post: bool = False
    hedge_pre: bool = False
    hedge_post: bool = False
    rule_out: bool = False
    resolved: bool = False
    explained: bool = False
    advice: bool = False
    scope_break: bool = False
    ignore: bool = False
    appearance: bool = False  # how something looks (高密度, 管状): next to a device, the device's
    descriptor: bool = False
    normal: bool = False
    boundary: bool = False
    typo: bool = False  # read through a typo (typo_match.py): the word's roles, found misspelt
    device_like: bool = False  # a device, or a finding a device owns (钢丝): its look goes with it
    names: bool = False  # names a thing (subject, part, device, explanation, ignored word, non-lung finding)
    kind: int = 0  # how the labeler dispatches it: IGNORE, SUBJECT, FINDING, DEVICE or CUE
    reads: bool = False  # a clause holding it was read (one with none is reported as unread)

    def roles(self) -> set[str]:
        out = set()
        if self.subject:
            out.add(f"subject:{self.subject}")
        if self.part:
            out.add(f"part:{self.part}")
        if self.group is not None:
            out.add(f"finding:{self.group.name}")
        for name in (
            "markings",
            "device",
            "neg_pre",
            "neg_post",
            "hedge_pre",
            "hedge_post",
            "rule_out",
            "resolved",
            "explained",
            "advice",
            "scope_break",
            "ignore",
            "appearance",
            "descriptor",
            "normal",
        ):
            if getattr(self, name):
                out.add(name)
        return out


# Token kinds, in the order the labeler tests them.
IGNORE, SUBJECT, FINDING, DEVICE, CUE, EXPLAINED = range(6)


def _kind(cue: Cue) -> int:
    if cue.subject or cue.part:
        return SUBJECT
    if cue.group is not None or cue.markings:
        return FINDING
    if cue.device:
        return DEVICE
    if cue.ignore or cue.descriptor or cue.normal or cue.appearance or (cue.boundary and not cue.hedge_post):
        return IGNORE
    return CUE


# Roles that one term may combine; any other combination is a mistake in the file.
_COMPATIBLE = (
    {"neg_pre", "neg_post"},
    {"hedge_pre", "hedge_post", "rule_out"},
    {"markings", "finding"},
    {"appearance", "finding"},
)


def _compatible(roles: set[str]) -> bool:
    kinds = {r.split(":")[0] for r in roles}
    return len(roles) <= 1 or any(kinds <= combo for combo in _COMPATIBLE)


@dataclass
class Vocabulary:
    """A validated, compiled vocabulary. Build it with :func:`load_vocabulary`."""

    source: str
    cues: dict[str, Cue]
    patterns: dict[str, Cue | None]  # regex entries by group name (``spine``: see spine_cue)
    token_re: re.Pattern[str]
    rewrites: dict[str, str]
    ratio_threshold: float
    groups: list[FindingGroup] = field(default_factory=list)
    language: str = "zh"
    spine_cues: tuple[Cue, Cue] = (Cue("spine", subject="outside"), Cue("spine", subject="thorax"))
    _typo_matcher: Any = field(default=None, repr=False, compare=False)

    def cue_for(self, match: re.Match[str]) -> Cue:
        """The cue of a token found by ``token_re``."""
        group = match.lastgroup
        if group is None:
            return self.cues[match.group()]
        return self.patterns[group] or self.spine_cue(match.group())

    def typo_matcher(self) -> Any:
        """The typo-tolerant matcher of the vocabulary's Chinese words (typo_match.py), made once."""
        if self._typo_matcher is None:
            from cxr_regions.label.typo_match import TypoMatcher

            self._typo_matcher = TypoMatcher(self.cues)
        return self._typo_matcher

    def spine_cue(self, text: str) -> Cue:
        """The subject cue of a spine-level phrase (``T11-L2``): the thorax's where it names a
        thoracic vertebra, else outside the five regions (:mod:`cxr_regions.label.spine`)."""
        return self.spine_cues[spine.is_thoracic(text)]


def _error(source: str, where: str, what: str) -> UserError:
    return UserError(f"{source}: entry {where}: {what}. Fix the vocabulary file and run again.")


_ROLES = {
    "devices": "device",
    "negation": "neg_pre",
    "negation_after": "neg_post",
    "hedge": "hedge_pre",
    "hedge_after": "hedge_post",
    "rule_out": "rule_out",
    "resolved": "resolved",
    "explained": "explained",
    "advice": "advice",
    "scope_break": "scope_break",
    "markings": "markings",
    "ignore": "ignore",
    "appearance": "appearance",
    "descriptors": "descriptor",
    "normal": "normal",
}


def _compile(layers: list[tuple[VocabularyFile, str]]) -> Vocabulary:
    """Compile one vocabulary file, or the default and a file that extends it (in that order)."""
    cues: dict[str, Cue] = {}
    where: dict[str, str] = {}
    source = layers[-1][1]
    language = layers[0][0].language
    canonical = english_term if language == "en" else strip_spaces

    def add(term: str, source: str, loc: str, **role: Any) -> None:
        text = term[len(REGEX_PREFIX) :] if term.startswith(REGEX_PREFIX) else term
        cue = cues.setdefault(term, Cue(text=text))
        for key, value in role.items():
            current = getattr(cue, key)
            if key in ("subject", "part", "group") and current is not None and current != value:
                other = current.name if key == "group" else current
                new = value.name if key == "group" else value
                raise _error(
                    source, loc, f"{term!r} is already listed as {key} {other!r} ({where[term]}), not {new!r}"
                )
            setattr(cue, key, value)
        if not _compatible(cue.roles()):
            raise _error(
                source,
                loc,
                f"{term!r} is also listed at {where[term]}; roles {sorted(cue.roles())} cannot be combined",
            )
        where.setdefault(term, loc if source == layers[-1][1] else f"{loc} of {source}")

    rewrites: dict[str, str] = {}
    groups: list[FindingGroup] = []
    threshold = Ratio().threshold
    for spec, src in layers:
        rewrites.update(spec.rewrites)
        if "cardiothoracic_ratio" in spec.model_fields_set:
            threshold = spec.cardiothoracic_ratio.threshold
        for key in SUBJECT_KEYS:
            for i, term in enumerate(spec.subjects.get(key, ())):
                add(term, src, f"subjects.{key}[{i}]", subject=key)
        for region, terms in spec.parts.items():
            for i, term in enumerate(terms):
                add(term, src, f"parts.{region}[{i}]", part=region)
        for g, group in enumerate(spec.findings):
            if group.fixed and group.region:
                raise _error(src, f"findings[{g}] ({group.name})", "give `region` or `fixed`, not both")
            groups.append(group)
            for i, term in enumerate(group.terms):
                add(term, src, f"findings[{g}].terms[{i}]", group=group)
        for key, role in _ROLES.items():
            for i, term in enumerate(getattr(spec, key)):
                add(term, src, f"{key}[{i}]", **{role: True})

    for mark in _BOUNDARIES:  # English: not a comma in a list (english.py)
        cues.setdefault(mark, Cue(text=mark)).boundary = True
    spine_cues = (Cue("spine", subject="outside"), Cue("spine", subject="thorax"))
    for cue in (*cues.values(), *spine_cues):
        _finish(cue)

    literals = {canonical(t): c for t, c in cues.items() if not t.startswith(REGEX_PREFIX)}
    patterns: dict[str, Cue | None] = {"spine": None}  # a spine level: its cue depends on the levels
    alternatives = [f"(?P<spine>{spine.PATTERN})"]
    regex_terms = [(t, c) for t, c in cues.items() if t.startswith(REGEX_PREFIX)]
    for n, (term, cue) in enumerate(regex_terms):
        for j, (head, rest) in enumerate(pattern_heads(term[len(REGEX_PREFIX) :])):
            name = f"p{n}_{j}"
            patterns[name] = cue
            alternatives.append(f"{re.escape(head)}(?P<{name}>{rest})")
    if language == "en":
        alternatives = english_token_alternatives(sorted(literals), alternatives)
    else:
        alternatives.extend(literal_branches(sorted(literals)))
    try:
        token_re = re.compile("|".join(alternatives))
    except re.error as exc:  # a pattern that compiles alone but not with the others (named groups)
        raise _error(source, "a re: pattern", f"does not combine with the others: {exc}") from None
    return Vocabulary(
        source=source,
        cues=literals,
        patterns=patterns,
        token_re=token_re,
        rewrites=rewrites,
        ratio_threshold=threshold,
        groups=groups,
        language=language,
        spine_cues=spine_cues,
    )


def _finish(cue: Cue) -> None:
    """Set what the labeler derives from a cue's roles: whether it names a thing, its kind, and
    whether a clause holding it was read."""
    cue.names = bool(
        cue.subject
        or cue.part
        or cue.device
        or cue.explained
        or cue.ignore
        or (cue.group is not None and cue.group.is_thing)
    )
    cue.kind = _kind(cue)
    cue.device_like = cue.kind == DEVICE or (cue.group is not None and cue.group.device_owned)
    cue.reads = bool(  # a subject alone is not enough: "胸壁见窦道" says nothing the labeler knows
        cue.kind in (FINDING, DEVICE)
        or cue.subject == "neutral"
        or cue.neg_pre
        or cue.neg_post
        or cue.normal
        or cue.ignore
        or cue.advice
        or cue.explained
        or cue.resolved
    )


def _read_yaml(text: str, source: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{source}: the vocabulary file must be a YAML mapping (subjects, findings, ...)")
    return data


def _default_text(language: str = "zh") -> str:
    name = DEFAULT_PATHS[language]
    return resources.files("cxr_regions.label").joinpath(name).read_text(encoding="utf-8")


def _parse(data: dict, source: str) -> VocabularyFile:
    try:
        return VocabularyFile.model_validate(data)
    except ValidationError as exc:
        raise format_validation(source, data, exc) from None


def _default(language: str) -> tuple[VocabularyFile, str]:
    source = f"cxr_regions/label/{DEFAULT_PATHS[language]}"
    return _parse(_read_yaml(_default_text(language), source), source), source


@lru_cache(maxsize=8)
def _load_cached(path: str | None, language: str = "zh") -> Vocabulary:
    if path is None:
        return _compile([_default(language)])
    file = Path(path)
    if not file.is_file():
        raise UserError(f"vocabulary file not found: {file}")
    data = _read_yaml(file.read_text(encoding="utf-8-sig"), str(file))
    spec = _parse(data, str(file))
    layers = [_default(spec.language)] if spec.extends == "default" else []
    hedges = {t for s, _ in [*layers, (spec, "")] for t in (*s.hedge, *s.hedge_after)}
    missing = [t for t in spec.rule_out if t not in hedges]
    if missing:
        raise _error(str(file), "rule_out", f"{missing} must also be listed under hedge or hedge_after")
    return _compile([*layers, (spec, str(file))])


def load_vocabulary(path: str | Path | None = None, language: str = "zh") -> Vocabulary:
    """Load and validate a vocabulary file (default: the packaged one of ``language``); cached per path.

    A file's own ``language:`` key (default ``zh``) says which language it is written for, and an
    ``extends: default`` file extends the packaged vocabulary of that language.
    """
    if path is None:
        return _load_cached(None, language)
    return _load_cached(str(Path(path).resolve()))


__all__ = [
    "REGION_KEYS",
    "SUBJECT_KEYS",
    "Cue",
    "FindingGroup",
    "Vocabulary",
    "VocabularyFile",
    "load_vocabulary",
    "pattern_heads",
]
