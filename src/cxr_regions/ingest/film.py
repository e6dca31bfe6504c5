"""``load_film``: any film a user hands us (DICOM, PNG, JPEG) as a 2-D uint8 image, bone bright.

:func:`read_film` gives the same image with, for a picture, its :class:`PictureCheck` (a DICOM film is
selected by its header instead); :func:`load_film` logs a warning for a picture that is not clearly a
radiograph, so that no caller takes one silently.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cxr_regions.errors import UserError
from cxr_regions.ingest.decode import FilmError, decode_display, quantise
from cxr_regions.ingest.plausibility import PictureCheck, check_picture, grey_8bit, read_picture
from cxr_regions.redaction import short_hash

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Film:
    """A film as :func:`load_film` gives it, and for a picture (PNG/JPEG…) the plausibility check of
    its pixels; ``check`` is None for a DICOM film."""

    image: np.ndarray
    check: PictureCheck | None


def _read_picture(path: Path) -> Film:
    try:
        data = read_picture(path)
        return Film(grey_8bit(data), check_picture(data))
    except ValueError as exc:
        raise UserError(f"cannot read image {path}: {exc}; expected an 8- or 16-bit PNG/JPEG") from None


def read_film(path: str | os.PathLike[str]) -> Film:
    """A film as 2-D uint8, bone bright and air dark, at its full resolution, with a picture's check.

    DICOM files (any name) are fully decoded: modality LUT, the file's VOI LUT or window (robust
    percentile window otherwise), MONOCHROME1 inverted. PNG/JPEG files are read as they are
    (colour converted to grey, 16-bit scaled to 8) and checked (:func:`check_picture`): what to do
    with one that is not clearly a radiograph is the caller's decision. Raises :class:`UserError` for
    a missing or unreadable file.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"film {path} not found")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return _read_picture(path)
    try:
        display, _ = decode_display(path)
    except FilmError as exc:
        if exc.status == "not_dicom" and cv2.haveImageReader(str(path)):
            return _read_picture(path)
        if exc.status == "not_dicom":
            raise UserError(f"film {path} is neither DICOM nor a PNG/JPEG image") from None
        raise UserError(f"cannot read DICOM film {path}: {exc.message}") from None
    return Film(quantise(display.values, 8, display.invert), None)


def load_film(path: str | os.PathLike[str]) -> np.ndarray:
    """The image of :func:`read_film`; a picture that is not clearly a radiograph is logged (under a
    short hash of its name) with the reasons, and returned."""
    film = read_film(path)
    if film.check is not None and not film.check.ok:
        log.warning(
            "picture %s is not clearly a radiograph (%s); its results may mean nothing",
            short_hash(Path(path).name),
            "; ".join(film.check.reasons),
        )
    return film.image
