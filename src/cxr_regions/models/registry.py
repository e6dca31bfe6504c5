"""The architecture registry: what the factory and the heatmaps need to know about each network.

One :class:`ArchEntry` per family (in the spirit of timm's model registry): where its first
convolution and its classifier sit, its paper input size and the smallest input it accepts, and its
heatmap target layers. :func:`arch_entry` finds a name's entry — exact name first, then the family
patterns — and falls back to :data:`GENERIC`, which searches any other torchvision classification
model for a three-channel first convolution and a last linear layer.

Names of other libraries: ``timm:NAME`` is looked up by the timm module that defines the model
(:data:`TIMM_FAMILIES`): CNNs offer the stages of timm's own ``feature_info`` as heatmap layers,
ViT-style models their token grid (:class:`cxr_regions.models.network.TokenGrid`); ``hf:REPO``
encoders are ViT-style too. Any other timm family is refused before training, naming the supported ones.
"""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from torch import nn

from cxr_regions.errors import UserError
from cxr_regions.extras import require_extra

PAPER_ARCHS: tuple[str, ...] = ("alexnet", "vgg16", "resnet34", "densenet121")
"""The paper's four networks (§3)."""


@dataclass(frozen=True)
class ArchEntry:
    """How to adapt one family of torchvision networks.

    ``first_conv`` / ``head``: dotted module paths of the first convolution (made one-channel) and of
    the classifier layer (replaced by one logit per label); ``None`` searches the network (the first
    ``Conv2d`` with three input channels; the last ``Linear``). ``input_size``: the paper's crop of a
    256-px film. ``min_input_size``: the smallest square input the network accepts.
    ``target_layers``: the heatmap candidates, shallow to deep, the last being the architecture's own
    choice; ``None``: every module with a spatial output is a candidate and the last ``Conv2d`` is the
    choice.
    """

    name: str
    patterns: tuple[str, ...]
    first_conv: str | None = None
    head: str | None = None
    input_size: int = 224
    min_input_size: int = 1
    target_layers: Callable[[nn.Module], list[nn.Module]] | None = None

    def matches(self, arch: str) -> bool:
        return any(fnmatch.fnmatchcase(arch, p) for p in self.patterns)

    def first_conv_name(self, net: nn.Module) -> str:
        """Path of the first convolution in ``net``."""
        if self.first_conv is not None:
            return self.first_conv
        for name, module in net.named_modules():
            if isinstance(module, nn.Conv2d) and module.in_channels == 3:
                return name
        raise UserError(
            f"{type(net).__name__} has no 3-channel first convolution to turn into a one-channel input"
        )

    def head_name(self, net: nn.Module) -> str:
        """Path of the classifier layer in ``net``."""
        if self.head is not None:
            return self.head
        linears = [name for name, module in net.named_modules() if isinstance(module, nn.Linear)]
        if not linears:
            raise UserError(
                f"{type(net).__name__} has no linear classifier layer to replace; choose another architecture"
            )
        return linears[-1]

    def heatmap_layer(self, net: nn.Module) -> nn.Module:
        """The architecture's own heatmap layer: its deepest candidate, or the last ``Conv2d``."""
        if self.target_layers is not None:
            return self.target_layers(net)[-1]
        convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
        if not convs:
            raise ValueError(f"{type(net).__name__} has no convolution for a heatmap")
        return convs[-1]


def _block_ends(net: nn.Module) -> list[nn.Module]:
    """AlexNet/VGG: the ReLU that ends each convolutional block (the one before each max-pool)."""
    features = list(cast(nn.Sequential, net.features))
    return [
        m
        for m, after in itertools.pairwise(features)
        if isinstance(m, nn.ReLU) and isinstance(after, nn.MaxPool2d)
    ]


def _resnet_stages(net: nn.Module) -> list[nn.Module]:
    """ResNet: ``layer1``..``layer3`` and the last block of ``layer4``."""
    layers = [cast(nn.Sequential, getattr(net, f"layer{i}")) for i in (1, 2, 3, 4)]
    return [*layers[:3], layers[3][-1]]


def _densenet_stages(net: nn.Module) -> list[nn.Module]:
    """DenseNet: the dense blocks before the last, then the final norm of ``features``."""
    features = cast(nn.Sequential, net.features)
    blocks = [m for name, m in features.named_children() if name.startswith("denseblock")]
    return [*blocks[:-1], features[-1]]


GENERIC = ArchEntry(name="torchvision", patterns=("*",))
"""Any other torchvision classification model: layers found by searching the network."""

_REGISTRY: dict[str, ArchEntry] = {}


def register_arch(entry: ArchEntry) -> ArchEntry:
    """Add (or replace) a family's entry; later entries are matched first."""
    _REGISTRY[entry.name] = entry
    return entry


