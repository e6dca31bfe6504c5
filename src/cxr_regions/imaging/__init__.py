"""Stage 2, ingest: DICOM files -> de-identified PNGs and an image table.

Public API: :func:`load_film` (any DICOM/PNG/JPEG film as 2-D uint8, bone bright),
:func:`ingest` with :class:`IngestConfig` / :class:`IngestSummary` for a folder tree,
:func:`ingest_file` for one file through the same steps (returns its images.csv or errors.csv row), with the
salt from :func:`load_or_create_salt`, :func:`open_engine` (``ENGINES``: where per-film work runs, this
machine's processes or a Dask cluster), and :func:`fit_square` / :func:`fit_square_placed` (with
:class:`Placement`): the one way every stage fits a film into a square.
"""

from cxr_regions.imaging.convert import ingest_file
from cxr_regions.imaging.deid import load_or_create_salt
from cxr_regions.imaging.engine import ENGINES, open_engine
from cxr_regions.imaging.film import load_film
from cxr_regions.imaging.ingest import IngestConfig, IngestSummary, ingest
from cxr_regions.imaging.resize import RESIZE_MODES, Placement, fit_square, fit_square_placed

__all__ = [
    "ENGINES",
    "RESIZE_MODES",
    "IngestConfig",
    "IngestSummary",
    "Placement",
    "fit_square",
    "fit_square_placed",
    "ingest",
    "ingest_file",
    "load_film",
    "load_or_create_salt",
    "open_engine",
]
