"""Stage 2, ingest: DICOM files -> de-identified PNGs and an image table.

Public API: :func:`load_film` (any DICOM/PNG/JPEG film as 2-D uint8, bone bright), :func:`read_film`
(the same as a :class:`Film`, with a picture's :class:`PictureCheck`), :func:`check_picture` (is a PNG/JPEG
plausibly a radiograph: ``ok``, ``reasons``, ``measures``; limits in :data:`PICTURE_LIMITS`),
:func:`ingest` with :class:`IngestConfig` / :class:`IngestSummary` for a folder tree,
:func:`ingest_file` for one file through the same steps (returns its images.csv or errors.csv row), with the
salt from :func:`load_or_create_salt`, :func:`open_engine` (``ENGINES``: where per-film work runs, this
machine's processes or a Dask cluster), and :func:`fit_square` / :func:`fit_square_placed` (with
:class:`Placement`): the one way every stage fits a film into a square.
"""

from cxr_regions.ingest.convert import ingest_file
from cxr_regions.ingest.deid import load_or_create_salt
from cxr_regions.ingest.engine import ENGINES, open_engine
from cxr_regions.ingest.film import Film, load_film, read_film
from cxr_regions.ingest.plausibility import PICTURE_LIMITS, PictureCheck, PictureLimits, check_picture
from cxr_regions.ingest.resize import RESIZE_MODES, Placement, fit_square, fit_square_placed
from cxr_regions.ingest.tree import IngestConfig, IngestSummary, ingest

__all__ = [
    "ENGINES",
    "PICTURE_LIMITS",
    "RESIZE_MODES",
    "Film",
    "IngestConfig",
    "IngestSummary",
    "PictureCheck",
    "PictureLimits",
    "Placement",
    "check_picture",
    "fit_square",
    "fit_square_placed",
    "ingest",
    "ingest_file",
    "load_film",
    "load_or_create_salt",
    "open_engine",
    "read_film",
]
