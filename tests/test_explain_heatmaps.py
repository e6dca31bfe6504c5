"""Heatmaps come back at the film's size, in [0, 1], and where the evidence is."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cxr_regions.errors import UserError
from cxr_regions.explain.heatmaps import (
    METHODS,
    compute_heatmaps,
    fit_frame,
    min_map_side,
    target_layer,
    unframe,
)
from cxr_regions.regions import REGION_KEYS


class BrightSpotNet(nn.Module):
    """Logit k grows with the film's brightness (k even) or darkness (k odd): a model whose evidence
    for the even labels is known to be wherever the film is bright."""

    def __init__(self, num_classes: int = len(REGION_KEYS)) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, kernel_size=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.head = nn.Linear(2, num_classes)
        with torch.no_grad():
            self.features[0].weight.copy_(torch.tensor([1.0, -1.0]).view(2, 1, 1, 1))
            self.features[0].bias.copy_(torch.tensor([0.0, 1.0]))
            rows = [[1.0, 0.0] if k % 2 == 0 else [0.0, 1.0] for k in range(num_classes)]
            self.head.weight.copy_(torch.tensor(rows))
            self.head.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)).flatten(1))


@pytest.fixture(scope="module")
def spot_film() -> np.ndarray:
    """A dark 120×200 film (not square, so the padding must be undone) with one bright spot."""
    film = np.full((120, 200), 20, dtype=np.uint8)
    film[20:36, 150:170] = 255
    return film


@pytest.mark.parametrize("method", ["gradcam", "gradcam++"])
def test_heatmaps_have_the_films_size_values_in_unit_range_and_peak_at_the_evidence(spot_film, method):
    torch.manual_seed(0)
    result = compute_heatmaps(BrightSpotNet(), spot_film, REGION_KEYS, method=method, frame_size=64)
    assert set(result.heatmaps) == set(REGION_KEYS)
    for heat in result.heatmaps.values():
        assert heat.shape == spot_film.shape
        assert heat.dtype == np.float32
        assert heat.min() >= 0.0 and heat.max() <= 1.0
    bright = result.heatmaps[REGION_KEYS[0]]
    row, col = np.unravel_index(np.argmax(bright), bright.shape)
    assert 14 <= row <= 42 and 144 <= col <= 176, (row, col)
    assert bright[20:36, 150:170].mean() > 5 * bright[80:, :100].mean()
    assert all(0.0 < p < 1.0 for p in result.probabilities.values())


def test_a_centre_crop_model_gets_zero_heat_in_the_border_it_never_sees():
    film = np.full((64, 64), 20, dtype=np.uint8)
    film[28:36, 28:36] = 255
    result = compute_heatmaps(BrightSpotNet(), film, REGION_KEYS, regions=["thorax"], frame_size=64, crop=48)
    heat = result.heatmaps["thorax"]
    assert heat.shape == (64, 64)
    assert heat[:6].max() == 0.0 and heat[:, -6:].max() == 0.0  # 8-px border, less interpolation
    assert np.unravel_index(np.argmax(heat), heat.shape) in {
        (r, c) for r in range(27, 37) for c in range(27, 37)
    }


def test_regions_subset_and_unknown_region(spot_film):
    net = BrightSpotNet()
    result = compute_heatmaps(net, spot_film, REGION_KEYS, regions=["heart"], frame_size=64)
    assert list(result.heatmaps) == ["heart"]
    assert set(result.probabilities) == set(REGION_KEYS)
    with pytest.raises(UserError, match="no output for spleen"):
        compute_heatmaps(net, spot_film, REGION_KEYS, regions=["spleen"], frame_size=64)
    with pytest.raises(UserError, match="unknown heatmap method"):
        compute_heatmaps(net, spot_film, REGION_KEYS, method="magic", frame_size=64)


def test_every_offered_method_runs(spot_film):
    net = BrightSpotNet()
    for method in METHODS:
        heat = compute_heatmaps(net, spot_film, REGION_KEYS, regions=["thorax"], method=method, frame_size=32)
        assert heat.heatmaps["thorax"].shape == spot_film.shape, method


def test_frame_round_trip_keeps_geometry():
    film = np.zeros((90, 30), dtype=np.float32)
    film[10, 5] = 1.0
    framed, frame = fit_frame(film, 60)
    assert framed.shape == (60, 60)
    assert (frame.height, frame.width) == (60, 20) and frame.left == 20
    back = unframe(framed, frame, film.shape)
    assert back.shape == film.shape
    assert np.unravel_index(np.argmax(back), back.shape) == (10, 5)


def test_fallback_target_layer_is_the_last_feature_map():
    net = BrightSpotNet()
    assert target_layer(net, 16) is net.features


def test_target_layer_is_the_architectures_own_at_paper_size_and_earlier_on_small_films():
    from cxr_regions.models import create_model, gradcam_target_layer

    model = create_model("resnet18", len(REGION_KEYS))
    assert target_layer(model, 224) is gradcam_target_layer(model)  # layer4: 7×7 at 224 px
    assert target_layer(model, 64) is model.net.layer3  # 64 px: layer4 is 2×2, layer3 4×4
    assert target_layer(model, 64, min_map_side("layercam")) is model.net.layer2  # 8×8
    assert target_layer(model, 128, min_map_side("layercam")) is model.net.layer3
