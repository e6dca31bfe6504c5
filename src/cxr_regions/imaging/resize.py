"""Fitting a film into a square: area interpolation, keeping the aspect ratio (pad) or not (stretch)."""

from __future__ import annotations

import cv2
import numpy as np

RESIZE_MODES = ("pad", "stretch")


def fitted_shape(height: int, width: int, size: int, mode: str) -> tuple[int, int]:
    """(height, width) of the film resized for a size×size square before padding."""
    if mode == "stretch":
        return size, size
    if mode != "pad":
        raise ValueError(f"resize mode must be one of {RESIZE_MODES}, got {mode!r}")
    scale = size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_film(image: np.ndarray, size: int, mode: str = "pad") -> np.ndarray:
    """Resize a 2-D film (8- or 16-bit) to fit size×size; ``pad`` keeps the aspect ratio, unpadded.

    Shrinking uses ``cv2.INTER_AREA`` (the mean of the covered source pixels); enlarging a film
    smaller than ``size`` uses bilinear interpolation.
    """
    height, width = image.shape[:2]
    new_h, new_w = fitted_shape(height, width, size, mode)
    if (new_h, new_w) == (height, width):
        return image
    shrinking = new_h <= height and new_w <= width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (new_w, new_h), interpolation=interpolation)


def pad_square(image: np.ndarray, size: int, value: int = 0) -> np.ndarray:
    """Centre the image on a size×size canvas of ``value`` (black: air)."""
    height, width = image.shape[:2]
    if (height, width) == (size, size):
        return image
    top, left = (size - height) // 2, (size - width) // 2
    return cv2.copyMakeBorder(
        image, top, size - height - top, left, size - width - left, cv2.BORDER_CONSTANT, value=value
    )


def fit_square(image: np.ndarray, size: int, mode: str = "pad") -> np.ndarray:
    """Resize and pad a film to size×size (black padding)."""
    return pad_square(resize_film(image, size, mode), size)
