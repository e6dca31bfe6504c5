"""The model factory: a torchvision network with one-channel input, one logit per label, and its
normalisation inside, so that every model takes films as float ``B×1×H×W`` in ``[0, 1]``.

The paper's four networks are :data:`ARCHS`; any other torchvision classification model with a
linear classifier works by name too. Initialisations: ``scratch`` (torchvision's own random init),
``imagenet`` (torchvision weight enums, see :mod:`cxr_regions.models.weights`) and
``chestx14:PATH`` (a pretraining run of this package).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cxr_regions.errors import UserError

log = logging.getLogger(__name__)

ARCHS: tuple[str, ...] = ("alexnet", "vgg16", "resnet34", "densenet121")
"""The paper's four networks (§3)."""

INIT_KINDS: tuple[str, ...] = ("scratch", "imagenet", "chestx14")

_PAPER_INPUT_SIZES = {"alexnet": 227, "vgg16": 227, "resnet34": 224, "densenet121": 224}
_DEFAULT_INPUT_SIZE = 224

MIN_INPUT_SIZES = {"alexnet": 63, "vgg16": 32, "resnet34": 32, "densenet121": 32}
"""Smallest square input each paper network accepts (measured; AlexNet's three max-pools need 63 px).

AlexNet and VGG16 end in an adaptive average pool, so any size from these up works; low-resolution
tests and demos use 56-64 px crops (AlexNet: 64 px)."""

IMAGENET_MEAN = sum((0.485, 0.456, 0.406)) / 3
IMAGENET_STD = sum((0.229, 0.224, 0.225)) / 3
"""torchvision's ImageNet normalisation collapsed to one channel (the mean over R, G, B)."""

SCRATCH_MEAN = 0.5
SCRATCH_STD = 0.25
"""Fixed normalisation for models trained from scratch: maps a typical film's [0, 1] range to about ±2."""

# Where each paper network keeps its first convolution and its classifier.
_FIRST_CONV = {
    "alexnet": "features.0",
    "vgg16": "features.0",
    "resnet34": "conv1",
    "densenet121": "features.conv0",
}
_HEAD = {"alexnet": "classifier.6", "vgg16": "classifier.6", "resnet34": "fc", "densenet121": "classifier"}


@dataclass(frozen=True)
class ModelSpec:
    """What a model needs besides its weights: saved in ``model.json`` beside the weights."""

    arch: str
    num_classes: int
    input_size: int
    mean: float
    std: float
    init: str = "scratch"
    init_source: str | None = None
    head: str = ""
    first_conv: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


class RegionNet(nn.Module):
    """A torchvision network (``.net``) behind a fixed one-channel normalisation.

    ``forward`` takes float ``B×1×H×W`` films in ``[0, 1]`` and returns logits ``B×num_classes``.
    The normalisation constants are buffers that are not saved in the state dict: ``.spec`` holds them.
    """

    def __init__(self, net: nn.Module, spec: ModelSpec) -> None:
        super().__init__()
        self.net = net
        self.spec = spec
        self.init_report: dict[str, Any] = {}
        self.register_buffer("mean", torch.tensor(spec.mean, dtype=torch.float32), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std, dtype=torch.float32), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)

    @property
    def head(self) -> nn.Linear:
        """The classifier layer (one logit per label)."""
        return self.net.get_submodule(self.spec.head)

    def head_keys(self) -> list[str]:
        """State-dict keys of the classifier layer (left out when loading a pretraining checkpoint)."""
        prefix = f"net.{self.spec.head}."
        return [k for k in self.state_dict() if k.startswith(prefix)]


def input_size(arch: str) -> int:
    """The paper's crop size: 227 for AlexNet and VGG16, 224 for ResNet34, DenseNet121 and others."""
    return _PAPER_INPUT_SIZES.get(arch, _DEFAULT_INPUT_SIZE)


def available_archs() -> list[str]:
    """Every torchvision classification model name (the paper's four first)."""
    import torchvision

    others = sorted(set(torchvision.models.list_models(module=torchvision.models)) - set(ARCHS))
    return [*ARCHS, *others]


def parse_init(init: str) -> tuple[str, Path | None]:
    """Split ``scratch`` / ``imagenet`` / ``chestx14:PATH`` into kind and path."""
    kind, _, rest = init.partition(":")
    kind = kind.strip().lower()
    if kind not in INIT_KINDS:
        raise UserError(f"unknown --init {init!r}: use scratch, imagenet or chestx14:PATH")
    if kind == "chestx14":
        if not rest:
            raise UserError(
                "--init chestx14 needs the pretraining run: chestx14:PATH, where PATH is a "
                "`cxr-regions pretrain` run folder or its model.safetensors"
            )
        return kind, Path(rest).expanduser()
    if rest:
        raise UserError(f"--init {kind} takes no path (got {init!r})")
    return kind, None


def _check_arch(arch: str) -> None:
    import torchvision

    if arch not in torchvision.models.list_models(module=torchvision.models):
        raise UserError(
            f"unknown architecture {arch!r}: use one of the paper's {', '.join(ARCHS)} "
            "or another torchvision classification model name (e.g. resnet18, efficientnet_b0)"
        )


def _find_first_conv(arch: str, net: nn.Module) -> str:
    if arch in _FIRST_CONV:
        return _FIRST_CONV[arch]
    for name, module in net.named_modules():
        if isinstance(module, nn.Conv2d) and module.in_channels == 3:
            return name
    raise UserError(f"{arch} has no 3-channel first convolution to turn into a one-channel input")


