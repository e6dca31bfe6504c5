"""What to ask the PACS for: ``--query`` text -> QIDO-RS search filters, and the instances it names.

A query is ``KEY=VALUE`` terms (DICOM keywords) separated by ``&`` or spaces; a value with ``\\``
lists alternatives (``Modality=CR\\DX``), asked as one search each, since PACSs differ in whether they
match lists. The default asks for radiographs (CR and DX); laterals the PACS reports by their
ViewPosition are left out before anything is retrieved, and ingest's own selection (chest, frontal)
judges the rest.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date

from cxr_regions.errors import UserError

DEFAULT_QUERY = "Modality=CR\\DX"
LATERAL_VIEWS = frozenset({"LL", "RL", "LLD", "RLD", "LAT", "LATERAL"})


@dataclass(frozen=True)
class InstanceRef:
    """One instance in the PACS: its study, series and SOP Instance UIDs (and view, if the PACS said)."""

    study: str
    series: str
    sop: str
    view: str = ""

    @property
    def lateral(self) -> bool:
        return self.view.strip().upper() in LATERAL_VIEWS

    @classmethod
    def from_json(cls, item: dict) -> InstanceRef:
        """From one QIDO-RS result (DICOM JSON)."""

        def value(tag: str) -> str:
            found = item.get(tag, {}).get("Value") or [""]
            return str(found[0])

        return cls(value("0020000D"), value("0020000E"), value("00080018"), value("00185101"))


def parse_query(text: str | None, since: date | None = None) -> list[dict[str, str]]:
    """The QIDO-RS search filters of ``text`` (one dict per combination of alternatives).

    ``since`` adds ``StudyDate=YYYYMMDD-`` (studies from that day on). A ``UserError`` names a term that
    is not ``KEY=VALUE`` with a DICOM keyword.
    """
    # here: --help imports this module (serve's settings check --query with it); pydicom loads on use
    from pydicom.datadict import tag_for_keyword

    terms: dict[str, list[str]] = {}
    for term in re.split(r"[&\s]+", (text if text is not None else DEFAULT_QUERY).strip()):
        if not term:
            continue
        key, sep, value = term.partition("=")
        if not sep or not key or not value:
            raise UserError(f"--query term {term!r} is not KEY=VALUE (e.g. {DEFAULT_QUERY!r})")
        if tag_for_keyword(key) is None:
            raise UserError(
                f"--query term {term!r}: {key!r} is not a DICOM keyword (e.g. Modality, StudyDate)"
            )
        terms[key] = [v for v in value.split("\\") if v]
    if since is not None:
        terms["StudyDate"] = [f"{since:%Y%m%d}-"]
    keys = list(terms)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*(terms[k] for k in keys))]
