"""Heatmap target layers: the architecture's own at paper sizes, an earlier stage on small films."""

from __future__ import annotations

import pytest
from torch import nn

from cxr_regions.models import create_model, feature_map_sides, gradcam_target_layer, target_layer
from helpers import one_torch_thread


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with one_torch_thread():
        yield


@pytest.mark.parametrize(
    ("arch", "size", "expected"),
    [
        ("resnet18", 224, "layer4.1"),
        ("resnet18", 64, "layer3"),
        ("alexnet", 227, "features.11"),
        ("alexnet", 64, "features.4"),
        ("vgg11", 227, "features.19"),
        ("densenet121", 224, "features.norm5"),
        ("densenet121", 64, "features.denseblock3"),
    ],
)
def test_deepest_candidate_with_a_4x4_map(arch, size, expected):
    model = create_model(arch, 5, input_size=size).eval()
    chosen = target_layer(model, size, 4)
    assert chosen is model.net.get_submodule(expected)
    if expected == {"resnet18": "layer4.1"}.get(arch) or size >= 224:
        assert chosen is gradcam_target_layer(model)
    side = dict(feature_map_sides(model, size, [chosen]))[chosen]
    assert side >= 4


def test_finer_maps_for_layercam_and_generic_networks():
    model = create_model("densenet121", 5, input_size=64).eval()
    assert target_layer(model, 64, 7) is model.net.features.denseblock2  # 8×8
    generic = create_model("shufflenet_v2_x0_5", 5, input_size=64).eval()
    assert target_layer(generic, 224, 4) is generic.net.conv5[0]  # its last convolution, 7×7
    chosen = target_layer(generic, 64, 4)  # conv5 is 2×2 at 64 px: an earlier map of 4×4
    assert dict(feature_map_sides(generic, 64))[chosen] == 4


def test_plain_modules_use_their_last_feature_map():
    net = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    assert target_layer(net, 16) is net[1]
    with pytest.raises(ValueError, match="no spatial feature map"):
        target_layer(nn.Sequential(nn.Flatten(), nn.Linear(16 * 16, 2)), 16)
