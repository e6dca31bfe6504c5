"""RegionNet and ModelSpec: normalisation inside the model, the head's keys, the spec's round trip."""

from __future__ import annotations

import torch
from torch import nn

from cxr_regions.contracts import ModelInfo
from cxr_regions.models import ModelSpec, RegionNet


def _tiny() -> RegionNet:
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))
    spec = ModelSpec(arch="tiny", num_classes=3, input_size=8, mean=0.5, std=0.25, head="3", first_conv="0")
    return RegionNet(net, spec)


def test_the_model_normalises_its_input_and_keeps_the_constants_out_of_the_state_dict():
    model = _tiny()
    seen = {}
    model.net[0].register_forward_hook(lambda m, i, o: seen.update(x=i[0]))
    model(torch.full((1, 1, 8, 8), 0.75))
    assert torch.allclose(seen["x"], torch.full((1, 1, 8, 8), 1.0))
    assert "mean" not in model.state_dict() and "std" not in model.state_dict()
    assert model.head is model.net[3]
    assert model.head_keys() == ["net.3.weight", "net.3.bias"]


def test_spec_round_trips_and_ignores_unknown_keys():
    spec = _tiny().spec
    assert ModelSpec.from_info(ModelInfo(**spec.to_dict(), label_names=["a", "b", "c"])) == spec
