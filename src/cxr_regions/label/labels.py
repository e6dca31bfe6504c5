"""What the labeler returns: one report's five region values, each with the evidence that set it
(:class:`Evidence` is labels.csv's record, :mod:`cxr_regions.contracts.label_rows`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from cxr_regions.contracts.label_rows import DEFAULT, EXACT, HEDGE, STATUS_EMPTY, STATUS_OK, TYPO, Evidence
from cxr_regions.regions import ABNORMAL, NORMAL, REGION_KEYS, UNCERTAIN, label_string, to_binary

__all__ = ["STATUS_EMPTY", "STATUS_OK", "Evidence", "ReportLabels"]
_AS_BIT = {ABNORMAL: "1", UNCERTAIN: "1", NORMAL: "0"}


@dataclass(slots=True)
class ReportLabels:
    """The labels of one report."""

    values: dict[str, str]
    markings_only: bool = False
    status: str = STATUS_OK
    evidence: list[Evidence] = field(default_factory=list)
    unread: list[str] = field(default_factory=list)  # clauses no vocabulary word read (see clauses.py)
    typos: list[tuple[str, str, str]] = field(default_factory=list)  # (clause, written, read as)

    def basis(self, region: str) -> str:
        """How ``region``'s value was reached (contracts.label_rows.BASES): the basis of its evidence
        (``typo`` before ``hedge`` before ``exact``), ``default`` where nothing abnormal was read."""
        found = {e.basis for e in self.evidence if e.region == region and e.value == self.values[region]}
        return next((b for b in (TYPO, HEDGE, EXACT) if b in found), DEFAULT)

    @property
    def label_string(self) -> str:
        """Five characters in region order, ``u`` counted as ``1`` (e.g. ``01101``)."""
        try:  # the same as regions.label_string, without a Python-level loop (it runs per report)
            return "".join(map(_AS_BIT.__getitem__, map(self.values.__getitem__, REGION_KEYS)))
        except KeyError:
            return label_string(self.values)

    def binary(self) -> dict[str, int]:
        """The method's binary labels (``u`` -> 1)."""
        return {k: to_binary(v) for k, v in self.values.items()}
