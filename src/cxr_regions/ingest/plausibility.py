"""Is a PNG/JPEG picture plausibly a radiograph? A cheap check for pictures, which have no DICOM header.

DICOM films are selected by their header (modality, body part, view: :mod:`.selection`); a picture
says nothing about itself, so :func:`check_picture` looks at its pixels: size and aspect, colour, the
grey levels, flat areas and sharp edges (screenshots, drawings, text), fine noise, regular patterns
(sinusoids, stripes) and smoothness (gradients, renderings). It returns a :class:`PictureCheck`: ``ok``,
the ``reasons`` a picture is not clearly a radiograph (for the user, no file names), and the
``measures`` behind them. What to do with a picture that fails (refuse it, or store it marked "not
checked as a chest film") is the caller's decision.

Every limit is a field of :class:`PictureLimits` (defaults in :data:`PICTURE_LIMITS`), set with a margin
around the 200 NIH ChestX-ray14 films of the test data (each film's measure is inside every limit; the
per-measure ranges are in ``docs/ingest-checks.md``) and outside every non-radiograph of the tests
(sinusoids, flat images, gradients, noise, grey and colour screenshots, figures, colour photographs).
It is a plausibility check, not a classifier: a grey photograph of a natural scene can pass.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

# The pixels are measured on the picture fitted into this many pixels (its longest side), the size of
# the NIH films the limits were set on: the measures do not depend on the picture's resolution.
WORK_SIDE = 256


@dataclass(frozen=True)
class PictureLimits:
    """The limits of a plausible radiograph (measured on the picture fitted into ``WORK_SIDE`` px;
    grey levels on the 0-255 scale). The NIH range of each measure is given in brackets."""

    min_side: int = 200
    """Shortest side, px: smaller cannot show a chest film's detail (NIH: 256)."""
    max_side: int = 12_000
    """Longest side, px: larger is not a radiograph (a 43 cm detector at 0.1 mm is 4300 px)."""
    max_aspect: float = 1.5
    """Long side over short side: detectors are 1 to 1.25 (NIH: 1; a 16:10 screen is 1.6)."""
    max_colour_share: float = 0.01
    """Share of pixels in colour (max - min of R, G, B above ``colour_chroma``) (NIH: 0)."""
    colour_chroma: int = 32
    """What counts as a coloured pixel: JPEG noise on a grey picture stays below 10."""
    min_grey_range: float = 64.0
    """1st to 99th percentile of the grey levels (NIH: 123 to 252)."""
    max_top_level_share: float = 0.35
    """Share of the most common grey level: a screenshot's background (NIH: 0.008 to 0.13)."""
    max_flat_share: float = 0.5
    """Share of pixels whose 3x3 neighbourhood is one grey level (NIH: 0.0007 to 0.16)."""
    max_edge_share: float = 0.03
    """Share of pixels with a step of ``edge_step`` levels in their 3x3 neighbourhood: text,
    lines, user interfaces (NIH: 0 to 0.017)."""
    edge_step: int = 96
    max_fine_share: float = 0.05
    """Share of the picture's variation at periods under 4 px: noise, text (NIH: 0.0005 to 0.013)."""
    min_fine_detail: float = 0.45
    """RMS grey levels of the finest detail (the picture less its 1-px Gaussian blur): smooth
    renderings, gradients and slow waves have only their 8-bit rounding, about 0.3 (NIH: 0.7 to 4)."""
    max_plane_share: float = 0.97
    """Share of the grey-level variance a plane explains (a tilted plane: a linear gradient, noisy or
    not) (NIH: 0.006 to 0.88)."""
    max_periodic_share: float = 0.25
    """Share of the variation in a few sharp spectral peaks (each over ``peak_contrast`` times the
    median of its frequency ring): sinusoids, stripes, checkerboards (NIH: 0)."""
    peak_contrast: float = 1000.0


PICTURE_LIMITS = PictureLimits()


@dataclass(frozen=True)
class PictureCheck:
    """The verdict on one picture: ``ok`` when nothing is out of its limit, else the ``reasons``."""

    ok: bool
    reasons: list[str] = field(default_factory=list)
    measures: dict[str, float] = field(default_factory=dict)


