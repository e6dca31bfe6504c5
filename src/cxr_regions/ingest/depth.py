"""The film at its own bit depth, for a diagnostic viewer: the stored values through the modality LUT
(rescale), kept losslessly as a 16-bit grayscale PNG, with what a viewer needs to window them as the
file says (its windows and VOI LUTs), presets from the film's own histogram, and its pixel spacing.

The display PNG (:mod:`~cxr_regions.ingest.decode`) is one rendering of these values; this keeps the
values themselves. ``value = png * slope + intercept`` gives the modality LUT's output exactly (``slope``
1 and ``intercept`` 0 for nearly every radiograph, so the PNG holds the stored values).

The default window is the one ingest's display uses, pydicom's ``apply_voi_lut(values, ds)`` (index 0,
the VOI LUT Sequence preferred over Window Center/Width), shown from the lowest to the highest value it
can give: a window's own ends, a VOI LUT's lowest and highest entry. A film without a valid VOI gets
the display's percentile window (``auto``). Radiographs have no Hounsfield scale, so the lung,
mediastinum and bone presets are set from percentiles of the film's own values, counted from dark to
bright as the film is shown (MONOCHROME1 is shown inverted).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
from pydicom.multival import MultiValue
from pydicom.pixels import apply_modality_lut, apply_voi

from cxr_regions.ingest.decode import STATUS_DECODE_ERROR, FilmError, _percentile_window, frame_pixels
from cxr_regions.ingest.settings import DEFAULT_PERCENTILES

FULL_DEPTH_DIR = "full16"
"""Where :func:`~cxr_regions.ingest.ingest_file` with ``full_depth=True`` writes ``<image_id>.png``
(the values) and ``<image_id>.json`` (:meth:`FullDepth.header`)."""
HEADER_VERSION = 1
VOI_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")
PRESETS: tuple[tuple[str, str, float, float], ...] = (
    ("lung", "Lung", 1.0, 80.0),
    ("mediastinum", "Mediastinum", 35.0, 99.5),
    ("bone", "Bone", 55.0, 99.95),
)
"""Key, name, and the darkest and brightest percentile of the film's values (dark to bright as shown)
that each preset window spans: the lungs' range, the dense middle, the brightest part."""
_MAX16 = 65535


@dataclass(frozen=True)
class Window:
    """A window in modality values: ``center``/``width`` with the DICOM VOI LUT Function (PS3.3
    C.11.2.1.2: LINEAR, LINEAR_EXACT or SIGMOID), as a viewer applies it."""

    key: str
    name: str
    center: float
    width: float
    function: str = "LINEAR"


@dataclass(frozen=True)
class VoiLut:
    """One item of the file's VOI LUT Sequence: input ``first`` maps to ``data[0]``, inputs below it to
    ``data[0]``, above the last to ``data[-1]`` (as pydicom's ``apply_voi``); shown from ``min(data)`` to
    ``max(data)``."""

    key: str
    name: str
    first: int
    data: tuple[int, ...]


@dataclass(frozen=True)
class Spacing:
    """Millimetres per pixel between rows and between columns; ``at`` says where it was measured:
    ``patient`` (Pixel Spacing) or ``detector`` (Imager Pixel Spacing, not corrected for magnification)."""

    row_mm: float
    column_mm: float
    at: str


