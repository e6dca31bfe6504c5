"""Decoding only the resolution an output keeps: JPEG 2000 resolution levels and JPEG DCT scaling.

A 256-px PNG of a 2000-px film throws away 98% of the pixels, and for compressed films decoding them
is most of the work. Both codecs can decode a smaller image directly:

- **JPEG 2000** stores the image as wavelet resolution levels; Pillow's JPEG 2000 plugin (OpenJPEG)
  decodes only the lower ones when its ``reduce`` is set (each level halves both sides). The
  pylibjpeg-openjpeg plugin pydicom uses for the full decode has no such option. The low-pass band of
  the reversible 5/3 wavelet keeps the stored-value scale, so the modality and VOI chain applies as is.
- **Baseline JPEG** (8-bit) can be decoded at 1/2, 1/4 or 1/8 of its size by scaling the inverse DCT
  (Pillow's ``Image.draft``).

:func:`reduced_frame` picks the largest reduction that leaves every side at least twice the output
size (so that area resizing still averages over several pixels) and returns ``None``
wherever it cannot help or does not apply (a film too small, another codec, colour, signed values, a
codestream with fewer levels, any decoder error): the caller then decodes in full, exactly. Measured
against the full decode on the real films: docs/results.md, the reduced decode.
"""

from __future__ import annotations

import io

import numpy as np

JPEG2000 = ("1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91")
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
MARGIN = 2


def largest_reduction(rows: int, columns: int, size: int, most: int = 5) -> int:
    """The largest ``r`` (at most ``most``) whose 2**-r decode keeps every side >= MARGIN × ``size``."""
    r = 0
    while r < most and min(-(-rows // (2 << r)), -(-columns // (2 << r))) >= MARGIN * size:
        r += 1
    return r


def _recentre(values: np.ndarray, level: int) -> np.ndarray:
    """Move wavelet low-pass samples to where area resizing expects them.

    Sample ``k`` of a 2**-r decode lies at original pixel ``2**r * k``; area resizing takes it for the
    centre of a 2**r-pixel block, ``(2**r - 1) / 2`` further on. Resampling by that fraction of a pixel
    (bilinear) removes the shift, which otherwise shows at sharp edges (collimators, burned-in rulers).
    """
    import cv2

    delta = ((1 << level) - 1) / (2 << level)
    shift = np.array([[1, 0, delta], [0, 1, delta]], dtype=np.float32)
    moved = cv2.warpAffine(
        values.astype(np.float32),
        shift,
        (values.shape[1], values.shape[0]),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return np.rint(moved)


def _first_frame(ds) -> bytes | None:
    from pydicom.encaps import generate_frames

    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return next(generate_frames(ds.PixelData, number_of_frames=frames), None)


def _single_unsigned_channel(ds) -> bool:
    return (
        int(ds.get("SamplesPerPixel", 1) or 1) == 1
        and int(ds.get("PixelRepresentation", 0) or 0) == 0
        and str(ds.get("PhotometricInterpretation", "")).strip().upper() in ("MONOCHROME1", "MONOCHROME2")
        and "PixelData" in ds
    )


def _jpeg2000(frame: bytes, reduce: int, bits_allocated: int) -> np.ndarray | None:
    import openjpeg
    from PIL import Image

    params = openjpeg.get_parameters(frame)
    precision = int(params["precision"])
    if params["is_signed"] or params["samples_per_pixel"] != 1 or precision > 16:
        return None
    # Pillow rounds a reduced side where OpenJPEG takes the ceiling: a mismatch fails, so try fewer levels.
    for level in range(reduce, 0, -1):
        try:
            with Image.open(io.BytesIO(frame)) as image:
                # Pillow's JPEG 2000 reader takes the resolution levels to discard in this attribute
                image.reduce = level  # type: ignore[method-assign,assignment]
                image.load()
                values = np.asarray(image)
        except Exception:
            continue
        if precision > 8:  # Pillow widens the samples to 16 bits; take back the stored values
            values = values >> (16 - precision)
        top = (1 << precision) - 1
        dtype = np.uint8 if bits_allocated <= 8 else np.uint16
        return np.clip(_recentre(values, level), 0, top).astype(dtype)
    return None


def _jpeg_baseline(frame: bytes, rows: int, columns: int, reduce: int) -> np.ndarray | None:
    from PIL import Image

    with Image.open(io.BytesIO(frame)) as image:
        if image.mode != "L":
            return None
        power = 1 << reduce
        image.draft("L", (-(-columns // power), -(-rows // power)))
        if image.size == (columns, rows):
            return None
        return np.asarray(image)


def reduced_frame(ds, size: int, percentile_window: bool, jpeg2000: bool = True) -> np.ndarray | None:
    """The first frame's stored values decoded at reduced resolution for a ``size`` output, or ``None``.

    ``None`` means: decode in full (no reduction helps, the codec has none, or it failed). Baseline JPEG
    is reduced only where the window comes from the file (``percentile_window`` False): percentiles of
    the DCT-scaled image, whose tails are averaged away, shift a percentile window by about a grey level.
    ``jpeg2000`` False leaves JPEG 2000 films to the full decode.
    """
    syntax = str(ds.file_meta.get("TransferSyntaxUID", ""))
    if syntax not in (*JPEG2000, JPEG_BASELINE) or not _single_unsigned_channel(ds):
        return None
    if syntax == JPEG_BASELINE and percentile_window:
        return None
    if syntax in JPEG2000 and not jpeg2000:
        return None
    rows, columns = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    bits_allocated = int(ds.get("BitsAllocated", 16) or 16)
    if rows < 1 or columns < 1:
        return None
    reduce = largest_reduction(rows, columns, size, most=5 if syntax in JPEG2000 else 3)
    if reduce == 0:
        return None
    try:
        frame = _first_frame(ds)
        if frame is None:
            return None
        if syntax in JPEG2000:
            return _jpeg2000(frame, reduce, bits_allocated)
        if bits_allocated != 8:
            return None
        return _jpeg_baseline(frame, rows, columns, reduce)
    except Exception:
        return None