for _entry in (
    ArchEntry(
        "alexnet",
        ("alexnet",),
        first_conv="features.0",
        head="classifier.6",
        input_size=227,
        min_input_size=63,  # measured: its three max-pools need 63 px
        target_layers=_block_ends,
    ),
    ArchEntry(
        "vgg",
        ("vgg*",),
        first_conv="features.0",
        head="classifier.6",
        input_size=227,
        min_input_size=32,
        target_layers=_block_ends,
    ),
    ArchEntry(
        "resnet",
        ("resnet*", "resnext*", "wide_resnet*"),
        first_conv="conv1",
        head="fc",
        min_input_size=32,
        target_layers=_resnet_stages,
    ),
    ArchEntry(
        "densenet",
        ("densenet*",),
        first_conv="features.conv0",
        head="classifier",
        min_input_size=32,
        target_layers=_densenet_stages,
    ),
):
    register_arch(_entry)


def _timm_stages(net: nn.Module) -> list[nn.Module]:
    """timm CNNs: the modules of timm's ``feature_info`` (one per reduction), shallow to deep."""
    feature_info: Any = net.feature_info  # timm's FeatureInfo
    return [net.get_submodule(info["module"]) for info in feature_info]


def _token_grid(net: nn.Module) -> list[nn.Module]:
    """ViT-style models: the patch tokens entering the last block, as a grid (``net.token_grid``)."""
    return [cast(nn.Module, net.token_grid)]


TIMM_CNN = ArchEntry("timm-cnn", ("timm:*",), min_input_size=32, target_layers=_timm_stages)
TIMM_VIT = ArchEntry("timm-vit", ("timm:*",), min_input_size=16, target_layers=_token_grid)
HF_VIT = ArchEntry("hf-vit", ("hf:*",), min_input_size=16, target_layers=_token_grid)

TIMM_FAMILIES: dict[str, ArchEntry] = {
    "resnet": TIMM_CNN,
    "densenet": TIMM_CNN,
    "convnext": TIMM_CNN,
    "efficientnet": TIMM_CNN,
    "regnet": TIMM_CNN,
    "vision_transformer": TIMM_VIT,
}
"""timm's model modules (``timm.models.<module>``) that ``--arch timm:NAME`` supports, and how."""

SUPPORTED_TIMM = (
    "CNNs with a spatial feature map (timm's resnet, densenet, convnext, efficientnet and regnet "
    "families, e.g. timm:resnet10t, timm:convnext_tiny, timm:efficientnet_b0, timm:regnety_002) and "
    "ViT-style models with a patch grid (timm's vision_transformer family, e.g. timm:vit_small_patch16_224, "
    "timm:vit_small_patch14_dinov2)"
)


def timm_family(name: str) -> str:
    """The timm module defining model ``name`` (``convnext`` for ``convnext_tiny``), checked to be
    supported: an unknown or unsupported name is a :class:`UserError` naming what is supported."""
    require_extra("timm", f"--arch timm:{name}")
    # here: timm is an optional extra (timm), checked for just above
    import timm

    if not timm.is_model(name):
        raise UserError(
            f'timm has no model {name!r}; list them with python -c "import timm; '
            f"print(timm.list_models('{name.split('_')[0]}*'))\". Supported: {SUPPORTED_TIMM}"
        )
    family = timm.models.model_entrypoint(name).__module__.rsplit(".", 1)[-1]
    if family not in TIMM_FAMILIES:
        raise UserError(
            f"timm:{name} is a timm {family} model, which is not supported; use one of {SUPPORTED_TIMM}"
        )
    return family


def arch_entry(arch: str) -> ArchEntry:
    """The entry for an architecture name: its family's, else :data:`GENERIC`."""
    if arch.startswith("timm:"):
        return TIMM_FAMILIES[timm_family(arch.removeprefix("timm:"))]
    if arch.startswith("hf:"):
        return HF_VIT
    for entry in reversed(_REGISTRY.values()):
        if entry.matches(arch):
            return entry
    return GENERIC


def input_size(arch: str) -> int:
    """The paper's crop of a 256-px film: 227 for AlexNet and VGG, 224 for ResNet, DenseNet and others."""
    return arch_entry(arch).input_size


def min_input_size(arch: str) -> int:
    """The smallest square input ``arch`` accepts (1 where unknown)."""
    return arch_entry(arch).min_input_size


MIN_INPUT_SIZES: dict[str, int] = {a: min_input_size(a) for a in PAPER_ARCHS}
"""Smallest square input of each paper network (see :func:`min_input_size` for any name).

AlexNet and VGG16 end in an adaptive average pool, so any size from these up works; low-resolution
tests and demos use 56-64 px crops (AlexNet: 64 px)."""
