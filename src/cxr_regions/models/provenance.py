"""Where a model's starting weights came from: a fact saved in ``model.json`` and the model card.

:class:`Provenance` records the library that published the weights, their name, the file read and its
SHA-256, the licence and the intended use as published, and whether the publisher restricts them to
research. A model trained from research-only weights stays research-only, also after a
``chestx14:`` hop, and ``serve`` says so on every film page.

Third-party weights are read from their own caches (torch hub, torchxrayvision, Hugging Face) or
from ``--weights``; files that need converting (torchxrayvision's pickles) are converted once into
this package's own cache, :func:`cache_dir`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_ENV = "CXR_REGIONS_CACHE"

RESEARCH_ONLY_LICENCES = frozenset(
    {"msrla", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0"}
)
"""Licences (Hugging Face / SPDX spelling, lower case) that allow research or non-commercial use only."""

_RESEARCH_ONLY_TEXT = re.compile(
    r"research (?:purposes |use )?only|for research purposes only|not (?:meant|intended) (?:to be used )?"
    r"for clinical|not for (?:medical|clinical) use",
    re.IGNORECASE,
)


def cache_dir() -> Path:
    """This package's cache folder: ``$CXR_REGIONS_CACHE``, else ``$XDG_CACHE_HOME/cxr-regions``,
    else ``~/.cache/cxr-regions``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "cxr-regions"


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def research_only_text(text: str) -> str | None:
    """The sentence of a published model card that restricts the weights to research, if any."""
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        if _RESEARCH_ONLY_TEXT.search(sentence):
            return " ".join(sentence.split()).strip("*_ ")
    return None


@dataclass(frozen=True)
class Provenance:
    """Where a model's starting weights came from (``model.json``'s ``provenance``).

    ``library``: who published them (torchvision, timm, torchxrayvision, transformers, cxr-regions);
    ``weights``: their published name (weight enum, model tag, repository); ``file`` / ``sha256``: the
    file read; ``converted_file`` / ``converted_sha256``: the safetensors file made from it where it
    had to be converted; ``licence`` and ``intended_use`` as published (``None``: not stated);
    ``research_only``: the publisher restricts them to research (no clinical use); ``based_on``: the
    provenance of the weights a ``chestx14:`` checkpoint itself started from.
    """

    library: str
    weights: str
    library_version: str | None = None
    file: str | None = None
    sha256: str | None = None
    converted_file: str | None = None
    converted_sha256: str | None = None
    url: str | None = None
    licence: str | None = None
    intended_use: str | None = None
    research_only: bool = False
    based_on: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Provenance:
        """From ``model.json``; a run written before provenance was recorded reads as unknown."""
        if not data:
            return cls(library="unknown", weights="not recorded")
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def summary(self) -> str:
        """One line for pages and cards: library, weights, licence, and the research-only note."""
        parts = [
            f"{self.weights} ({self.library}{' ' + self.library_version if self.library_version else ''})"
        ]
        if self.sha256:
            parts.append(f"SHA-256 {self.sha256[:12]}…")
        parts.append(f"licence: {self.licence or 'not stated'}")
        if self.research_only:
            parts.append("RESEARCH USE ONLY as published")
        return "; ".join(parts)


def inherits(provenance: Provenance, parent: dict[str, Any] | None) -> Provenance:
    """``provenance`` of a checkpoint-based start, carrying over the checkpoint's own provenance:
    weights that started from research-only weights stay research-only."""
    if not parent:
        return provenance
    before = Provenance.from_dict(parent)
    return dataclasses.replace(
        provenance,
        based_on=parent,
        research_only=provenance.research_only or before.research_only,
        intended_use=provenance.intended_use or before.intended_use,
    )
