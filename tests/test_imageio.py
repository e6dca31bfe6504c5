"""PNG encoding shared by ingest, explain and the HTML report: lossless for gray, 16-bit and RGB."""

from __future__ import annotations

import cv2
import numpy as np

from cxr_regions.imageio import png_bytes


def _decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)


def test_gray_8_and_16_bit_round_trip_exactly():
    rng = np.random.default_rng(0)
    for dtype in (np.uint8, np.uint16):
        film = rng.integers(0, np.iinfo(dtype).max, size=(13, 7), dtype=dtype)
        for compression in (None, 3):
            back = _decode(png_bytes(film, compression=compression))
            assert back.dtype == dtype and np.array_equal(back, film)


def test_rgb_keeps_its_channel_order():
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    rgb[..., 0] = 255  # red
    back = cv2.cvtColor(_decode(png_bytes(rgb)), cv2.COLOR_BGR2RGB)
    assert np.array_equal(back, rgb)
