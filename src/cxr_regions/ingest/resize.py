"""Fitting a film into a square: the one way ``ingest``, ``build`` and ``explain`` all do it.

- **Resize, then pad.** ``pad`` resizes the film so that its longer side is ``size`` (the aspect ratio
  kept, the shorter side rounded), then centres it on a size×size canvas of 0 (black: air);
  ``stretch`` resizes both sides to ``size`` (the paper's way). Resizing first keeps the padding
  exactly 0 and the film's edge sharp.
- **Interpolation.** ``cv2.INTER_AREA`` (the mean of the source pixels each output pixel covers, so
  no aliasing) when no side grows; bilinear (``cv2.INTER_LINEAR``) when a side grows, where
  ``INTER_AREA`` would repeat pixels in blocks.
- A film already size×size is returned as it is; any 2-D dtype OpenCV resizes (uint8, uint16,
  float32) is kept.
- :class:`Placement` says where the film lies in the square, so that a map computed on the square
  (a heatmap) can be cut out and brought back to the film's own size (:meth:`Placement.unfit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from cxr_regions.errors import UserError

RESIZE_MODES = ("pad", "stretch")


@dataclass(frozen=True)
class Placement:
    """Where a film lies in the size×size square: rows ``top:top+height``, columns ``left:left+width``."""

    size: int
    top: int
    left: int
    height: int
    width: int

    def unfit(self, square: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """A size×size map cut back to the film's area and resized (bilinear) to the film's ``shape``."""
        inner = square[self.top : self.top + self.height, self.left : self.left + self.width]
        return cv2.resize(np.ascontiguousarray(inner), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def placement(height: int, width: int, size: int, mode: str = "pad") -> Placement:
    """Where a height×width film goes in a size×size square under ``mode`` (see the module's notes)."""
    if mode == "stretch":
        return Placement(size, 0, 0, size, size)
    if mode != "pad":
        raise UserError(f"resize mode must be one of {', '.join(RESIZE_MODES)}, got {mode!r}")
    scale = size / max(height, width)
    new_h, new_w = max(1, round(height * scale)), max(1, round(width * scale))
    return Placement(size, (size - new_h) // 2, (size - new_w) // 2, new_h, new_w)


def resize_film(image: np.ndarray, size: int, mode: str = "pad") -> np.ndarray:
    """The first step of :func:`fit_square`: the film resized to its placement's size, unpadded
    (``ingest`` quantises 16-bit films between the two steps)."""
    height, width = image.shape[:2]
    place = placement(height, width, size, mode)
    if (place.height, place.width) == (height, width):
        return image
    shrinking = place.height <= height and place.width <= width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (place.width, place.height), interpolation=interpolation)


def pad_square(image: np.ndarray, size: int, value: int = 0) -> np.ndarray:
    """The second step of :func:`fit_square`: the resized film centred on a size×size canvas of
    ``value`` (0, black: air), where :func:`placement` puts it."""
    height, width = image.shape[:2]
    if (height, width) == (size, size):
        return image
    top, left = (size - height) // 2, (size - width) // 2
    return cv2.copyMakeBorder(
        image, top, size - height - top, left, size - width - left, cv2.BORDER_CONSTANT, value=value
    )


def fit_square_placed(image: np.ndarray, size: int, mode: str = "pad") -> tuple[np.ndarray, Placement]:
    """The film fitted into size×size (resized, then padded with 0) and where it lies in the square."""
    height, width = image.shape[:2]
    place = placement(height, width, size, mode)
    return pad_square(resize_film(image, size, mode), size), place


def fit_square(image: np.ndarray, size: int, mode: str = "pad") -> np.ndarray:
    """The film fitted into size×size: resized (area when shrinking, bilinear when enlarging), then
    centred on black padding (``pad``) or resized on both sides (``stretch``)."""
    return fit_square_placed(image, size, mode)[0]
