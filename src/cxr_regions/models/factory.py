"""The model factory: a torchvision network with one-channel input, one logit per label, and its
normalisation inside, so that every model takes films as float ``B×1×H×W`` in ``[0, 1]``.

The paper's four networks are :data:`ARCHS`; any other torchvision classification model with a
linear classifier works by name too. Where each network keeps its first convolution and classifier,
and its input sizes, come from :mod:`cxr_regions.models.registry`. Initialisations: ``scratch``
(torchvision's own random init), ``imagenet`` (torchvision weight enums, see
:mod:`cxr_regions.models.weights`) and ``chestx14:PATH`` (a pretraining run of this package).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cxr_regions.errors import UserError
from cxr_regions.models import weights as weights_mod
from cxr_regions.models.network import ModelSpec, RegionNet
from cxr_regions.models.registry import PAPER_ARCHS, arch_entry

log = logging.getLogger(__name__)

ARCHS: tuple[str, ...] = PAPER_ARCHS
"""The paper's four networks (§3)."""

INIT_KINDS: tuple[str, ...] = ("scratch", "imagenet", "chestx14")

IMAGENET_MEAN = sum((0.485, 0.456, 0.406)) / 3
IMAGENET_STD = sum((0.229, 0.224, 0.225)) / 3
"""torchvision's ImageNet normalisation collapsed to one channel (the mean over R, G, B)."""

SCRATCH_MEAN = 0.5
SCRATCH_STD = 0.25
"""Fixed normalisation for models trained from scratch: maps a typical film's [0, 1] range to about ±2."""


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

    _check_arch(arch)
    entry = arch_entry(arch)
    if num_classes < 1:
        raise UserError(f"num_classes must be at least 1, got {num_classes}")
    kind, path = parse_init(init)
    if weights is not None and kind != "imagenet":
        raise UserError("--weights is the local ImageNet weights file: it only applies to --init imagenet")
    size = int(input_size or entry.input_size)
    if size < entry.min_input_size:
        raise UserError(f"{arch} needs an input of at least {entry.min_input_size} px, got {size}")

    # Pretrained weights replace the random init, so such networks are built without one (meta device).
    with torch.device("meta" if kind != "scratch" else "cpu"):
        net = get_model(arch, weights=None)
    first_conv, head = entry.first_conv_name(net), entry.head_name(net)
    report: dict[str, Any] = {}
    if kind == "imagenet":
        state, source = weights_mod.imagenet_state_dict(arch, weights)
        weights_mod.load_strict(net, state, what=f"ImageNet weights {source}")
        mean, std, init_source = IMAGENET_MEAN, IMAGENET_STD, str(source)
        report = {"source": str(source), "loaded": len(state), "missing": [], "unexpected": []}
    elif kind == "chestx14":
        assert path is not None
        info = weights_mod.read_checkpoint_info(path, arch)
        mean, std, init_source = info.mean, info.std, str(path)
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
        entry = arch_entry(spec.arch)
        first_conv = spec.first_conv or entry.first_conv_name(net)
        head = spec.head or entry.head_name(net)
        net.set_submodule(first_conv, _one_channel_conv(net.get_submodule(first_conv), pretrained=False))
        net.set_submodule(head, nn.Linear(net.get_submodule(head).in_features, spec.num_classes))
    return RegionNet(net, dataclasses.replace(spec, head=head, first_conv=first_conv))
