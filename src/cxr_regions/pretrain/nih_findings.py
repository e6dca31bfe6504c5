"""The 14 ChestX-ray14 findings: the one place their keys, NIH spellings and order are written.

A film's NIH ``Finding Labels`` cell is a ``|``-joined list of these NIH spellings, or
``No Finding`` (all fourteen zero).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """One finding: our label key (a column name), the NIH spelling, and a display name."""

    key: str
    nih: str
    name: str


FINDINGS: tuple[Finding, ...] = (
    Finding("atelectasis", "Atelectasis", "Atelectasis"),
    Finding("cardiomegaly", "Cardiomegaly", "Cardiomegaly"),
    Finding("effusion", "Effusion", "Effusion"),
    Finding("infiltration", "Infiltration", "Infiltration"),
    Finding("mass", "Mass", "Mass"),
    Finding("nodule", "Nodule", "Nodule"),
    Finding("pneumonia", "Pneumonia", "Pneumonia"),
    Finding("pneumothorax", "Pneumothorax", "Pneumothorax"),
    Finding("consolidation", "Consolidation", "Consolidation"),
    Finding("edema", "Edema", "Edema"),
    Finding("emphysema", "Emphysema", "Emphysema"),
    Finding("fibrosis", "Fibrosis", "Fibrosis"),
    Finding("pleural_thickening", "Pleural_Thickening", "Pleural Thickening"),
    Finding("hernia", "Hernia", "Hernia"),
)
FINDING_KEYS: tuple[str, ...] = tuple(f.key for f in FINDINGS)
NO_FINDING = "No Finding"
_BY_NIH = {f.nih.lower(): f for f in FINDINGS} | {f.name.lower(): f for f in FINDINGS}


def parse_finding_labels(cell: str) -> dict[str, int]:
    """One ``Finding Labels`` cell as 0/1 per finding key, in :data:`FINDING_KEYS` order.

    Raises ``ValueError`` naming the unknown label, or ``No Finding`` mixed with findings.
    """
    names = [part.strip() for part in str(cell).split("|") if part.strip()]
    if not names:
        raise ValueError("empty Finding Labels cell")
    values = dict.fromkeys(FINDING_KEYS, 0)
    if names == [NO_FINDING]:
        return values
    for name in names:
        if name == NO_FINDING:
            raise ValueError(f"{NO_FINDING!r} listed together with findings: {cell!r}")
        finding = _BY_NIH.get(name.lower())
        if finding is None:
            known = ", ".join(f.nih for f in FINDINGS)
            raise ValueError(f"unknown finding {name!r} (known: {known}, or {NO_FINDING!r})")
        values[finding.key] = 1
    return values
