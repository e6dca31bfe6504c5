"""Heatmap target layers: which layer's activations a CAM weighs, for a given input size.

The registry gives each architecture its candidates (shallow to deep, the deepest its own choice).
At the paper's input sizes the choice has maps of 7×7 or finer; on small films (the 64-128 px demo
and tests) it shrinks to 2×2, so :func:`target_layer` takes the deepest candidate whose map still
has ``min_side`` cells. Networks outside the registry (and plain modules) use every module with a
spatial output as a candidate.
"""

from __future__ import annotations

import torch
from torch import nn

from cxr_regions.models.network import RegionNet
from cxr_regions.models.registry import arch_entry


def gradcam_target_layer(model: RegionNet) -> nn.Module:
    """The layer whose activations Grad-CAM weighs at the paper's sizes: the last convolutional stage.

    AlexNet/VGG: the last ReLU before the final max-pool (13×13 / 14×14 maps at 227 px);
    ResNet: the last block of ``layer4``; DenseNet: the final norm of ``features``;
    other networks: their last ``Conv2d``.
    """
    return arch_entry(model.spec.arch).heatmap_layer(model.net)


def target_layer(model: nn.Module, size: int = 224, min_side: int = 4) -> nn.Module:
    """The deepest heatmap candidate of ``model`` whose map is at least ``min_side`` cells per side
    for a ``size``×``size`` input (the architecture's own choice where it is; if no candidate is that
    fine, the choice anyway)."""
    candidates: list[nn.Module] | None = None
    preferred: nn.Module | None = None
    if isinstance(model, RegionNet):
        entry = arch_entry(model.spec.arch)
        if entry.target_layers is not None:
            candidates = entry.target_layers(model.net)
        preferred = entry.heatmap_layer(model.net)
    maps = feature_map_sides(model, size, candidates)
    if not maps:
        raise ValueError(f"{type(model).__name__} has no spatial feature map for a heatmap")
    modules = [m for m, _ in maps]
    if preferred is None or not any(m is preferred for m in modules):
        preferred = modules[-1]
    last = max(i for i, m in enumerate(modules) if m is preferred)
    if maps[last][1] >= min_side:
        return preferred
    earlier = [m for m, side in maps[:last] if side >= min_side]
    return earlier[-1] if earlier else preferred


def feature_map_sides(
    model: nn.Module, size: int, modules: list[nn.Module] | None = None
) -> list[tuple[nn.Module, int]]:
    """Each module (of ``modules``, default all) with a spatial output larger than 1×1, in order of
    completion, with its map's smaller side, from one forward pass of a blank ``size``×``size`` film."""
    seen: list[tuple[nn.Module, int]] = []

    def hook(module: nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor) and output.dim() == 4 and min(output.shape[-2:]) > 1:
            seen.append((module, int(min(output.shape[-2:]))))

    watched = modules if modules is not None else [m for m in model.modules() if m is not model]
    handles = [m.register_forward_hook(hook) for m in watched]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, size, size, device=next(model.parameters()).device))
    finally:
        for h in handles:
            h.remove()
    return seen
