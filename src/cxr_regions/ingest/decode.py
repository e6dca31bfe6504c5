"""Reading a DICOM file and turning its pixels into display values: bone bright, air dark.

The recipe, per the DICOM standard's grayscale pipeline: decode the first frame (pylibjpeg plugins
first, then any other installed decoder, python-gdcm included); apply the modality LUT or rescale;
apply the file's VOI LUT or window where present, else a robust percentile window; scale to 16 bits.
MONOCHROME1 films are inverted when the output is quantised (:func:`quantise`), so that a film and its
photometric twin give exactly inverse images.

For 8- and 16-bit stored values (all radiographs) the whole chain is computed once per possible
stored value, with pydicom's ``apply_modality_lut`` / ``apply_voi_lut``, and applied to the image as
one table look-up: exact, and several times faster than transforming every pixel in floating point.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from pydicom import config, dcmread
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, get_decoder, pixel_array
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from cxr_regions.ingest.reduced import reduced_frame
from cxr_regions.ingest.settings import DEFAULT_PERCENTILES, WINDOWS

STATUS_NOT_DICOM = "not_dicom"
STATUS_UNREADABLE = "unreadable"
STATUS_NO_PIXELS = "no_pixels"
STATUS_DECODE_ERROR = "decode_error"

_PLUGIN_PREFERENCE = ("pylibjpeg", "pyjpegls", "pydicom", "pillow", "gdcm")
_MAX16 = 65535
_DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"


class FilmError(Exception):
    """A file that cannot become a film; ``status`` is its errors.csv status."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Display:
    """A film's display values before inversion: uint16, 0 darkest on the file's own grey scale.

    ``invert`` is True for MONOCHROME1, whose low values are meant to be shown bright; ``window``
    says how the values were windowed (``voi_lut``, ``window``, ``percentile`` or ``colour``).
    """

    values: np.ndarray
    invert: bool
    window: str
    stored: np.ndarray | None = field(default=None, repr=False)
    """The first frame's stored values, where decoded in full (for :func:`~cxr_regions.ingest.full_depth`)."""


_quiet_lock = threading.Lock()
_quiet_depth = 0
_quiet_previous: list[Any] = []


@contextlib.contextmanager
def quiet_pydicom() -> Iterator[None]:
    """Silence pydicom's value warnings while reading: they may quote element values (names, IDs).

    pydicom's setting and the warnings filters are global: threads reading at once (serve's intake,
    worker and PACS link) share one count, and the last to leave puts both back as the first found them.
    """
    global _quiet_depth

    with _quiet_lock:
        if _quiet_depth == 0:
            saved = warnings.catch_warnings()
            saved.__enter__()
            warnings.simplefilter("ignore")
            _quiet_previous[:] = [config.settings.reading_validation_mode, saved]
            config.settings.reading_validation_mode = config.IGNORE
        _quiet_depth += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_depth -= 1
            if _quiet_depth == 0:
                mode, saved = _quiet_previous
                config.settings.reading_validation_mode = mode
                saved.__exit__(None, None, None)
                _quiet_previous.clear()


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def has_preamble(path: Path) -> bool:
    """True when the file has the 128-byte preamble and ``DICM`` marker of a DICOM Part 10 file."""
    with open(path, "rb") as fh:
        head = fh.read(132)
    return len(head) == 132 and head[128:] == b"DICM"


def read_dicom(path: str | Path, header_only: bool = False):
    """Read a DICOM file (with or without the Part 10 preamble) as a pydicom Dataset.

    Raises :class:`FilmError` with status ``not_dicom`` for files that are not DICOM and
    ``unreadable`` for DICOM files that cannot be opened or parsed.
    """
    path = Path(path)
    try:
        preamble = has_preamble(path)
    except OSError as exc:
        raise FilmError(STATUS_UNREADABLE, f"cannot open the file ({exc.strerror or _short(exc)})") from None
    try:
        with quiet_pydicom():
            ds = dcmread(path, stop_before_pixels=header_only, force=not preamble)
    except Exception as exc:
        if not preamble:
            raise FilmError(
                STATUS_NOT_DICOM, "not a DICOM file (no DICM marker, no DICOM data set)"
            ) from None
        raise FilmError(STATUS_UNREADABLE, f"cannot parse the DICOM header ({_short(exc)})") from None
    if not preamble and not any(tag in ds for tag in (0x00080016, 0x00080018, 0x7FE00010)):
        raise FilmError(STATUS_NOT_DICOM, "not a DICOM file (no DICM marker, no DICOM data set)")
    if "TransferSyntaxUID" not in ds.file_meta:
        implicit, little = getattr(ds, "original_encoding", (True, True))
        syntax = (
            ImplicitVRLittleEndian
            if implicit
            else (ExplicitVRLittleEndian if little else ExplicitVRBigEndian)
        )
        ds.file_meta.TransferSyntaxUID = syntax
    return ds


