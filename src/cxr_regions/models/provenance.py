"""Where a model's starting weights came from: a fact saved in ``model.json`` and the model card.

:class:`Provenance` (the ``model.json`` contract's record, :mod:`cxr_regions.contracts.run_folder`)
records the library that published the weights, their name, the file read and its
SHA-256, the licence and the intended use as published, and whether the publisher restricts them to
research. A model trained from research-only weights stays research-only, also after a
``chestx14:`` hop, and ``serve`` says so on every film page.

Third-party weights are read from their own caches (torch hub, torchxrayvision, Hugging Face) or
from ``--weights``; files that need converting (torchxrayvision's pickles) are converted once into
this package's own cache, :func:`cache_dir`.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from cxr_regions.contracts.run_folder import Provenance

__all__ = [
    "CACHE_ENV",
    "RESEARCH_ONLY_LICENCES",
    "Provenance",
    "cache_dir",
    "inherits",
    "research_only_text",
    "sha256_file",
]

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


def inherits(provenance: Provenance, parent: Provenance | None) -> Provenance:
    """``provenance`` of a checkpoint-based start, carrying over the checkpoint's own provenance:
    weights that started from research-only weights stay research-only."""
    if parent is None:
        return provenance
    return provenance.model_copy(
        update={
            "based_on": parent,
            "research_only": provenance.research_only or parent.research_only,
            "intended_use": provenance.intended_use or parent.intended_use,
        }
    )
