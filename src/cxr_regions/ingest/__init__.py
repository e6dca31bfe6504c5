"""Stage 2, ingest: DICOM files -> de-identified PNGs and an image table.

Public API: :func:`load_film` (any DICOM/PNG/JPEG film as 2-D uint8, bone bright), :func:`read_film`
(the same as a :class:`Film`, with a picture's :class:`PictureCheck`), :func:`check_picture` (is a PNG/JPEG
plausibly a radiograph: ``ok``, ``reasons``, ``measures``; limits in :data:`PICTURE_LIMITS`),
:func:`ingest` with :class:`IngestConfig` / :class:`IngestSummary` for a folder tree,
:func:`ingest_file` for one file through the same steps (returns its images.csv row, an
:class:`~cxr_regions.contracts.ImageRow`, or its errors.csv row, an :class:`~cxr_regions.contracts.ErrorRow`),
with the salt from :func:`load_or_create_salt`, :func:`open_engine` (``ENGINES``: where per-film work
runs, this machine's processes or a Dask cluster), :func:`full_depth` (a film's values at their own bit
depth with its windows and spacing, :class:`FullDepth`; ``FULL_DEPTH_DIR``), :func:`shifted_study_day`
(study dates shifted per patient), and :func:`fit_square` / :func:`fit_square_placed` (with
:class:`Placement`): the one way every stage fits a film into a square.

The public names are imported on first use (PEP 562), so that ``cxr-regions --help`` reads the
settings without loading the decoders' and the tables' libraries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxr_regions.lazy import lazy_exports

_EXPORTS = {
    "ingest_file": "convert",
    "load_or_create_salt": "deid",
    "shifted_study_day": "deid",
    "FULL_DEPTH_DIR": "depth",
    "FullDepth": "depth",
    "full_depth": "depth",
    "ENGINES": "engine",
    "open_engine": "engine",
    "Film": "film",
    "load_film": "film",
    "read_film": "film",
    "PICTURE_LIMITS": "plausibility",
    "PictureCheck": "plausibility",
    "PictureLimits": "plausibility",
    "check_picture": "plausibility",
    "RESIZE_MODES": "resize",
    "Placement": "resize",
    "fit_square": "resize",
    "fit_square_placed": "resize",
    "IngestConfig": "settings",
    "IngestSummary": "tree",
    "ingest": "tree",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    # ruff: noqa: F401
    from cxr_regions.ingest.convert import ingest_file
    from cxr_regions.ingest.deid import load_or_create_salt, shifted_study_day
    from cxr_regions.ingest.depth import FULL_DEPTH_DIR, FullDepth, full_depth
    from cxr_regions.ingest.engine import ENGINES, open_engine
    from cxr_regions.ingest.film import Film, load_film, read_film
    from cxr_regions.ingest.plausibility import PICTURE_LIMITS, PictureCheck, PictureLimits, check_picture
    from cxr_regions.ingest.resize import RESIZE_MODES, Placement, fit_square, fit_square_placed
    from cxr_regions.ingest.settings import IngestConfig
    from cxr_regions.ingest.tree import IngestSummary, ingest
