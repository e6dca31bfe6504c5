"""timm's backbones as a starting point: ``--arch timm:NAME`` (ConvNeXt, EfficientNet, RegNet, ViT ...).

The network is ``timm.create_model(NAME, in_chans=1, num_classes=N)``; ViT-style models are built for
the crop side they will see (``img_size``). ``--init imagenet`` loads timm's pretrained weights from
a local safetensors file only — ``--weights FILE`` or the file timm would download, found in the
Hugging Face cache — and timm adapts them itself (RGB filters summed for one channel, position
embeddings resampled, classifier dropped). Nothing is downloaded.

Which timm families are supported, and their heatmap layers, is in :mod:`cxr_regions.models.registry`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from cxr_regions.errors import UserError
from cxr_regions.models.network import install_token_grid
from cxr_regions.models.provenance import RESEARCH_ONLY_LICENCES, Provenance, sha256_file
from cxr_regions.models.registry import TIMM_VIT, arch_entry


def timm_name(arch: str) -> str:
    """``timm:convnext_tiny`` -> ``convnext_tiny`` (checked to be a supported timm model)."""
    name = arch.removeprefix("timm:")
    arch_entry(arch)  # refuses unknown and unsupported names
    return name


def pretrained_cfg(name: str) -> Any:
    """timm's pretrained configuration of ``name`` (mean, std, file on the hub, licence...)."""
    import timm

    cfg = timm.models.get_pretrained_cfg(name)
    if cfg is None:
        raise UserError(f"timm publishes no pretrained weights for {name}; use --init scratch")
    return cfg


def weights_file(name: str, weights: Path | str | None = None) -> tuple[Path, str]:
    """The local safetensors file of timm's pretrained ``name`` and its hub id: ``weights`` when
    given, else the file in the Hugging Face cache. Missing: a :class:`UserError` naming the file,
    the cache folder and the download command."""
    from huggingface_hub import constants, try_to_load_from_cache

    cfg = pretrained_cfg(name)
    hub_id = cfg.hf_hub_id or ""
    file_name = cfg.hf_hub_filename or "model.safetensors"
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise UserError(
                f"--weights {path}: no such file (expected timm's {file_name} of {hub_id or name})"
            )
        if path.suffix != ".safetensors":
            raise UserError(
                f"--weights {path}: timm weights are read from safetensors files only (no pickles); "
                f"use {file_name} from the hub repository {hub_id or name}"
            )
        return path, hub_id
    if not hub_id:
        raise UserError(
            f"timm's weights for {name} are published as {cfg.url} only, not as safetensors; "
            "choose a model with weights on the Hugging Face hub, or pass --weights FILE.safetensors"
        )
    found = try_to_load_from_cache(hub_id, file_name)
    if not isinstance(found, str):
        raise UserError(
            f"ImageNet weights for timm:{name} are not on this machine: {file_name} of {hub_id} was not "
            f"found in the Hugging Face cache {constants.HF_HUB_CACHE}. Nothing is downloaded by "
            f"cxr-regions: run `hf download {hub_id} {file_name}` (huggingface_hub's command line), "
            "or pass --weights FILE"
        )
    return Path(found), hub_id


def one_channel(values: Any) -> float:
    """An RGB normalisation constant collapsed to the grey channel (the mean over R, G, B)."""
    return float(sum(values) / len(values))


def build_timm(
    arch: str, num_classes: int, size: int, file: Path | None = None, empty: bool = False
) -> tuple[nn.Module, dict[str, Any]]:
    """The timm network of ``arch`` with ``num_classes`` outputs and one input channel, for crops of
    ``size`` px; from ``file`` (timm's pretrained safetensors) when given, else randomly initialised
    (or left on the meta device with ``empty``). Also returns its first convolution and classifier names."""
    import timm

    name = timm_name(arch)
    kwargs: dict[str, Any] = {"in_chans": 1, "num_classes": num_classes}
    vit = arch_entry(arch) is TIMM_VIT
    if vit:
        kwargs["img_size"] = size
    net: Any  # a timm model: its attributes (pretrained_cfg, blocks, patch_embed) are timm's
    if file is not None:
        net = timm.create_model(name, pretrained=True, pretrained_cfg_overlay={"file": str(file)}, **kwargs)
    else:
        with torch.device("meta" if empty else "cpu"):
            net = timm.create_model(name, pretrained=False, **kwargs)
    cfg = net.pretrained_cfg
    head = cfg.get("classifier") or ""
    if isinstance(head, (list, tuple)) or not isinstance(net.get_submodule(head), nn.Linear):
        raise UserError(f"timm:{name} has no single linear classifier ({head!r}); choose another model")
    if vit:
        install_token_grid(net, net.blocks[-1], net.patch_embed.patch_size[0], net.num_prefix_tokens)
    return net, {"first_conv": cfg.get("first_conv") or "", "head": head}


def imagenet_start(name: str, weights: Path | str | None) -> tuple[Path, float, float, Provenance]:
    """What ``--init imagenet`` reads for ``timm:name``: the file, its one-channel normalisation
    and its provenance."""
    import timm

    path, hub_id = weights_file(name, weights)
    cfg = pretrained_cfg(name)
    licence = cfg.license
    provenance = Provenance(
        library="timm",
        library_version=timm.__version__,
        weights=hub_id or name,
        file=str(path),
        sha256=sha256_file(path),
        url=f"https://huggingface.co/{hub_id}" if hub_id else cfg.url,
        licence=licence,
        intended_use="ImageNet classification weights published with timm (natural images, not films).",
        research_only=str(licence or "").lower() in RESEARCH_ONLY_LICENCES,
    )
    return path, one_channel(cfg.mean), one_channel(cfg.std), provenance
