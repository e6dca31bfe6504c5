"""The phantom's brush: normalised shapes drawn onto named canvases through the film's pose (OpenCV,
fixed-point sub-pixel coordinates). Used by the renderer and by the findings it paints."""

from __future__ import annotations

import math

import cv2
import numpy as np

from cxr_regions.phantom import outlines as ol

_SHIFT = 4  # fixed-point bits for sub-pixel drawing
_ONE = 1 << _SHIFT


class Painter:
    """Draws normalised shapes onto named canvases of one size through the film's pose."""

    def __init__(self, size: int, pose: np.ndarray, dtype=np.float32, names=("canvas",), smooth: bool = True):
        self.size = size
        self.line_type = cv2.LINE_AA if smooth else cv2.LINE_8
        self.pose = pose  # 2x3 affine in normalised coordinates
        self.scale = float(math.sqrt(abs(np.linalg.det(pose[:, :2]))))
        self.rotation = math.degrees(math.atan2(pose[1, 0], pose[0, 0]))
        self.canvases = {n: np.zeros((size, size), dtype) for n in names}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.canvases[name]

    def px(self, pts: np.ndarray) -> np.ndarray:
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        q = p @ self.pose[:, :2].T + self.pose[:, 2]
        return np.round(q * self.size * _ONE).astype(np.int32)

    def length(self, d: float) -> int:
        return max(1, round(d * self.size * self.scale))

    def poly(self, name: str, pts: np.ndarray, value: float) -> None:
        cv2.fillPoly(self.canvases[name], [self.px(pts)], value, self.line_type, _SHIFT)

    def polys(self, name: str, polys: list[np.ndarray], value: float) -> None:
        cv2.fillPoly(self.canvases[name], self.pxs(polys), value, self.line_type, _SHIFT)

    def line(self, name: str, pts: np.ndarray, value: float, width: float) -> None:
        cv2.polylines(
            self.canvases[name], [self.px(pts)], False, value, self.length(width), self.line_type, _SHIFT
        )

    def pxs(self, paths: list[np.ndarray]) -> list[np.ndarray]:
        """Several paths to pixel coordinates in one transform."""
        lengths = np.cumsum([len(path) for path in paths])[:-1]
        return np.split(self.px(np.concatenate(paths)), lengths)

    def lines(self, name: str, paths: list[np.ndarray], value: float, width: float) -> None:
        """Many open paths of one value and width in one call."""
        cv2.polylines(
            self.canvases[name], self.pxs(paths), False, value, self.length(width), self.line_type, _SHIFT
        )

    def ribbons(self, name: str, paths: list[np.ndarray], value: float, width: float) -> None:
        """Thick bands along paths (ribs, spine) as filled polygons: much faster than thick lines."""
        stacked = np.asarray(paths)  # K x N x 2 (paths of equal length)
        polys = np.concatenate(
            [ol.offset(stacked, width / 2), ol.offset(stacked, -width / 2)[:, ::-1]], axis=1
        )
        self.polys(name, list(polys), value)

    def segments(self, name: str, starts: np.ndarray, ends: np.ndarray, value: float, width: float) -> None:
        """Many straight segments (N x 2 starts and ends) of one value and width in one call."""
        if len(starts) == 0:
            return
        pts = self.px(np.stack([starts, ends], axis=1)).reshape(-1, 2, 2)
        cv2.polylines(
            self.canvases[name], list(pts), False, value, self.length(width), self.line_type, _SHIFT
        )

    def ellipse(self, name: str, center, axes, angle: float, value: float, arc=(0.0, 360.0), width=-1.0):
        c = self.px(np.array(center))[0]
        s = self.size * _ONE * self.scale
        ax = (max(1, round(axes[0] * s)), max(1, round(axes[1] * s)))
        thick = -1 if width < 0 else self.length(width)
        center = (int(c[0]), int(c[1]))
        canvas = self.canvases[name]
        angle = angle + self.rotation
        cv2.ellipse(canvas, center, ax, angle, arc[0], arc[1], value, thick, self.line_type, _SHIFT)
