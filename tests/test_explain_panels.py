"""The Fig. 3 panel: film, heatmaps of the regions predicted abnormal, report and probabilities."""

from __future__ import annotations

import cv2
import numpy as np

from cxr_regions.explain.overlays import overlay
from cxr_regions.explain.panels import panel_png
from cxr_regions.regions import REGION_KEYS


def _decode(png: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def test_panel_widens_with_each_predicted_region_and_takes_a_chinese_report():
    rng = np.random.default_rng(0)
    film = (rng.random((96, 80)) * 255).astype(np.uint8)
    heat = {k: rng.random((96, 80)).astype(np.float32) for k in REGION_KEYS}
    probs = {k: p for k, p in zip(REGION_KEYS, [0.1, 0.9, 0.2, 0.8, 0.3], strict=True)}
    labels = dict.fromkeys(REGION_KEYS, "0") | {"lungs": "1", "heart": "u"}
    one = _decode(panel_png(film, heat, probs, ["lungs"], "两肺纹理增多，心影增大。", labels, title="film-1"))
    two = _decode(panel_png(film, heat, probs, ["lungs", "heart"], "两肺纹理增多，心影增大。", labels))
    none = _decode(panel_png(film, heat, probs, [], None, None))
    assert two.shape[1] > one.shape[1] > 0
    assert none.shape[0] == one.shape[0]


def test_overlay_is_rgb_at_the_films_size_and_shows_the_heat():
    film = np.full((40, 60), 128, dtype=np.uint8)
    heat = np.zeros((40, 60), dtype=np.float32)
    heat[:, 30:] = 1.0
    image = overlay(film, heat)
    assert image.shape == (40, 60, 3) and image.dtype == np.uint8
    # jet: high heat is red, no heat is blue
    assert image[20, 50, 0] > image[20, 50, 2]
    assert image[20, 10, 2] > image[20, 10, 0]


def test_the_public_overlay_is_the_function_even_after_its_module_was_imported():
    import importlib

    import cxr_regions.explain as explain

    importlib.import_module("cxr_regions.explain.overlays")
    assert callable(explain.overlay) and explain.overlay is overlay
