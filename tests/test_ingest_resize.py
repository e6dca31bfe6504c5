"""One way to fit a film into a square (ingest.fit_square), used alike by ingest, build and explain."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cxr_regions.errors import UserError
from cxr_regions.ingest import fit_square, fit_square_placed


def test_resize_then_pad_keeps_the_padding_black_and_says_where_the_film_is():
    film = np.full((300, 120), 200, dtype=np.uint8)
    square, place = fit_square_placed(film, 100)
    assert (place.top, place.left, place.height, place.width) == (0, 30, 100, 40)
    assert square[:, :30].max() == 0 and square[:, 70:].max() == 0  # exactly black, sharp edge
    assert (square[:, 30:70] == 200).all()
    assert np.array_equal(place.unfit(square.astype(np.float32), film.shape), np.full(film.shape, 200.0))


def test_area_when_shrinking_bilinear_when_enlarging():
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, size=(64, 64), dtype=np.uint8)
    assert np.array_equal(fit_square(big, 16), cv2.resize(big, (16, 16), interpolation=cv2.INTER_AREA))
    small = rng.integers(0, 256, size=(8, 8), dtype=np.uint8)
    assert np.array_equal(fit_square(small, 20), cv2.resize(small, (20, 20), interpolation=cv2.INTER_LINEAR))


def test_a_film_of_the_right_size_is_kept_and_depths_are_kept():
    film = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    assert fit_square(film, 64) is film
    assert fit_square(film, 32).dtype == np.uint16
    assert fit_square(film.astype(np.float32) / 4096, 32).dtype == np.float32
    with pytest.raises(UserError, match="stretch"):
        fit_square(film, 32, "crop")


def test_build_and_explain_frame_a_film_the_same_way(tmp_path):
    from cxr_regions.build import pack_images
    from cxr_regions.explain.heatmaps import fit_frame

    rng = np.random.default_rng(1)
    film = rng.integers(0, 256, size=(90, 50), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "film.png"), film)
    packed = np.load(pack_images([tmp_path / "film.png"], tmp_path / "images.npy", size=64, progress=False))
    assert np.array_equal(packed[0], fit_square(film, 64))
    framed, frame = fit_frame(film.astype(np.float32) / 255, 64)
    assert frame == fit_square_placed(film, 64)[1]
    assert np.abs(framed * 255 - packed[0]).max() < 1.0  # the same pixels, up to uint8 rounding
