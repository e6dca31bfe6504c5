"""Stage 1, phantom: embedded demo data, synthetic chest films with ground truth, reports and DICOM files.

``sample_truth`` draws a film's five region values, ``render_film`` paints the film (and region
masks) in memory at any size, ``write_report`` writes its Chinese report, and ``make_phantom`` writes
a whole data set as a hospital PACS export would look. Everything it makes is called a phantom:
synthetic, never patient data.

The public names are imported on first use (PEP 562), so that ``cxr-regions --help`` reads
:class:`PhantomConfig` without loading the renderer's, the DICOM writer's and the tables' libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "Finding": "abnormalities",
    "sample_findings": "abnormalities",
    "PhantomSummary": "make",
    "make_phantom": "make",
    "PhantomConfig": "phantom_config",
    "Film": "render",
    "render_film": "render",
    "write_report": "report_writer",
    "Prevalence": "truth",
    "sample_truth": "truth",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    # ruff: noqa: F401
    from cxr_regions.phantom.abnormalities import Finding, sample_findings
    from cxr_regions.phantom.make import PhantomSummary, make_phantom
    from cxr_regions.phantom.phantom_config import PhantomConfig
    from cxr_regions.phantom.render import Film, render_film
    from cxr_regions.phantom.report_writer import write_report
    from cxr_regions.phantom.truth import Prevalence, sample_truth
