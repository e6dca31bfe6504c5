"""Pointing game and energy share: a heatmap that knows nothing scores the chance level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxr_regions.explain.localisation import (
    energy_share,
    pointing_hit,
    score_film,
    summarise,
    summarise_by_label,
    summary_markdown,
)


@pytest.fixture
def mask() -> np.ndarray:
    m = np.zeros((100, 100), dtype=bool)
    m[40:60, 50:90] = True  # 8% of the film
    return m


def test_flat_heatmap_scores_the_mask_fraction(mask):
    flat = np.full(mask.shape, 0.5, dtype=np.float32)
    assert pointing_hit(flat, mask) == pytest.approx(mask.mean())
    assert energy_share(flat, mask) == pytest.approx(mask.mean())


def test_peak_inside_and_outside(mask):
    heat = np.zeros(mask.shape, dtype=np.float32)
    heat[50, 70] = 1.0
    heat[10, 10] = 0.9
    assert pointing_hit(heat, mask) == 1.0
    assert energy_share(heat, mask) == pytest.approx(1.0 / 1.9)
    heat[10, 10] = 1.0
    assert pointing_hit(heat, mask) == 0.5  # a tie: half the peak pixels lie inside
    heat[50, 70] = 0.2
    assert pointing_hit(heat, mask) == 0.0


def test_mask_at_another_size_is_resized(mask):
    heat = np.zeros((50, 50), dtype=np.float32)
    heat[25, 35] = 1.0  # the mask's (50, 70) at half size
    assert pointing_hit(heat, mask) == 1.0
    assert np.isnan(energy_share(np.zeros((50, 50), np.float32), mask))


def test_summary_per_region_with_chance(mask):
    heat_in = np.zeros(mask.shape, dtype=np.float32)
    heat_in[45, 60] = 1.0
    heat_out = np.zeros(mask.shape, dtype=np.float32)
    heat_out[5, 5] = 1.0
    other = np.ones(mask.shape, dtype=bool)
    rows = [
        score_film("a", {"heart": heat_in, "lungs": heat_in}, {"heart": mask, "lungs": other}),
        score_film("b", {"heart": heat_out, "aorta": heat_out}, {"heart": mask}),
    ]
    table = summarise(pd.concat(rows, ignore_index=True))
    assert list(table["region"]) == ["lungs", "heart"]  # region order; aorta had no mask
    heart = table.set_index("region").loc["heart"]
    assert heart["films"] == 2 and heart["pointing_game"] == 0.5
    assert heart["chance"] == pytest.approx(mask.mean())
    assert "| heart | 2 | 50.0% |" in summary_markdown(table)


def test_summary_by_label_scores_all_films_and_the_abnormal_ones_apart():
    scores = pd.DataFrame(
        {
            "image": ["a", "b", "c", "a", "b"],
            "region": ["heart", "heart", "heart", "aorta", "aorta"],
            "pointing_hit": [1.0, 1.0, 0.0, 0.0, 1.0],
            "energy_share": [0.6, 0.4, 0.2, 0.1, 0.3],
            "mask_fraction": [0.1, 0.1, 0.1, 0.05, 0.05],
        }
    )
    labels = pd.DataFrame({"image_id": ["a", "b", "a"], "heart": [1, 1, 1], "aorta": [0, 0, 0]})
    table = summarise_by_label(scores, labels).set_index("region")
    assert list(table.index) == ["aorta", "heart"]  # region order
    heart = table.loc["heart"]
    assert heart["films"] == 3 and heart["pointing_game"] == pytest.approx(2 / 3)
    assert heart["abnormal_films"] == 2  # film c is not in the labels: not abnormal
    assert heart["pointing_game_abnormal"] == 1.0 and heart["energy_share_abnormal"] == pytest.approx(0.5)
    assert heart["chance_abnormal"] == pytest.approx(0.1)
    aorta = table.loc["aorta"]
    assert aorta["abnormal_films"] == 0 and np.isnan(aorta["pointing_game_abnormal"])
