"""Stage 1, phantom: embedded demo data, synthetic chest films with ground truth, reports and DICOM files.

``sample_truth`` draws a film's five region values, ``render_film`` paints the film (and region
masks) in memory at any size, ``write_report`` writes its Chinese report, and ``make_phantom`` writes
a whole data set as a hospital PACS export would look. Everything it makes is called a phantom:
synthetic, never patient data.
"""

from cxr_regions.phantom.abnormalities import Finding, sample_findings
from cxr_regions.phantom.make import PhantomConfig, PhantomSummary, make_phantom
from cxr_regions.phantom.render import Film, render_film
from cxr_regions.phantom.report_writer import write_report
from cxr_regions.phantom.truth import Prevalence, sample_truth

__all__ = [
    "Film",
    "Finding",
    "PhantomConfig",
    "PhantomSummary",
    "Prevalence",
    "make_phantom",
    "render_film",
    "sample_findings",
    "sample_truth",
    "write_report",
]
