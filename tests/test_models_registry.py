"""The architecture registry: each family's layers, sizes and heatmap candidates, and the fallback."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torchvision.models import get_model

from cxr_regions.errors import UserError
from cxr_regions.models import ARCHS, MIN_INPUT_SIZES, ArchEntry, arch_entry, create_model, input_size
from cxr_regions.models.registry import GENERIC, min_input_size, register_arch


@pytest.mark.parametrize(
    ("arch", "family", "first_conv", "head", "size"),
    [
        ("alexnet", "alexnet", "features.0", "classifier.6", 227),
        ("vgg16", "vgg", "features.0", "classifier.6", 227),
        ("vgg11_bn", "vgg", "features.0", "classifier.6", 227),
        ("resnet34", "resnet", "conv1", "fc", 224),
        ("resnext50_32x4d", "resnet", "conv1", "fc", 224),
        ("densenet121", "densenet", "features.conv0", "classifier", 224),
        ("densenet169", "densenet", "features.conv0", "classifier", 224),
    ],
)
def test_families_name_their_layers_and_sizes(arch, family, first_conv, head, size):
    entry = arch_entry(arch)
    assert entry.name == family and input_size(arch) == size
    with torch.device("meta"):
        net = get_model(arch, weights=None)
    conv = net.get_submodule(entry.first_conv_name(net))
    assert isinstance(conv, nn.Conv2d) and conv.in_channels == 3 and entry.first_conv_name(net) == first_conv
    assert isinstance(net.get_submodule(entry.head_name(net)), nn.Linear) and entry.head_name(net) == head
    layers = entry.target_layers(net)
    assert len(layers) >= 3 and all(any(layer is m for m in net.modules()) for layer in layers)
    assert entry.heatmap_layer(net) is layers[-1]


def test_other_torchvision_models_fall_back_to_searching_the_network():
    entry = arch_entry("shufflenet_v2_x0_5")
    assert entry is GENERIC and entry.input_size == 224 and entry.min_input_size == 1
    net = get_model("shufflenet_v2_x0_5", weights=None)
    assert entry.first_conv_name(net) == "conv1.0" and entry.head_name(net) == "fc"
    assert entry.heatmap_layer(net) is net.conv5[0]  # the last convolution
    with pytest.raises(UserError, match="no linear classifier"):
        GENERIC.head_name(nn.Sequential(nn.Conv2d(3, 4, 3)))
    with pytest.raises(UserError, match="3-channel first convolution"):
        GENERIC.first_conv_name(nn.Sequential(nn.Conv2d(1, 4, 3)))


def test_smallest_inputs_are_the_measured_ones_and_enforced():
    assert MIN_INPUT_SIZES == {"alexnet": 63, "vgg16": 32, "resnet34": 32, "densenet121": 32}
    assert min_input_size("resnet18") == 32 and min_input_size("mobilenet_v3_small") == 1
    for arch in ARCHS:
        with torch.device("meta"):
            net = get_model(arch, weights=None).eval()
            net(torch.zeros(1, 3, MIN_INPUT_SIZES[arch], MIN_INPUT_SIZES[arch]))
    with pytest.raises(UserError, match="at least 32"):
        create_model("resnet18", 2, input_size=31)


def test_a_registered_family_is_found_by_its_pattern():
    entry = ArchEntry("test-mobilenet", ("mobilenet_v3_*",), head="classifier.3", input_size=200)
    register_arch(entry)
    try:
        assert arch_entry("mobilenet_v3_small") is entry
        model = create_model("mobilenet_v3_small", 3)
        assert model.spec.input_size == 200 and model.spec.head == "classifier.3"
    finally:
        from cxr_regions.models import registry

        del registry._REGISTRY[entry.name]
    assert arch_entry("mobilenet_v3_small") is GENERIC
