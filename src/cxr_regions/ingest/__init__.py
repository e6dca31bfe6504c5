"""Stage 2, ingest: DICOM files -> de-identified PNGs and an image table.

Public API: :func:`load_film` (any DICOM/PNG/JPEG film as 2-D uint8, bone bright),
:func:`ingest` with :class:`IngestConfig` / :class:`IngestSummary` for a folder tree,
:func:`ingest_file` for one file through the same steps (returns its images.csv or errors.csv row), with the
salt from :func:`load_or_create_salt`, :func:`open_engine` (``ENGINES``: where per-film work runs, this
machine's processes or a Dask cluster), :func:`full_depth` (a film's values at their own bit depth with
its windows and spacing, :class:`FullDepth`; ``FULL_DEPTH_DIR``), :func:`shifted_study_day` (study
dates shifted per patient), and :func:`fit_square` / :func:`fit_square_placed` (with
:class:`Placement`): the one way every stage fits a film into a square.
"""

from cxr_regions.ingest.convert import ingest_file
from cxr_regions.ingest.deid import load_or_create_salt, shifted_study_day
from cxr_regions.ingest.depth import FULL_DEPTH_DIR, FullDepth, full_depth
from cxr_regions.ingest.engine import ENGINES, open_engine
from cxr_regions.ingest.film import load_film
from cxr_regions.ingest.resize import RESIZE_MODES, Placement, fit_square, fit_square_placed
from cxr_regions.ingest.tree import IngestConfig, IngestSummary, ingest

__all__ = [
    "ENGINES",
    "FULL_DEPTH_DIR",
    "RESIZE_MODES",
    "FullDepth",
    "IngestConfig",
    "IngestSummary",
    "Placement",
    "fit_square",
    "fit_square_placed",
    "full_depth",
    "ingest",
    "ingest_file",
    "load_film",
    "load_or_create_salt",
    "open_engine",
    "shifted_study_day",
]