@dataclass(frozen=True)
class FullDepth:
    """A film's values (``pixels``, uint16, rows × columns) and how to show and measure them."""

    pixels: np.ndarray
    slope: float
    intercept: float
    photometric: str
    bits_stored: int
    windows: tuple[Window, ...]
    luts: tuple[VoiLut, ...]
    default: str
    presets: tuple[Window, ...]
    pixel_spacing: tuple[float, float] | None
    imager_pixel_spacing: tuple[float, float] | None

    @property
    def spacing(self) -> Spacing | None:
        """Pixel Spacing where the file has one, else Imager Pixel Spacing (at the detector), else None."""
        if self.pixel_spacing is not None:
            return Spacing(*self.pixel_spacing, at="patient")
        if self.imager_pixel_spacing is not None:
            return Spacing(*self.imager_pixel_spacing, at="detector")
        return None

    def values(self) -> np.ndarray:
        """The modality LUT's output (float64), ``pixels * slope + intercept``."""
        return self.pixels.astype(np.float64) * self.slope + self.intercept

    def png_bytes(self) -> bytes:
        """The values as a lossless 16-bit grayscale PNG (filter Sub: small, and quick to decode)."""
        params = [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB, cv2.IMWRITE_PNG_COMPRESSION, 1]
        ok, buf = cv2.imencode(".png", self.pixels, params)
        if not ok:
            raise ValueError("PNG encoding failed")
        return buf.tobytes()

    def header(self) -> dict[str, Any]:
        """Everything but the pixels, as JSON values (the viewer's ``full_depth`` description)."""
        spacing = self.spacing
        return {
            "version": HEADER_VERSION,
            "width": int(self.pixels.shape[1]),
            "height": int(self.pixels.shape[0]),
            "slope": self.slope,
            "intercept": self.intercept,
            "photometric": self.photometric,
            "bits_stored": self.bits_stored,
            "value_range": [float(v) for v in _value_range(self.pixels, self.slope, self.intercept)],
            "windows": [asdict(w) for w in self.windows],
            "luts": [{**asdict(lut), "data": list(lut.data)} for lut in self.luts],
            "default": self.default,
            "presets": [asdict(w) for w in self.presets],
            "pixel_spacing": list(self.pixel_spacing) if self.pixel_spacing else None,
            "imager_pixel_spacing": list(self.imager_pixel_spacing) if self.imager_pixel_spacing else None,
            "spacing": asdict(spacing) if spacing else None,
        }


def _value_range(pixels: np.ndarray, slope: float, intercept: float) -> tuple[float, float]:
    lo, hi = float(pixels.min()) * slope + intercept, float(pixels.max()) * slope + intercept
    return (min(lo, hi), max(lo, hi))


def _spacing(ds, keyword: str) -> tuple[float, float] | None:
    """A two-valued spacing in mm, or None where absent, malformed, or zero (0 means unknown)."""
    value = ds.get(keyword, None)
    try:
        pair = tuple(float(v) for v in value) if value is not None else ()
    except (TypeError, ValueError):
        return None
    if len(pair) != 2 or not all(math.isfinite(v) and v > 0 for v in pair):
        return None
    return (pair[0], pair[1])


def _modality_pixels(stored: np.ndarray, ds) -> tuple[np.ndarray, float, float]:
    """uint16 pixels with ``slope`` and ``intercept`` such that ``pixels * slope + intercept`` is the
    modality LUT's output for every stored value, exactly."""
    values = apply_modality_lut(stored, ds)
    lo, hi = float(values.min()), float(values.max())
    integral = np.issubdtype(values.dtype, np.integer) or bool(np.all(values == np.rint(values)))
    if integral and lo >= 0 and hi <= _MAX16:
        return values.astype(np.uint16), 1.0, 0.0
    if integral and hi - lo <= _MAX16:
        return (values - lo).astype(np.uint16), 1.0, lo
    if ds.get("ModalityLUTSequence"):
        raise FilmError(STATUS_DECODE_ERROR, "the modality LUT's output does not fit 16 bits")
    # a fractional rescale (or one spreading the values over more than 16 bits): keep the stored values
    slope = float(ds.get("RescaleSlope", 1) or 1)
    intercept = float(ds.get("RescaleIntercept", 0) or 0)
    low = int(stored.min())
    if int(stored.max()) - low > _MAX16:
        raise FilmError(STATUS_DECODE_ERROR, "the stored values span more than 16 bits")
    return (stored.astype(np.int64) - low).astype(np.uint16), slope, intercept + slope * low


def _file_windows(ds) -> tuple[Window, ...]:
    """The file's Window Center/Width pairs with their explanations and its VOI LUT Function."""
    center, width = ds.get("WindowCenter", None), ds.get("WindowWidth", None)
    if center is None or width is None:
        return ()
    centers, widths = _several(center), _several(width)
    names = _several(ds.get("WindowCenterWidthExplanation", None))
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
    if function not in VOI_FUNCTIONS:
        return ()
    out = []
    for i, (c, w) in enumerate(zip(centers, widths, strict=False)):
        try:
            c, w = float(c), float(w)
        except (TypeError, ValueError):
            continue
        name = str(names[i]).strip() if i < len(names) and str(names[i]).strip() else f"File window {i + 1}"
        out.append(Window(f"window:{i}", name, c, w, function))
    return tuple(out)


