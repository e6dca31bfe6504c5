"""Contact sheet: a grid of phantom films with their label strings, to look at the phantom quickly."""

from __future__ import annotations

import os
from collections.abc import Sequence

import cv2
import numpy as np

from cxr_regions.fileio import atomic_path


def contact_sheet(
    images: Sequence[np.ndarray],
    captions: Sequence[str],
    path: str | os.PathLike[str],
    tile: int = 256,
    columns: int = 4,
) -> None:
    """Write a PNG grid of ``images`` (float 0..1 or uint8) with one caption under each."""
    if not images:
        raise ValueError("no films for the contact sheet")
    band = max(18, tile // 10)
    rows = (len(images) + columns - 1) // columns
    sheet = np.zeros((rows * (tile + band) + band, columns * tile), np.uint8)
    title = "cxr-regions PHANTOM - synthetic films, not patient data (patient's left on image right)"
    cv2.putText(sheet, title, (6, band - 5), cv2.FONT_HERSHEY_SIMPLEX, band / 48, 200, 1, cv2.LINE_AA)
    for i, (img, caption) in enumerate(zip(images, captions, strict=True)):
        im = img if img.dtype == np.uint8 else np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)
        im = cv2.resize(im, (tile, tile), interpolation=cv2.INTER_AREA)
        r, c = divmod(i, columns)
        y, x = band + r * (tile + band), c * tile
        sheet[y : y + tile, x : x + tile] = im
        cv2.putText(
            sheet,
            caption,
            (x + 4, y + tile + band - 5),
            cv2.FONT_HERSHEY_SIMPLEX,
            band / 40,
            255,
            1,
            cv2.LINE_AA,
        )
    with atomic_path(path) as tmp:
        ok, data = cv2.imencode(".png", sheet)
        if not ok:
            raise OSError(f"could not encode the contact sheet {path}")
        tmp.write_bytes(data.tobytes())