def read_picture(path: str | os.PathLike[str]) -> np.ndarray:
    """A PNG/JPEG file as it is stored: 2-D grey or H×W×3 RGB, 8- or 16-bit (alpha dropped).

    Raises ``ValueError`` for a file OpenCV cannot read as an image.
    """
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise ValueError("not a readable PNG/JPEG image")
    if data.ndim == 3 and data.shape[2] == 1:
        data = data[:, :, 0]
    if data.ndim == 3:
        data = cv2.cvtColor(data, cv2.COLOR_BGRA2RGB if data.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    return data


def grey_8bit(picture: np.ndarray) -> np.ndarray:
    """The picture as 2-D uint8, as :func:`~cxr_regions.ingest.load_film` shows it: colour to grey
    (RGB order), 16-bit scaled to 8."""
    if picture.ndim == 3:
        picture = cv2.cvtColor(picture, cv2.COLOR_RGBA2GRAY if picture.shape[2] == 4 else cv2.COLOR_RGB2GRAY)
    if picture.dtype == np.uint16:
        return cv2.convertScaleAbs(picture, alpha=1.0 / 257.0)
    if picture.dtype != np.uint8:
        raise ValueError(f"pixel type {picture.dtype}; expected 8- or 16-bit")
    return picture


def _fit(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` with its longest side at most ``side`` (area-averaged), or as it is."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


@functools.lru_cache(maxsize=1)
def _rings(side: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For a centred side×side spectrum: each bin's ring (its rounded distance from the centre), the
    first and the one-past-last position of each ring's bins in ring order, and the Hann window."""
    half = side // 2
    yy, xx = np.mgrid[-half : side - half, -half : side - half]
    ring = np.rint(np.hypot(yy, xx)).astype(np.int64).ravel()
    ends = np.cumsum(np.bincount(ring))
    return ring, ends - np.bincount(ring), ends, np.outer(np.hanning(side), np.hanning(side))


def _spectrum_measures(grey: np.ndarray, contrast: float) -> tuple[float, float]:
    """(share of the variation at periods under 4 px, share in sharp peaks) of ``grey`` resized to
    ``WORK_SIDE`` square, mean removed, Hann-windowed."""
    square = cv2.resize(grey, (WORK_SIDE, WORK_SIDE), interpolation=cv2.INTER_AREA).astype(np.float64)
    ring, starts, ends, window = _rings(WORK_SIDE)
    power = (np.abs(np.fft.fftshift(np.fft.fft2((square - square.mean()) * window))) ** 2).ravel()
    total = power[ring > 0].sum()
    if total <= 0:
        return 0.0, 0.0
    fine = power[ring > WORK_SIDE // 4].sum() / total
    increasing = np.argsort(power)
    by_ring = power[increasing[np.argsort(ring[increasing], kind="stable")]]  # each ring's bins in order
    medians = (by_ring[(starts + ends - 1) // 2] + by_ring[(starts + ends) // 2]) / 2
    band = (ring >= 2) & (ring <= WORK_SIDE // 2)
    peaks = band & (power > contrast * medians[ring] + 1e-12)
    return float(fine), float(power[peaks].sum() / power[band].sum())


def measure_picture(picture: np.ndarray, limits: PictureLimits = PICTURE_LIMITS) -> dict[str, float]:
    """Every measure :func:`check_picture` compares with its limit (see :class:`PictureLimits`)."""
    height, width = picture.shape[:2]
    measures = {"short_side": float(min(height, width)), "long_side": float(max(height, width))}
    measures["aspect"] = measures["long_side"] / max(1.0, measures["short_side"])
    small = _fit(picture, WORK_SIDE)
    if small.ndim == 3:
        channels = small[:, :, :3].astype(np.int32)
        if small.dtype == np.uint16:
            channels //= 257
        chroma = channels.max(axis=2) - channels.min(axis=2)
        measures["colour_share"] = float((chroma > limits.colour_chroma).mean())
    else:
        measures["colour_share"] = 0.0
    grey = grey_8bit(small)
    low, high = np.percentile(grey, [1, 99])
    measures["grey_range"] = float(high - low)
    measures["top_level_share"] = float(np.bincount(grey.ravel(), minlength=256).max() / grey.size)
    kernel = np.ones((3, 3), np.uint8)
    step = cv2.dilate(grey, kernel).astype(np.int16) - cv2.erode(grey, kernel)
    measures["flat_share"] = float((step == 0).mean())
    measures["edge_share"] = float((step >= limits.edge_step).mean())
    values = grey.astype(np.float32)
    detail = values - cv2.GaussianBlur(values, (0, 0), 1.0)
    measures["fine_detail"] = float(np.sqrt(np.mean(detail[2:-2, 2:-2] ** 2))) if min(grey.shape) > 4 else 0.0
    measures["fine_share"], measures["periodic_share"] = _spectrum_measures(grey, limits.peak_contrast)
    measures["plane_share"] = _plane_share(grey)
    return measures


def _plane_share(grey: np.ndarray) -> float:
    """Share of the grey-level variance of ``grey`` (at 64×64) explained by a least-squares plane."""
    small = cv2.resize(grey, (64, 64), interpolation=cv2.INTER_AREA).astype(np.float64).ravel()
    y, x = np.mgrid[0:64, 0:64] / 63.0 - 0.5
    design = np.stack([np.ones(small.size), x.ravel(), y.ravel()], axis=1)
    coef, *_ = np.linalg.lstsq(design, small, rcond=None)
    variance = float(((small - small.mean()) ** 2).sum())
    if variance == 0:
        return 1.0
    return 1.0 - float(((small - design @ coef) ** 2).sum()) / variance


def _reasons(m: dict[str, float], lim: PictureLimits) -> list[str]:
    """What is out of its limit, in words a user can act on."""
    checks = [
        (
            m["short_side"] < lim.min_side,
            f"too small: {m['short_side']:.0f} px on its short side (at least {lim.min_side})",
        ),
        (
            m["long_side"] > lim.max_side,
            f"too large: {m['long_side']:.0f} px on its long side (at most {lim.max_side})",
        ),
        (
            m["aspect"] > lim.max_aspect,
            f"too elongated: {m['aspect']:.2f}:1 (a chest film is at most {lim.max_aspect}:1)",
        ),
        (
            m["colour_share"] > lim.max_colour_share,
            f"in colour: {m['colour_share']:.1%} of it (a radiograph is grey)",
        ),
        (
            m["grey_range"] < lim.min_grey_range,
            f"too few grey levels: {m['grey_range']:.0f} of 255 in use (at least {lim.min_grey_range:.0f})",
        ),
        (
            m["top_level_share"] > lim.max_top_level_share,
            f"one grey level covers {m['top_level_share']:.0%} of it, as a screenshot's background",
        ),
        (
            m["flat_share"] > lim.max_flat_share,
            f"{m['flat_share']:.0%} of it is perfectly flat, as a screenshot",
        ),
        (
            m["edge_share"] > lim.max_edge_share,
            f"sharp edges over {m['edge_share']:.1%} of it, as text or lines",
        ),
        (
            m["fine_share"] > lim.max_fine_share,
            f"{m['fine_share']:.0%} of its variation is pixel-scale noise or text",
        ),
        (
            m["periodic_share"] > lim.max_periodic_share,
            f"a regular pattern (stripes, waves) makes {m['periodic_share']:.0%} of it",
        ),
        (
            m["plane_share"] > lim.max_plane_share,
            f"a plain gradient: a plane fits {m['plane_share']:.0%} of its grey levels",
        ),
        (
            m["fine_detail"] < lim.min_fine_detail,
            f"too smooth: fine detail {m['fine_detail']:.2f} grey levels (at least {lim.min_fine_detail})",
        ),
    ]
    return [reason for failed, reason in checks if failed]


def check_picture(
    picture: np.ndarray | str | os.PathLike[str], limits: PictureLimits = PICTURE_LIMITS
) -> PictureCheck:
    """Whether a picture (an array as :func:`read_picture` gives, or a PNG/JPEG file) is plausibly a
    radiograph, with the reasons it is not and every measure.

    An array may be 2-D grey or H×W×3 (RGB or BGR alike: only the spread of the channels counts),
    8- or 16-bit. A file that cannot be read as an image raises ``ValueError``.
    """
    if isinstance(picture, (str, os.PathLike, Path)):
        picture = read_picture(picture)
    if picture.ndim not in (2, 3) or min(picture.shape[:2]) < 1:
        raise ValueError(f"not an image: array of shape {picture.shape}")
    measures = measure_picture(picture, limits)
    reasons = _reasons(measures, limits)
    return PictureCheck(ok=not reasons, reasons=reasons, measures=measures)