def _several(value: Any) -> list[Any]:
    """A DICOM value of multiplicity 1-n as a list (None: empty)."""
    if value is None:
        return []
    return list(value) if isinstance(value, MultiValue | list | tuple) else [value]


def _valid(window: Window) -> bool:
    """Whether pydicom's ``apply_windowing`` accepts it (LINEAR needs width >= 1, the others > 0)."""
    return math.isfinite(window.center) and window.width >= (1 if window.function == "LINEAR" else 1e-12)


def _file_luts(ds) -> tuple[VoiLut, ...]:
    """The file's VOI LUTs, read through pydicom's ``apply_voi`` (so VR, byte order and bit depth are
    pydicom's reading); LUTs pydicom cannot apply are left out."""
    sequence = ds.get("VOILUTSequence", None) or []
    out = []
    for i, item in enumerate(sequence):
        descriptor, data = item.get("LUTDescriptor", None), item.get("LUTData", None)
        if descriptor is None or data is None:
            continue
        try:
            entries, first = int(descriptor[0]) or 65536, int(descriptor[1])
            table = apply_voi(np.arange(first, first + entries, dtype=np.int64), ds, index=i)
        except (ValueError, NotImplementedError, AttributeError, IndexError, TypeError, KeyError):
            continue
        name = str(item.get("LUTExplanation", "") or "").strip() or f"File VOI LUT {i + 1}"
        out.append(VoiLut(f"lut:{i}", name, first, tuple(int(v) for v in table)))
    return tuple(out)


def _presets(pixels: np.ndarray, slope: float, intercept: float, invert: bool) -> tuple[Window, ...]:
    """``auto`` (the display's percentile window), lung, mediastinum, bone and full range, as
    LINEAR_EXACT windows spanning percentiles of the film's values (dark to bright as shown)."""
    counts = np.bincount(pixels.ravel(), minlength=_MAX16 + 1)
    domain = np.arange(_MAX16 + 1, dtype=np.float64) * slope + intercept

    def span(key: str, name: str, low: float, high: float) -> Window:
        if invert:  # shown inverted: the darkest shown values are the highest stored ones
            low, high = 100.0 - high, 100.0 - low
        lo, hi = _percentile_window(domain, counts, (low, high))
        return Window(key, name, (lo + hi) / 2, max(hi - lo, 1e-6), "LINEAR_EXACT")

    lo, hi = _value_range(pixels, slope, intercept)
    return (
        span("auto", "Auto (percentiles)", *DEFAULT_PERCENTILES),
        *(span(key, name, low, high) for key, name, low, high in PRESETS),
        Window("full", "Full range", (lo + hi) / 2, max(hi - lo, 1e-6), "LINEAR_EXACT"),
    )


def full_depth(ds, pixels: np.ndarray | None = None) -> FullDepth:
    """A grayscale film's values and display facts from its dataset (``pixels``: its first frame's
    stored values where already decoded). :class:`FilmError` for colour films and undecodable data."""
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise FilmError(STATUS_DECODE_ERROR, f"{photometric} is not a grayscale film")
    stored = frame_pixels(ds) if pixels is None else pixels
    if stored.ndim != 2 or stored.dtype.kind not in "iu":
        raise FilmError(STATUS_DECODE_ERROR, f"unexpected pixel array {stored.dtype} of shape {stored.shape}")
    values, slope, intercept = _modality_pixels(stored, ds)
    windows, luts = _file_windows(ds), _file_luts(ds)
    if luts and luts[0].key == "lut:0":
        default = "lut:0"
    elif windows and windows[0].key == "window:0" and _valid(windows[0]):
        default = "window:0"
    else:
        default = "auto"
    return FullDepth(
        pixels=values,
        slope=slope,
        intercept=intercept,
        photometric=photometric,
        bits_stored=int(ds.get("BitsStored", 0) or 0),
        windows=tuple(w for w in windows if _valid(w)),
        luts=luts,
        default=default,
        presets=_presets(values, slope, intercept, photometric == "MONOCHROME1"),
        pixel_spacing=_spacing(ds, "PixelSpacing"),
        imager_pixel_spacing=_spacing(ds, "ImagerPixelSpacing"),
    )
