"""Stage 8, report: one self-contained HTML file with the data, the scores and a gallery of explained films.

The public names are imported on first use (PEP 562), so that ``cxr-regions --help`` does not load
pandas and Jinja2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "ReportInputs": "page",
    "render": "page",
    "write_html_report": "page",
    "region_css": "page",
    "region_colours": "page",
    "Evidence": "evidence",
    "highlight": "evidence",
    "parse_evidence": "evidence",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover
    # ruff: noqa: F401
    from cxr_regions.report.evidence import Evidence, highlight, parse_evidence
    from cxr_regions.report.page import ReportInputs, region_colours, region_css, render, write_html_report
