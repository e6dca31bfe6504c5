"""A generated behavioural suite for the Chinese labeler (CheckList: Ribeiro et al., ACL 2020).

Cases are made at run time, seeded, from the templates in ``behaviour.yaml`` (sentences written from
the labeling policy, each with its expected values): the template sentence, filled in, inside a short
report of normal statements about the other regions, then changed by one family:

- ``inv.*`` (invariance: the label must not change): numbering styles, full- and half-width
  punctuation and digits, sentence order, location words, degree words, rib and spine levels written
  with letters, Arabic or Chinese numerals, traditional characters, line and HTML breaks, advice
  appended, a comparison with a prior film inserted;
- ``typo.*`` (the label must not change; the labeler may at least flag the clause unread): a character
  of a finding, negation or device word replaced by a homophone or by one whose pinyin is a key off,
  two characters swapped, one dropped;
- ``dir.*`` (directional: the label flips as the policy says): a negation added or removed, a hedge
  added (``u``), the finding said to be gone (``0``), a structure said to be after surgery (``1``);
- ``mft.*`` (minimum functionality): the policy's harder wordings, each sentence with its values.

20% of the templates are held out (chosen by a hash of their text, the same every run) and reported
apart, so the table shows how the labeler does on sentences it was not tuned on. Scoring
(:mod:`cxr_regions.label.behaviour_score`): a wrong label fails a case; an unread clause fails an
invariance or directional case and counts half in a typo case.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from cxr_regions.label import pinyin
from cxr_regions.regions import REGION_KEYS

TEMPLATES = "behaviour.yaml"
KINDS = ("invariance", "typo", "directional", "functionality")
HELD_OUT_SHARE = 0.2
MEANING = frozenset("不未无非欠没否")  # a negation character dropped or moved turns the statement round
BAR = "|"
SLOT = re.compile(r"\{(\w+)\}")
LOCATION_SLOTS = ("side", "lung", "zone", "loc")
NUMERAL_SLOTS = ("rib", "tlevel", "llevel", "ratio")


@dataclass(frozen=True)
class Case:
    """One generated report and the five values the policy gives it."""

    family: str  # e.g. "inv.width"
    template: str  # the template sentence it was made from (its id)
    held_out: bool
    region: str  # the template's region ("" for a functionality sentence)
    text: str
    expected: str  # five values in region order, e.g. "0u000"

    @property
    def kind(self) -> str:
        return {"inv": "invariance", "typo": "typo", "dir": "directional", "mft": "functionality"}[
            self.family.split(".")[0]
        ]


@dataclass(frozen=True)
class Template:
    """A template sentence: its text (with slots and maybe a ``|``), region and expected values."""

    text: str
    region: str
    labels: str
    resolvable: bool = False
    family: str = ""  # a functionality family; "" for a base sentence
    held_out: bool = False

    @property
    def directional(self) -> bool:
        return BAR in self.text


@lru_cache(maxsize=2)
def load_templates(text: str | None = None) -> dict[str, Any]:
    """The template file (the packaged one unless ``text`` is given) as parsed YAML."""
    if text is None:
        text = resources.files("cxr_regions.label").joinpath(TEMPLATES).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def templates(spec: dict[str, Any] | None = None) -> list[Template]:
    """Every template, the held-out 20% marked (per region and per functionality family)."""
    spec = spec or load_templates()
    groups: dict[str, list[Template]] = {}
    for region, parts in spec["bases"].items():
        value = "".join("1" if k == region else "0" for k in REGION_KEYS)
        for item in parts.get("abnormal", []):
            item = item if isinstance(item, dict) else {"text": item}
            labels = item.get("labels", value)
            groups.setdefault(region, []).append(
                Template(item["text"], region, labels, bool(item.get("resolvable", False)))
            )
        for text in parts.get("normal", []):
            groups.setdefault(region, []).append(Template(text, region, "00000"))
    for family, items in spec["functionality"].items():
        for text, labels in items:
            groups.setdefault(family, []).append(Template(text, "", labels, family=family))
    out = []
    for members in groups.values():
        ranked = sorted(members, key=lambda t: zlib.crc32(t.text.encode("utf-8")))
        held = {t.text for t in ranked[: round(len(ranked) * HELD_OUT_SHARE)]}
        out += [Template(**{**t.__dict__, "held_out": t.text in held}) for t in members]
    return out


# -- filling and composing -------------------------------------------------------------------------


def fill(
    text: str, slots: dict[str, list[str]], rng: random.Random, fixed: dict[str, str] | None = None
) -> str:
    """``text`` with every ``{slot}`` filled: from ``fixed``, else a random value of the slot."""
    fixed = fixed or {}
    return SLOT.sub(lambda m: fixed.get(m.group(1), rng.choice(slots[m.group(1)])), text)


def _values(labels: str, mapping: dict[str, str]) -> str:
    return "".join(mapping.get(v, v) for v in labels)


class Generator:
    """Makes the cases of every family from the templates (one seeded random stream per template)."""

    def __init__(self, seed: int = 0, spec: dict[str, Any] | None = None, variants: int = 5) -> None:
        self.spec = spec or load_templates()
        self.slots: dict[str, list[str]] = {k: [str(v) for v in vs] for k, vs in self.spec["slots"].items()}
        self.seed = seed
        self.variants = variants
        self.templates = templates(self.spec)
        self.normals = {
            region: [t.text for t in self.templates if t.region == region and t.labels == "00000"]
            for region in REGION_KEYS
        }
        from cxr_regions.label.vocabulary import load_vocabulary

        self._words = load_vocabulary().token_re

    def rng(self, *key: object) -> random.Random:
        return random.Random(zlib.crc32(repr((self.seed, *key)).encode("utf-8")))

    def report(self, sentence: str, region: str, rng: random.Random, others: int | None = None) -> list[str]:
        """The sentence among 0-3 normal statements of the other regions (their order random)."""
        regions = [k for k in REGION_KEYS if k != region]
        chosen = rng.sample(regions, rng.randint(0, 3) if others is None else others)
        parts = [rng.choice(self.normals[k]) for k in chosen] + [sentence]
        rng.shuffle(parts)
        return parts

    def cases(self) -> Iterator[Case]:
        """Every case of every family, template by template."""
        from cxr_regions.label import behaviour_families as families

        for template in self.templates:
            yield from families.cases_for(self, template)
        yield from families.surgery_cases(self)


def generate(seed: int = 0, variants: int = 5) -> list[Case]:
    """The whole suite (the same cases for the same seed and templates)."""
    return list(Generator(seed, variants=variants).cases())


def join(parts: list[str], end: str = "。") -> str:
    """Sentences joined into a report, each closed by ``end``."""
    return "".join(p + end for p in parts)


def words(generator: Generator, sentence: str) -> list[tuple[int, int]]:
    """Spans of the finding, negation and device words of ``sentence`` that typos may hit: literal
    vocabulary words of two or more Chinese characters."""
    from cxr_regions.label.vocabulary import load_vocabulary

    vocabulary = load_vocabulary()
    out = []
    for m in generator._words.finditer(sentence):
        text = m.group()
        if len(text) < 2 or m.lastgroup is not None or not all("\u4e00" <= c <= "\u9fff" for c in text):
            continue
        cue = vocabulary.cues.get(text)
        if cue is not None and (cue.group is not None or cue.device or cue.neg_pre or cue.neg_post):
            out.append((m.start(), m.end()))
    return out


def typo(kind: str, word: str, rng: random.Random) -> str | None:
    """``word`` with one typing error of ``kind`` (homophone, slip, swap, drop), or None if it has none."""
    positions = [i for i in range(len(word)) if word[i] not in MEANING]  # a lost 不 is no typo
    if kind == "swap":
        pairs = [i for i in positions if i + 1 < len(word) and i + 1 in positions and word[i] != word[i + 1]]
        if not pairs:
            return None
        i = rng.choice(pairs)
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        kept = [i for i in positions if i > 0]  # the first character stays: the word is still recognisable
        if len(word) < 3 or not kept:
            return None
        i = rng.choice(kept)
        return word[:i] + word[i + 1 :]
    said = pinyin.word_readings(word)
    rng.shuffle(positions)
    for i in positions:
        found = pinyin.homophones if kind == "homophone" else pinyin.slipped
        choices = found(said[i], word[i]) if said[i] else ()
        if choices:
            return word[:i] + rng.choice(choices) + word[i + 1 :]
    return None


__all__ = ["KINDS", "Case", "Generator", "Template", "generate", "load_templates", "templates"]