def _find_head(arch: str, net: nn.Module) -> str:
    if arch in _HEAD:
        return _HEAD[arch]
    linears = [name for name, module in net.named_modules() if isinstance(module, nn.Linear)]
    if not linears:
        raise UserError(f"{arch} has no linear classifier layer to replace; choose another architecture")
    return linears[-1]


def _one_channel_conv(conv: nn.Conv2d, pretrained: bool) -> nn.Conv2d:
    """The first convolution for grey films: pretrained RGB filters summed over R, G, B (a grey
    film seen as three equal channels gives the same response); a scratch model keeps its own
    random init (the first input channel's slice)."""
    new = nn.Conv2d(
        1,
        conv.out_channels,
        kernel_size=conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
    )
    if conv.weight.is_meta:  # weights still to come from a checkpoint
        return new
    with torch.no_grad():
        weight = conv.weight.sum(dim=1, keepdim=True) if pretrained else conv.weight[:, :1].clone()
        new.weight.copy_(weight)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new


def create_model(
    arch: str,
    num_classes: int,
    init: str = "scratch",
    weights: Path | str | None = None,
    input_size: int | None = None,
) -> RegionNet:
    """Build ``arch`` with ``num_classes`` logits and one-channel input.

    ``init``: ``scratch``, ``imagenet`` (from ``$TORCH_HOME/hub/checkpoints`` or the local file
    ``weights``) or ``chestx14:PATH`` (the backbone of a pretraining run, loaded strictly; its
    normalisation is kept). ``input_size`` overrides the paper's crop size (e.g. for 64 px demos).
    """
    from torchvision.models import get_model

    from cxr_regions.models import weights as weights_mod

    _check_arch(arch)
    if num_classes < 1:
        raise UserError(f"num_classes must be at least 1, got {num_classes}")
    kind, path = parse_init(init)
    if weights is not None and kind != "imagenet":
        raise UserError("--weights is the local ImageNet weights file: it only applies to --init imagenet")
    size = int(input_size or _PAPER_INPUT_SIZES.get(arch, _DEFAULT_INPUT_SIZE))
    if arch in MIN_INPUT_SIZES and size < MIN_INPUT_SIZES[arch]:
        raise UserError(f"{arch} needs an input of at least {MIN_INPUT_SIZES[arch]} px, got {size}")

    # Pretrained weights replace the random init, so such networks are built without one (meta device).
    with torch.device("meta" if kind != "scratch" else "cpu"):
        net = get_model(arch, weights=None)
    first_conv, head = _find_first_conv(arch, net), _find_head(arch, net)
    report: dict[str, Any] = {}
    if kind == "imagenet":
        state, source = weights_mod.imagenet_state_dict(arch, weights)
        weights_mod.load_strict(net, state, what=f"ImageNet weights {source}")
        mean, std, init_source = IMAGENET_MEAN, IMAGENET_STD, str(source)
        report = {"source": str(source), "loaded": len(state), "missing": [], "unexpected": []}
    elif kind == "chestx14":
        assert path is not None
        info = weights_mod.read_checkpoint_info(path, arch)
        mean, std, init_source = float(info["mean"]), float(info["std"]), str(path)
    else:
        mean, std, init_source = SCRATCH_MEAN, SCRATCH_STD, None

    net.set_submodule(first_conv, _one_channel_conv(net.get_submodule(first_conv), kind != "scratch"))
    old_head = net.get_submodule(head)
    net.set_submodule(head, nn.Linear(old_head.in_features, num_classes))
    spec = ModelSpec(
        arch=arch,
        num_classes=num_classes,
        input_size=size,
        mean=mean,
        std=std,
        init=kind,
        init_source=init_source,
        head=head,
        first_conv=first_conv,
    )
    model = RegionNet(net, spec)
    if kind == "chestx14":
        assert path is not None
        report = weights_mod.load_chestx14_backbone(model, path)
    unloaded = [name for name, t in model.state_dict().items() if t.is_meta]
    if unloaded:
        raise UserError(f"{init} left {len(unloaded)} tensors without weights, e.g. {unloaded[:3]}")
    model.init_report = report
    return model


def model_from_spec(spec: ModelSpec, empty: bool = False) -> RegionNet:
    """An untrained model with ``spec``'s shape and normalisation, for weights loaded by the caller.

    ``empty``: the network's tensors are left unallocated (meta device) instead of randomly
    initialised — much faster for the large networks; load them with ``load_state_dict(..., assign=True)``.
    """
    from torchvision.models import get_model

    _check_arch(spec.arch)
    with torch.device("meta" if empty else "cpu"):
        net = get_model(spec.arch, weights=None)
        first_conv = spec.first_conv or _find_first_conv(spec.arch, net)
        head = spec.head or _find_head(spec.arch, net)
        net.set_submodule(first_conv, _one_channel_conv(net.get_submodule(first_conv), pretrained=False))
        net.set_submodule(head, nn.Linear(net.get_submodule(head).in_features, spec.num_classes))
    return RegionNet(net, dataclasses.replace(spec, head=head, first_conv=first_conv))


def gradcam_target_layer(model: RegionNet) -> nn.Module:
    """The layer whose activations Grad-CAM weighs: the last convolutional stage of the backbone.

    AlexNet/VGG16: the last ReLU before the final max-pool (13×13 / 14×14 maps at 227 px);
    ResNet: the last block of ``layer4``; DenseNet: the final norm of ``features``;
    other networks: their last ``Conv2d``.
    """
    net, arch = model.net, model.spec.arch
    if arch in ("alexnet", "vgg16"):
        relus = [m for m in net.features if isinstance(m, nn.ReLU)]
        return relus[-1]
    if hasattr(net, "layer4"):
        return net.layer4[-1]
    if arch.startswith("densenet"):
        return net.features[-1]
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    return convs[-1]