def is_dicomdir(path: Path, ds) -> bool:
    """A DICOMDIR (media directory index), which holds no image."""
    sop_class = str(ds.file_meta.get("MediaStorageSOPClassUID", "") or ds.get("SOPClassUID", ""))
    return path.name.upper() == "DICOMDIR" or sop_class == _DICOMDIR_SOP_CLASS


def frame_pixels(ds) -> np.ndarray:
    """The first frame's stored values. Tries pylibjpeg first, then every other installed decoder."""
    if not any(tag in ds for tag in (0x7FE00010, 0x7FE00008, 0x7FE00009)):
        raise FilmError(STATUS_NO_PIXELS, "the file has no pixel data")
    syntax = ds.file_meta.TransferSyntaxUID
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError:
        raise FilmError(
            STATUS_DECODE_ERROR, f"no decoder for transfer syntax {syntax.name} ({syntax})"
        ) from None
    with quiet_pydicom():
        if decoder.is_native:
            try:
                return pixel_array(ds, index=0, view_only=True)  # read-only view: no copy
            except Exception as exc:
                raise FilmError(STATUS_DECODE_ERROR, f"{syntax.name}: {_short(exc)}") from None
        plugins = sorted(
            decoder.available_plugins,
            key=lambda p: _PLUGIN_PREFERENCE.index(p) if p in _PLUGIN_PREFERENCE else len(_PLUGIN_PREFERENCE),
        )
        if not plugins:
            raise FilmError(
                STATUS_DECODE_ERROR,
                f"no decoder installed for {syntax.name}; install pylibjpeg with its plugins or python-gdcm",
            )
        failures = []
        for plugin in plugins:
            try:
                return pixel_array(ds, index=0, decoding_plugin=plugin)
            except Exception as exc:
                failures.append(f"{plugin}: {_short(exc, 160)}")
    raise FilmError(
        STATUS_DECODE_ERROR, f"{syntax.name} pixel data could not be decoded ({'; '.join(failures)})"
    )


def _has_voi_lut(ds) -> bool:
    seq = ds.get("VOILUTSequence", None)
    return (
        bool(seq)
        and seq[0].get("LUTDescriptor", None) is not None
        and seq[0].get("LUTData", None) is not None
    )


def _has_window(ds) -> bool:
    return ds.get("WindowCenter", None) is not None and ds.get("WindowWidth", None) is not None


def _file_voi(modality_values: np.ndarray, ds) -> tuple[np.ndarray, float, float, str]:
    """The file's VOI LUT (preferred) or window applied, with the output range it maps onto."""
    if _has_voi_lut(ds):
        descriptor = ds.VOILUTSequence[0].LUTDescriptor
        entries, first = int(descriptor[0]) or 65536, int(descriptor[1])
        inputs = np.clip(np.rint(modality_values), first, first + entries - 1).astype(np.int64)
        values = apply_voi_lut(inputs, ds, index=0, prefer_lut=True)
        table = apply_voi_lut(np.arange(first, first + entries, dtype=np.int64), ds, index=0, prefer_lut=True)
        return values, float(table.min()), float(table.max()), "voi_lut"
    values = apply_voi_lut(modality_values.astype(np.float64), ds, index=0, prefer_lut=False)
    with np.errstate(over="ignore", invalid="ignore"):
        ends = apply_voi_lut(np.array([-1e30, 1e30]), ds, index=0, prefer_lut=False)
    return values, float(ends.min()), float(ends.max()), "window"


