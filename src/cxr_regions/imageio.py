"""Image encoding shared by every stage: lossless PNG bytes of a film, an overlay or a thumbnail."""

from __future__ import annotations

import cv2
import numpy as np


def png_bytes(image: np.ndarray, compression: int | None = None) -> bytes:
    """Lossless PNG bytes of a gray (H×W, 8- or 16-bit) or RGB (H×W×3, uint8) image.

    ``compression``: zlib level 0-9 (OpenCV's default, the fastest, where None); ``ingest`` uses 3,
    a smaller file for a little more time.
    """
    array = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    params = [] if compression is None else [cv2.IMWRITE_PNG_COMPRESSION, compression]
    ok, buf = cv2.imencode(".png", array, params)
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()
