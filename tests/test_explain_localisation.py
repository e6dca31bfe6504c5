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