def _percentile_window(
    values: np.ndarray, counts: np.ndarray | None, percentiles: tuple[float, float]
) -> tuple[float, float]:
    """Low and high percentiles of the image's values (``counts``: how often each entry occurs)."""
    if counts is None:
        flat = values.ravel()
        sample = flat[:: max(1, flat.size // 1_000_000)]
        lo, hi = np.percentile(sample, percentiles)
        vmin, vmax = float(sample.min()), float(sample.max())
    else:
        present = counts > 0
        vals, weights = values[present].astype(np.float64), counts[present]
        order = np.argsort(vals, kind="stable")
        vals, cum = vals[order], np.cumsum(weights[order])
        total = float(cum[-1])
        lo_i, hi_i = (
            min(int(np.searchsorted(cum, total * p / 100.0, side="right")), len(vals) - 1)
            for p in percentiles
        )
        lo, hi = vals[lo_i], vals[hi_i]
        vmin, vmax = float(vals[0]), float(vals[-1])
    if hi <= lo:
        lo, hi = vmin, vmax
    return float(lo), float(hi)


def _to_uint16(values: np.ndarray, lo: float, hi: float) -> npt.NDArray[np.uint16]:
    span = hi - lo if hi > lo else 1.0
    floats: np.ndarray = values.astype(np.float64 if values.size <= 65536 else np.float32)
    scaled = (floats - lo) * (_MAX16 / span)
    return np.rint(np.clip(scaled, 0, _MAX16)).astype(np.uint16)


def _grey_chain(
    stored: np.ndarray,
    ds,
    window: str,
    percentiles: tuple[float, float],
    counts: Callable[[], np.ndarray] | None,
) -> tuple[npt.NDArray[np.uint16], str]:
    """Modality LUT, then VOI (file or percentile), scaled to uint16; ``stored`` may be a LUT domain."""
    modality_values = apply_modality_lut(stored, ds)
    if window == "auto" and (_has_voi_lut(ds) or _has_window(ds)):
        try:
            values, lo, hi, how = _file_voi(modality_values, ds)
            return _to_uint16(values, lo, hi), how
        except (ValueError, NotImplementedError, AttributeError, IndexError, TypeError, KeyError):
            pass  # an invalid VOI in the header: fall back to the percentile window
    lo, hi = _percentile_window(modality_values, counts() if counts else None, percentiles)
    return _to_uint16(modality_values, lo, hi), "percentile"


def display_values(
    ds, pixels: np.ndarray, window: str = "auto", percentiles: tuple[float, float] = DEFAULT_PERCENTILES
) -> Display:
    """The film's display values (uint16, not yet inverted) from its stored pixel values."""
    if window not in WINDOWS:
        raise ValueError(f"window must be one of {WINDOWS}, got {window!r}")
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric == "PALETTE COLOR":
        pixels = apply_color_lut(pixels, ds)
    if pixels.ndim == 3 and pixels.shape[2] in (3, 4):
        grey = cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2GRAY)
        top = 255.0 if grey.dtype == np.uint8 else float(max(int(grey.max()), 1))
        return Display(_to_uint16(grey, 0.0, top), invert=False, window="colour")
    if pixels.ndim != 2:
        raise FilmError(STATUS_DECODE_ERROR, f"unexpected pixel array of shape {pixels.shape}")
    invert = photometric == "MONOCHROME1"
    if pixels.dtype.kind in "iu" and pixels.dtype.itemsize <= 2:
        code_type: type[np.unsignedinteger[Any]] = np.uint8 if pixels.dtype.itemsize == 1 else np.uint16
        entries = 1 << (8 * pixels.dtype.itemsize)
        codes = np.ascontiguousarray(pixels).view(code_type)
        domain = np.arange(entries, dtype=code_type).view(pixels.dtype)
        table, how = _grey_chain(
            domain, ds, window, percentiles, lambda: np.bincount(codes.ravel(), minlength=entries)
        )
        values = cv2.LUT(codes, table) if code_type is np.uint8 else table[codes]
        return Display(values, invert=invert, window=how)
    values, how = _grey_chain(pixels, ds, window, percentiles, None)
    return Display(values, invert=invert, window=how)


def quantise(values: np.ndarray, bit_depth: int, invert: bool) -> np.ndarray:
    """uint16 display values as the output's bit depth (8 or 16), inverted for MONOCHROME1."""
    out: np.ndarray
    if bit_depth == 16:
        out = values.astype(np.uint16, copy=True)
    elif bit_depth == 8:
        out = cv2.convertScaleAbs(values, alpha=1.0 / 257.0)
    else:
        raise ValueError(f"bit depth must be 8 or 16, got {bit_depth}")
    if invert:
        cv2.bitwise_not(out, dst=out)
    return out


def decode_display(
    path: str | Path,
    window: str = "auto",
    percentiles: tuple[float, float] = DEFAULT_PERCENTILES,
    reduce_for: int | None = None,
    reduce_jpeg2000: bool = True,
) -> tuple[Display, object]:
    """Read and decode a DICOM file into display values; returns them with the dataset.

    ``reduce_for = size``: the values are only needed for a size×size output, so a JPEG 2000 or baseline
    JPEG film may be decoded at reduced resolution (:mod:`~cxr_regions.ingest.reduced`); the window and
    percentiles are then computed on that decode (JPEG 2000 only with ``reduce_jpeg2000``). ``None``: the
    exact full decode.
    """
    ds = read_dicom(path)
    pixels = None
    if reduce_for is not None:
        own_window = window == "auto" and (_has_voi_lut(ds) or _has_window(ds))
        with quiet_pydicom():
            pixels = reduced_frame(ds, reduce_for, percentile_window=not own_window, jpeg2000=reduce_jpeg2000)
    reduced = pixels is not None
    if pixels is None:
        pixels = frame_pixels(ds)
    try:
        display = display_values(ds, pixels, window, percentiles)
        if not reduced:
            display.stored = pixels
        return display, ds
    except FilmError:
        raise
    except Exception as exc:
        raise FilmError(
            STATUS_DECODE_ERROR, f"cannot turn the pixels into an image ({_short(exc)})"
        ) from None
