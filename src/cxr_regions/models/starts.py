"""What an initialisation provides before its network is built: the input conversion its weights
expect, where the weights are on this machine, and their provenance. Finding them downloads nothing;
a missing file stops here, before any network is built or any film is read."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from cxr_regions.models import weights as weights_mod
from cxr_regions.models.provenance import Provenance, inherits, sha256_file

IMAGENET_MEAN = sum((0.485, 0.456, 0.406)) / 3
IMAGENET_STD = sum((0.229, 0.224, 0.225)) / 3
"""torchvision's ImageNet normalisation collapsed to one channel (the mean over R, G, B)."""

SCRATCH_MEAN = 0.5
SCRATCH_STD = 0.25
"""Fixed normalisation for models trained from scratch: maps a typical film's [0, 1] range to about ±2."""


@dataclasses.dataclass
class Start:
    """What an initialisation provides before the network is built: its input conversion, where
    its weights are, and their provenance."""

    mean: float | list[float]
    std: float | list[float]
    provenance: Provenance
    source: str | None = None
    in_channels: int = 1
    native_size: int | None = None
    file: Path | None = None
    folder: Path | None = None
    backbone_config: dict[str, Any] | None = None
    """The encoder configuration of a ``chestx14:`` checkpoint made from an ``hf:`` encoder."""


def find_start(arch: str, kind: str, value: Any, weights: Path | str | None) -> Start:
    """Find the weights of an initialisation (nothing is downloaded) and what they expect."""
    if kind == "scratch":
        return Start(
            SCRATCH_MEAN,
            SCRATCH_STD,
            Provenance(library="cxr-regions", weights="random initialisation (seeded)"),
        )
    if kind == "txv":
        from cxr_regions.models.txv_weights import TXV_MEAN, TXV_STD, converted_weights, txv_resolution

        file, provenance = converted_weights(value, weights)
        return Start(
            TXV_MEAN, TXV_STD, provenance, f"txv:{value}", native_size=txv_resolution(value), file=file
        )
    if kind == "hf":
        from cxr_regions.models import hf_encoders

        folder = hf_encoders.local_folder(value, weights)
        mean, std, native = hf_encoders.processor_input(folder)
        provenance = hf_encoders.provenance(value, folder)
        return Start(mean, std, provenance, str(folder), len(mean), native, folder=folder)
    if kind == "chestx14":
        info = weights_mod.read_checkpoint_info(value, arch)
        weights_path, _ = weights_mod.resolve_checkpoint(value)
        provenance = inherits(
            Provenance(
                library="cxr-regions",
                weights=f"pretraining run {weights_path.parent.name}",
                file=str(weights_path),
                sha256=sha256_file(weights_path),
            ),
            info.provenance,
        )
        return Start(
            info.mean,
            info.std,
            provenance,
            str(value),
            info.in_channels,
            info.native_size,
            backbone_config=info.backbone_config,
        )
    if arch.startswith("timm:"):
        from cxr_regions.models.timm_backbones import imagenet_start

        file, timm_mean, timm_std, provenance = imagenet_start(arch.removeprefix("timm:"), weights)
        return Start(timm_mean, timm_std, provenance, str(file), file=file)
    enum, path = weights_mod.imagenet_weights_path(arch, weights)
    provenance = Provenance(
        library="torchvision",
        weights=str(enum),
        library_version=_torchvision_version(),
        file=str(path),
        sha256=sha256_file(path),
        intended_use="ImageNet classification weights published with torchvision (natural images).",
    )
    return Start(IMAGENET_MEAN, IMAGENET_STD, provenance, str(path), file=path)


def _torchvision_version() -> str:
    import torchvision

    return torchvision.__version__
