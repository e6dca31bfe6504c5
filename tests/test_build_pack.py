"""Packing image files into one uint8 array: exact pixels, fitting, resuming after an interruption."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from cxr_regions.build import pack_images
from cxr_regions.build.pack import CHUNK, fit_square
from cxr_regions.errors import UserError
from helpers import shared_path


def write_png(path, pixels):
    assert cv2.imwrite(str(path), pixels)
    return path


def test_a_png_at_the_packed_size_comes_back_exactly(tmp_path):
    rng = np.random.default_rng(0)
    films = [rng.integers(0, 256, size=(256, 256), dtype=np.uint8) for _ in range(3)]
    paths = [write_png(tmp_path / f"f{i}.png", f) for i, f in enumerate(films)]
    out = pack_images(paths, tmp_path / "images.npy", size=256, workers=2, progress=False)
    packed = np.load(out, mmap_mode="r")
    assert packed.shape == (3, 256, 256) and packed.dtype == np.uint8
    for i, film in enumerate(films):
        assert np.array_equal(packed[i], film)


def test_other_sizes_depths_and_colours_are_fitted(tmp_path):
    tall = np.full((200, 100), 200, dtype=np.uint8)
    deep = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).astype(np.uint16)
    colour = np.zeros((64, 64, 3), dtype=np.uint8)
    colour[..., 2] = 255
    paths = [
        write_png(tmp_path / n, p) for n, p in (("tall.png", tall), ("deep.png", deep), ("rgb.png", colour))
    ]
    padded = np.load(pack_images(paths, tmp_path / "pad.npy", size=64, progress=False))
    assert padded[0, :, :16].max() == 0 and padded[0, :, 16:48].min() == 200  # aspect kept, black bars
    assert np.array_equal(padded[1], (deep >> 8).astype(np.uint8))
    assert 70 < padded[2].mean() < 80  # pure red -> gray ~76
    stretched = np.load(
        pack_images(paths[:1], tmp_path / "stretch.npy", size=64, resize="stretch", progress=False)
    )
    assert stretched[0].min() == 200


def test_pad_keeps_the_image_centred():
    wide = np.zeros((50, 100), dtype=np.uint8)
    wide[:, :50] = 255
    fitted = fit_square(wide, 100, "pad")
    assert fitted[:25].max() == 0 and fitted[75:].max() == 0
    assert fitted[25:75, :50].min() == 255 and fitted[25:75, 50:].max() == 0


def test_an_interrupted_pack_resumes_where_it_stopped(tmp_path):
    n = CHUNK + 20
    paths = [tmp_path / f"f{i:03d}.png" for i in range(n)]
    for i, path in enumerate(paths):
        if i != CHUNK + 5:
            write_png(path, np.full((16, 16), i % 256, dtype=np.uint8))
    out = tmp_path / "images.npy"
    with pytest.raises(UserError, match=re.escape(paths[CHUNK + 5].name)):
        pack_images(paths, out, size=16, progress=False)
    assert not out.exists()
    write_png(paths[CHUNK + 5], np.full((16, 16), 7, dtype=np.uint8))
    write_png(paths[0], np.full((16, 16), 99, dtype=np.uint8))  # already packed: a resume keeps the old row
    pack_images(paths, out, size=16, progress=False)
    packed = np.load(out)
    assert packed[0].max() == 0
    assert packed[CHUNK + 5].max() == 7 and packed[n - 1].max() == (n - 1) % 256
    assert not list(tmp_path.glob(".images.npy.*"))
    mtime = out.stat().st_mtime_ns
    pack_images(paths, out, size=16, progress=False)
    assert out.stat().st_mtime_ns == mtime  # an identical finished pack is kept


def test_an_unreadable_file_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(UserError, match=r"bad\.png"):
        pack_images([bad], tmp_path / "images.npy", size=16, progress=False)


def test_real_nih_films_are_packed_pixel_for_pixel(tmp_path):
    from PIL import Image

    paths = sorted(shared_path("nih-sample", "images").glob("*.png"))[:24]
    packed = np.load(pack_images(paths, tmp_path / "nih.npy", size=256, workers=2, progress=False))
    for i, path in enumerate(paths):
        assert np.array_equal(packed[i], np.asarray(Image.open(path).convert("L")))
