"""``load_film``: any film a user hands us (DICOM, PNG, JPEG) as a 2-D uint8 image, bone bright."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from cxr_regions.errors import UserError
from cxr_regions.ingest.decode import FilmError, decode_display, quantise

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


def _read_picture(path: Path) -> np.ndarray:
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise UserError(f"cannot read image {path}: not a readable PNG/JPEG; check the file")
    if data.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if data.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        data = cv2.cvtColor(data, code)
    if data.dtype == np.uint16:
        return cv2.convertScaleAbs(data, alpha=1.0 / 257.0)
    if data.dtype != np.uint8:
        raise UserError(f"image {path} has pixel type {data.dtype}; expected 8- or 16-bit grayscale")
    return data


def load_film(path: str | os.PathLike[str]) -> np.ndarray:
    """A film as 2-D uint8, bone bright and air dark, at its full resolution.

    DICOM files (any name) are fully decoded: modality LUT, the file's VOI LUT or window (robust
    percentile window otherwise), MONOCHROME1 inverted. PNG/JPEG files are read as they are
    (colour converted to grey, 16-bit scaled to 8). Raises :class:`UserError` for a missing or
    unreadable file.
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
    return quantise(display.values, 8, display.invert)
