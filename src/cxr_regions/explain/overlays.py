"""Heatmaps drawn over the film (pytorch-grad-cam's colour overlay) and saved as PNG."""

from __future__ import annotations

import os

import numpy as np
from pytorch_grad_cam.utils.image import show_cam_on_image

from cxr_regions.explain.heatmaps import to_unit_float
from cxr_regions.fileio import write_bytes
from cxr_regions.imageio import png_bytes

__all__ = ["overlay", "png_bytes", "save_png"]


def overlay(film: np.ndarray, heatmap: np.ndarray, film_weight: float = 0.55) -> np.ndarray:
    """An RGB uint8 image: the film in gray with the heatmap in the jet colour map over it."""
    if film.shape != heatmap.shape:
        raise ValueError(f"film {film.shape} and heatmap {heatmap.shape} differ in size")
    gray = to_unit_float(film)
    rgb = np.repeat(gray[..., None], 3, axis=2)
    return show_cam_on_image(rgb, np.clip(heatmap, 0.0, 1.0), use_rgb=True, image_weight=film_weight)


def save_png(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write a gray or RGB uint8 image as PNG, atomically."""
    write_bytes(path, png_bytes(image))
