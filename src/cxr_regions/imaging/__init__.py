"""Stage 2, ingest: DICOM files -> de-identified PNGs and an image table.

Public API: :func:`load_film` (any DICOM/PNG/JPEG film as 2-D uint8, bone bright) and
:func:`ingest` with :class:`IngestConfig` / :class:`IngestSummary`.
"""

from cxr_regions.imaging.film import load_film
from cxr_regions.imaging.ingest import IngestConfig, IngestSummary, ingest
from cxr_regions.imaging.resize import fit_square

__all__ = ["IngestConfig", "IngestSummary", "fit_square", "ingest", "load_film"]
