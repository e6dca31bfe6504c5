"""Outlines of the phantom's chest, drawn from an :class:`~cxr_regions.phantom.anatomy.Anatomy`.

Each outline is a point array in the film's normalised coordinates (x to the image right, y down, 0..1),
memoised on its anatomy; ``side`` is an image side (see :mod:`cxr_regions.phantom.anatomy`). The curve
helpers (smooth closed curves, Bezier paths, offsets) come first.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from math import comb
from typing import Any, TypeVar

import numpy as np

from cxr_regions.phantom.anatomy import PATIENT_LEFT, PATIENT_RIGHT, Anatomy

F = TypeVar("F", bound=Callable[..., Any])


def cached(func: F) -> F:
    """Memoise an outline on its anatomy (an anatomy is not changed once findings are applied)."""

    @functools.wraps(func)
    def wrapper(a: Anatomy, *args: Any) -> Any:
        key = (func.__name__, *args)
        if key not in a._cache:
            a._cache[key] = func(a, *args)
        return a._cache[key]

    return wrapper  # type: ignore[return-value]


@functools.lru_cache(maxsize=64)
def _catmull_rom_basis(per_segment: int) -> np.ndarray:
    t = np.linspace(0, 1, per_segment, endpoint=False)
    return 0.5 * np.stack(
        [-t + 2 * t**2 - t**3, 2 - 5 * t**2 + 3 * t**3, t + 4 * t**2 - 3 * t**3, -(t**2) + t**3], axis=1
    )


def smooth_closed(points: np.ndarray, per_segment: int = 8) -> np.ndarray:
    """A closed Catmull-Rom curve through ``points`` (N x 2)."""
    p = np.asarray(points, dtype=np.float64)
    idx = np.arange(len(p))
    quads = np.stack([p[(idx - 1) % len(p)], p, p[(idx + 1) % len(p)], p[(idx + 2) % len(p)]], axis=1)
    return np.einsum("tk,nkd->ntd", _catmull_rom_basis(per_segment), quads).reshape(-1, 2)


@functools.lru_cache(maxsize=64)
def _bernstein(degree: int, n: int) -> np.ndarray:
    t = np.linspace(0, 1, n)[:, None]
    i = np.arange(degree + 1)[None, :]
    coef = np.array([comb(degree, k) for k in range(degree + 1)], dtype=np.float64)[None, :]
    return coef * (1 - t) ** (degree - i) * t**i


def bezier(*points: Any, n: int = 16) -> np.ndarray:
    """Bezier curve through the control points (first and last are the ends)."""
    p = np.asarray(points, dtype=np.float64)
    return _bernstein(len(p) - 1, n) @ p


def offset(path: np.ndarray, d: float | np.ndarray) -> np.ndarray:
    """Curve(s) ``path`` (N x 2, or K x N x 2) moved sideways by ``d`` (positive: left of the direction)."""
    tangent = np.empty_like(path)
    tangent[..., 1:-1, :] = path[..., 2:, :] - path[..., :-2, :]
    tangent[..., 0, :] = path[..., 1, :] - path[..., 0, :]
    tangent[..., -1, :] = path[..., -1, :] - path[..., -2, :]
    tangent /= np.sqrt((tangent**2).sum(axis=-1, keepdims=True)) + 1e-12
    return path + np.asarray(d)[..., None, None] * np.stack([tangent[..., 1], -tangent[..., 0]], axis=-1)


def lateral_x(a: Anatomy, side: int, y: np.ndarray | float) -> np.ndarray:
    """Inner margin of the rib cage (lateral lung border) at height ``y``."""
    y = np.asarray(y, dtype=np.float64)
    t = np.clip((y - a.apex_y) / (a.cp_y(side) - a.apex_y), 0.0, 1.0)
    half = a.cage_hw[side] * (0.34 + 0.66 * np.sin(0.5 * np.pi * t) ** 0.55)
    return 0.5 + side * half


@cached
def dome_curve(a: Anatomy, side: int, n: int = 24) -> np.ndarray:
    """Diaphragm dome from the costophrenic angle (lateral) to the midline."""
    x_cp = float(lateral_x(a, side, a.cp_y(side)))
    x = np.linspace(x_cp, 0.5, n)
    t = np.abs(x - 0.5) / abs(x_cp - 0.5)  # 1 lateral .. 0 medial
    peak = a.dome_peak
    lateral = t > peak
    y = np.where(
        lateral,
        a.dome_y[side] + a.cp_drop[side] * (np.clip(t - peak, 0, None) / (1 - peak)) ** 1.7,
        a.dome_y[side] + 0.03 * (np.clip(peak - t, 0, None) / peak) ** 2,
    )
    return np.stack([x, y], axis=1)


@cached
def hemithorax(a: Anatomy, side: int) -> np.ndarray:
    """Outline of one hemithorax: apex, lateral wall, costophrenic angle, dome, midline."""
    ys = np.linspace(a.apex_y + 0.004, a.cp_y(side), 28)
    lateral = np.stack([lateral_x(a, side, ys), ys], axis=1)
    apex_cap = bezier(
        (0.5 + side * 0.035, a.apex_y + 0.07),
        (0.5 + side * 0.05, a.apex_y - 0.012),
        lateral[0],
        n=10,
    )
    dome = dome_curve(a, side)
    medial = np.array([[0.5, a.dome_y[side] + 0.02], [0.5 + side * 0.03, a.apex_y + 0.09]])
    return np.concatenate([apex_cap, lateral[1:], dome[1:], medial])


@cached
def heart_outline(a: Anatomy) -> np.ndarray:
    """Cardiac silhouette, mostly on the image right (the patient's left)."""
    w = a.heart_width()
    xr = 0.5 - w * a.heart_right_frac
    xl = xr + w
    top, bot = a.heart_top, a.heart_bottom()
    h = bot - top
    pts = [
        (0.5 - a.med_hw[-1] * 0.9, top - 0.01),
        (0.5 - a.med_hw[-1], top + 0.2 * h),
        (xr + 0.01, top + 0.5 * h),
        (xr, top + 0.75 * h),
        (xr + 0.02, bot),
        (0.5, bot + 0.02),
        (xl - 0.06 * w, bot + a.heart_apex_drop),
        (xl, top + a.heart_lv_y * h),
        (xl - 0.22 * w, top + 0.3 * h),
        (0.5 + a.med_hw[1] + 0.02 + 0.04 * a.heart_la, top + 0.12 * h),
        (0.5 + a.med_hw[1] + 0.005, top - 0.015),
    ]
    return smooth_closed(np.array(pts), 8)


@cached
def mediastinum(a: Anatomy) -> np.ndarray:
    """Upper mediastinum between the lungs (vessels, trachea), from the neck to the heart."""
    right, left = a.med_hw[-1], a.med_hw[1]
    pts = np.array(
        [
            (0.5 - right * 0.8, a.apex_y - 0.03),
            (0.5 + left * 0.8, a.apex_y - 0.03),
            (0.5 + left * 0.8, a.apex_y + 0.06),
            (0.5 + left, a.knob_y - 0.02),
            (0.5 + left + 0.008, a.heart_top),
            (0.5 - right, a.heart_top + 0.02),
            (0.5 - right, a.apex_y + 0.1),
            (0.5 - right * 0.8, a.apex_y + 0.06),
        ]
    )
    pts[:, 0] += 0.7 * (a.spine_x(pts[:, 1]) - 0.5)
    return pts


def knob_center(a: Anatomy) -> tuple[float, float]:
    """Centre of the aortic knob (image right of the upper mediastinum)."""
    return float(a.spine_x(a.knob_y)) * 0.7 + 0.15 + a.knob_dx, a.knob_y


@cached
def descending_aorta(a: Anatomy, n: int = 12) -> np.ndarray:
    """Left border of the descending aorta, from the knob down behind the heart."""
    cx, cy = knob_center(a)
    ys = np.linspace(cy, a.heart_bottom(), n)
    x_end = float(a.spine_x(a.heart_bottom())) + a.spine_w * 0.45
    t = (ys - cy) / (ys[-1] - cy)
    xs = cx + (x_end - cx) * np.sqrt(t) + a.aorta_bulge * np.sin(np.pi * t)
    return np.stack([xs, ys], axis=1)


@cached
def aorta_shadow(a: Anatomy) -> np.ndarray:
    """Area from the spine out to the descending aorta's lateral border (no lung in between)."""
    path = descending_aorta(a)
    lateral = path + np.array([0.017, 0.0])
    medial = np.stack([a.spine_x(path[:, 1]), path[:, 1]], axis=1)[::-1]
    return np.concatenate([lateral, medial])


@cached
def abdomen(a: Anatomy) -> np.ndarray:
    """Upper abdomen (liver, spleen) below both domes."""
    right = dome_curve(a, PATIENT_RIGHT)
    left = dome_curve(a, PATIENT_LEFT)[::-1]
    bottom = [(left[-1][0] + 0.03, 1.06), (right[0][0] - 0.03, 1.06)]
    return np.concatenate([right, left, np.array(bottom)])


def body_width(a: Anatomy) -> float:
    """Half-width of the trunk at the skin."""
    return max(a.cage_hw.values()) + a.soft_margin


@cached
def flanks(a: Anatomy) -> np.ndarray:
    """Upper abdomen from skin to skin below the domes (a little denser than the chest wall)."""
    body = body_outline(a)
    right = body[(body[:, 0] > 0.5) & (body[:, 1] > a.cp_y(PATIENT_LEFT))]
    left = body[(body[:, 0] < 0.5) & (body[:, 1] > a.cp_y(PATIENT_RIGHT))]
    domes = np.concatenate([dome_curve(a, PATIENT_RIGHT), dome_curve(a, PATIENT_LEFT)[::-1]])
    return np.concatenate([domes, right[np.argsort(right[:, 1])], left[np.argsort(-left[:, 1])]])


@cached
def body_outline(a: Anatomy) -> np.ndarray:
    """Skin outline: neck, shoulders, trunk down to the abdomen (arms are separate)."""
    hw = body_width(a)
    sh = a.shoulder_y
    half = [
        (0.5 + a.neck_hw, -0.06),
        (0.5 + a.neck_hw, sh - 0.05),
        (0.5 + a.neck_hw + 0.07, sh - 0.01),
        (0.5 + hw * 0.85, sh + 0.01),
        (0.5 + hw + 0.07, sh + 0.06),
        (0.5 + hw + 0.05, sh + 0.16),
        (0.5 + hw + 0.005, a.apex_y + 0.32),
        (0.5 + hw, a.cp_y(1) + 0.02),
        (0.5 + hw + 0.02, 1.06),
    ]
    mirrored = [(1.0 - x, y) for x, y in reversed(half)]
    return smooth_closed(np.array(half + mirrored), 6)


@cached
def arm(a: Anatomy, side: int) -> np.ndarray:
    """Upper arm hanging beside the chest, separated from it by the dark axilla."""
    hw = body_width(a)
    sh = a.shoulder_y
    pts = [
        (0.5 + side * (hw + 0.0), sh + 0.03),
        (0.5 + side * (hw + 0.1), sh + 0.04),
        (0.5 + side * (hw + 0.14), sh + 0.3),
        (0.5 + side * (hw + 0.14), 0.95),
        (0.5 + side * (hw + 0.05), 0.95),
        (0.5 + side * (hw + 0.04), sh + 0.3),
    ]
    return smooth_closed(np.array(pts), 6)


def humeral_head(a: Anatomy, side: int) -> tuple[float, float, float]:
    """Centre and radius of the humeral head at the shoulder."""
    return 0.5 + side * (body_width(a) + 0.055), a.shoulder_y + 0.1, 0.05


@cached
def rib_paths(a: Anatomy, side: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(posterior, anterior) centre lines of ribs 1..10 on one side."""
    ribs = []
    spacing = a.vert_h * a.rib_spacing[side]
    for k in range(10):
        y0 = a.apex_y + 0.012 + k * spacing
        if y0 > a.cp_y(side) - 0.02:
            break
        x0 = float(a.spine_x(y0)) + side * 0.028
        y_lat = y0 + 0.035 + 0.008 * k
        x_lat = float(lateral_x(a, side, y_lat))
        span = x_lat - x0
        rise = a.rib_rise + 0.035
        posterior = bezier(
            (x0, y0), (x0 + 0.3 * span, y0 - rise), (x0 + 0.85 * span, y0 - 0.8 * rise), (x_lat, y_lat), n=20
        )
        y_ant = y_lat + 0.11 + 0.006 * k
        anterior = bezier(
            (x_lat, y_lat), (x_lat + side * 0.01, y_lat + 0.04), (0.5 + side * 0.14, y_ant), n=14
        )
        ribs.append((posterior, anterior))
    return ribs


@cached
def clavicle(a: Anatomy, side: int) -> np.ndarray:
    """Centre line of a clavicle: S-shaped, from the sternal end up and out to the shoulder."""
    y = a.clav_y
    hw = a.cage_hw[side]
    return bezier(
        (0.5 + side * 0.035, y + 0.035),
        (0.5 + side * hw * 0.45, y + 0.03),
        (0.5 + side * hw * 0.6, y - a.clav_tilt * 0.5),
        (0.5 + side * (hw + 0.06), y - a.clav_tilt),
        n=20,
    )


def hilum(a: Anatomy, side: int) -> tuple[float, float]:
    """Centre of a hilum (the left hilum sits higher than the right)."""
    y = a.knob_y + (0.095 if side == PATIENT_RIGHT else 0.07)
    return 0.5 + side * (a.med_hw[side] + 0.045), y
