"""The vocabulary file's schema: what a YAML vocabulary may hold, validated entry by entry with pydantic.

A ``re:`` entry must start with a literal character or a simple class (:func:`pattern_heads`), so that
the compiled matcher in :mod:`cxr_regions.label.vocabulary` stays a single fast alternation.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from cxr_regions.errors import UserError
from cxr_regions.regions import REGION_KEYS

RegionKey = Literal[REGION_KEYS]  # type: ignore[valid-type]
# What a clause can speak of: a region, or one of the policy's pseudo-subjects.
_SUBJECTS = (*REGION_KEYS, "markings", "pleura", "subphrenic", "outside", "neutral")
SubjectKey = Literal[_SUBJECTS]  # type: ignore[valid-type]
SUBJECT_KEYS: tuple[str, ...] = SubjectKey.__args__
REGEX_PREFIX = "re:"


_SPECIAL = set(".^$*+?{}[]\\|()")
_QUANTIFIER = re.compile(r"[*+?{]")
_SIMPLE_CLASS = re.compile(r"\[([^\]\\^\-\[]+)\](.*)", re.S)


def _top_level_bar(pattern: str) -> bool:
    """Whether ``pattern`` has an alternation ``|`` outside every group and class."""
    depth, in_class, escaped = 0, False, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
    return False


def pattern_heads(pattern: str) -> list[tuple[str, str]]:
    """Split a ``re:`` entry into (first character, rest) forms, so that one pass can find it.

    The matcher is one alternation whose every branch starts with a literal character (that lets
    the regex engine skip ahead fast); an entry must therefore start with a character or a simple
    class such as ``[胸T]``, not repeated, and hold no top-level ``|``.
    """
    if _top_level_bar(pattern):
        raise ValueError("write each alternative of a regular expression as its own entry")
    m = _SIMPLE_CLASS.fullmatch(pattern)
    if m is not None:
        heads, rest = list(dict.fromkeys(m.group(1))), m.group(2)
    elif pattern and pattern[0] not in _SPECIAL:
        heads, rest = [pattern[0]], pattern[1:]
    else:
        raise ValueError("a regular expression entry must start with a character or a [class] of characters")
    if _QUANTIFIER.match(rest):
        raise ValueError("the first character of a regular expression entry must not be repeated or optional")
    return [(head, rest) for head in heads]


def _check_term(term: str) -> str:
    if not isinstance(term, str) or not term.strip():
        raise ValueError("an entry must be a non-empty phrase")
    if term.startswith(REGEX_PREFIX):
        pattern = term[len(REGEX_PREFIX) :]
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{term!r} is not a valid regular expression: {exc}") from None
        try:
            pattern_heads(pattern)
        except ValueError as exc:
            raise ValueError(f"{term!r}: {exc}") from None
    return term


Term = Annotated[str, AfterValidator(_check_term)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FindingGroup(_Strict):
    """Words that state an abnormality, and where that abnormality goes."""

    name: str
    region: RegionKey | None = None
    fixed: list[RegionKey] = Field(default_factory=list)
    redirect: dict[SubjectKey, RegionKey] = Field(default_factory=dict)
    not_for: list[SubjectKey] = Field(default_factory=list)
    device_owned: bool = False
    carry: bool = True
    terms: list[Term] = Field(min_length=1)

    @property
    def is_thing(self) -> bool:
        """Whether its words name a thing of a region other than the lungs (人工瓣环, 钢丝, 骨折),
        so that a bare 影 right after one is that thing's shadow, not a lung opacity."""
        if self.device_owned:
            return True
        if self.fixed:
            return "lungs" not in self.fixed
        return self.region is not None and self.region != "lungs"


class Ratio(_Strict):
    """Cardiothoracic ratio: heart 1 above ``threshold`` (the policy's 0.50)."""

    threshold: float = Field(0.5, gt=0.0, lt=1.0)


class VocabularyFile(_Strict):
    """The YAML file as written (see the packaged vocabulary.yaml for what each key means)."""

    version: Literal[1] = 1
    language: Literal["zh", "en"] = "zh"
    extends: Literal["default"] | None = None
    rewrites: dict[str, str] = Field(default_factory=dict)
    subjects: dict[SubjectKey, list[Term]] = Field(default_factory=dict)
    parts: dict[RegionKey, list[Term]] = Field(default_factory=dict)
    findings: list[FindingGroup] = Field(default_factory=list)
    devices: list[Term] = Field(default_factory=list)
    negation: list[Term] = Field(default_factory=list)
    negation_after: list[Term] = Field(default_factory=list)
    hedge: list[Term] = Field(default_factory=list)
    hedge_after: list[Term] = Field(default_factory=list)
    rule_out: list[Term] = Field(default_factory=list)
    resolved: list[Term] = Field(default_factory=list)
    explained: list[Term] = Field(default_factory=list)
    advice: list[Term] = Field(default_factory=list)
    scope_break: list[Term] = Field(default_factory=list)
    markings: list[Term] = Field(default_factory=list)
    ignore: list[Term] = Field(default_factory=list)
    appearance: list[Term] = Field(default_factory=list)
    descriptors: list[Term] = Field(default_factory=list)
    normal: list[Term] = Field(default_factory=list)
    cardiothoracic_ratio: Ratio = Field(default_factory=Ratio)

    @field_validator("rewrites")
    @classmethod
    def _rewrites(cls, v: dict[str, str]) -> dict[str, str]:
        for src, dst in v.items():
            if not str(src) or dst is None:
                raise ValueError(f"rewrite {src!r} -> {dst!r}: both sides must be phrases")
        return {str(k): str(val) for k, val in v.items()}


def format_validation(source: str, data: dict, exc: ValidationError) -> UserError:
    """The first pydantic errors of a vocabulary file as one message naming each entry."""
    lines = []
    for err in exc.errors()[:10]:
        loc = ""
        node: object = data
        for part in err["loc"]:
            if part == "[key]":
                loc += " (the key)"
                continue
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
            if isinstance(node, dict):
                node = node.get(part)
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                node = None
        shown = f" ({node!r})" if isinstance(node, (str, int, float)) else ""
        lines.append(f"  entry {loc or '(top level)'}{shown}: {err['msg']}")
    more = f"\n  ... and {len(exc.errors()) - 10} more" if len(exc.errors()) > 10 else ""
    return UserError(f"{source}: the vocabulary file is not valid:\n" + "\n".join(lines) + more)
