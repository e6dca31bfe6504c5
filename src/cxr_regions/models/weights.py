"""Loading pretrained weights: ImageNet through torchvision's weight enums (never downloaded here),
and the backbone of a ChestX-ray14 pretraining run (``model.safetensors`` + ``model.json``).

Every load is strict: a key that is missing, unexpected or of the wrong shape stops with a message
listing them, except the classifier layer that is replaced on purpose.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cxr_regions.contracts.run_folder import WEIGHTS_FILE, ModelInfo
from cxr_regions.errors import UserError
from cxr_regions.models.network import RegionNet

log = logging.getLogger(__name__)

INFO_FILE = ModelInfo.FILE

# torchvision's DenseNet checkpoints still use the old layer names ``norm.1`` etc.
_LEGACY_DENSENET_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
)


def imagenet_weights_file(arch: str) -> tuple[Any, str, Path]:
    """The torchvision weight enum for ``arch``, its file name, and where the cache would hold it."""
    from torchvision.models import get_model_weights

    try:
        enum = get_model_weights(arch).DEFAULT
    except (ValueError, KeyError, AttributeError):
        raise UserError(f"torchvision has no ImageNet weights for {arch}; use --init scratch") from None
    file_name = Path(enum.url).name
    return enum, file_name, Path(torch.hub.get_dir()) / "checkpoints" / file_name


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A flat state dict from a ``.safetensors`` file or a torch ``.pth`` file (loaded weights-only)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(
            f"cannot read weights from {path}: {exc}. Expected a state dict (.pth/.safetensors)"
        ) from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"{path} does not hold a state dict of tensors")
    return state


def imagenet_weights_path(arch: str, weights: Path | str | None = None) -> tuple[Any, Path]:
    """torchvision's weight enum for ``arch`` and the local file holding it: ``weights`` when given,
    else the file in the torch hub cache. Nothing is downloaded: a missing file is a
    :class:`UserError` naming the file and the two ways to supply it."""
    enum, file_name, cached = imagenet_weights_file(arch)
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise UserError(f"--weights {path}: no such file (expected {file_name}, torchvision {enum})")
        return enum, path
    if not cached.is_file():
        raise UserError(
            f"ImageNet weights for {arch} are not on this machine: {file_name} (torchvision {enum}) "
            f"was not found in {cached.parent}. Nothing is downloaded: place {file_name} in "
            f"$TORCH_HOME/hub/checkpoints or pass --weights PATH."
        )
    return enum, cached


def imagenet_state_dict(arch: str, weights: Path | str | None = None) -> tuple[dict[str, torch.Tensor], Path]:
    """torchvision's ImageNet state dict for ``arch``: from ``weights`` when given, else from the cache."""
    _, path = imagenet_weights_path(arch, weights)
    state = read_state_dict(path)
    for key in list(state):
        match = _LEGACY_DENSENET_KEY.match(key)
        if match:
            state[match.group(1) + match.group(2)] = state.pop(key)
    return state, path


def load_strict(net: nn.Module, state: dict[str, torch.Tensor], what: str) -> None:
    """``net.load_state_dict(state)`` strictly, turning a mismatch into a readable :class:`UserError`."""
    try:
        net.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as exc:
        raise UserError(f"{what} do not fit the network: {_shorten(str(exc))}") from None


def resolve_checkpoint(path: Path | str) -> tuple[Path, Path]:
    """``(model.safetensors, model.json)`` for a run folder or a path to its ``model.safetensors``."""
    path = Path(path).expanduser()
    weights = path / WEIGHTS_FILE if path.is_dir() else path
    info = weights.with_name(INFO_FILE)
    for needed in (weights, info):
        if not needed.is_file():
            raise UserError(
                f"pretraining checkpoint incomplete: {needed} not found. Pass a `cxr-regions pretrain` "
                f"run folder, or its {WEIGHTS_FILE} with {INFO_FILE} beside it"
            )
    return weights, info


def read_checkpoint_info(path: Path | str, arch: str) -> ModelInfo:
    """The ``model.json`` of a pretraining checkpoint, refusing one made for another architecture."""
    _, info_path = resolve_checkpoint(path)
    info = ModelInfo.read(info_path)
    if info.arch != arch:
        raise UserError(
            f"{info_path} describes a {info.arch} model; a {arch} cannot start from it. "
            f"Use --arch {info.arch}, or pretrain a {arch} first"
        )
    return info


def load_backbone(
    target: nn.Module, state: dict[str, torch.Tensor], head_keys: set[str], source: Path | str, arch: str
) -> dict[str, Any]:
    """Load every tensor of ``state`` except the classifier's (``head_keys``) into ``target``.

    Returns the report saved in ``model.json``: the source, how many tensors were loaded, and the
    keys left out (the classifier), missing or unexpected (the last two must be empty, or it stops).
    """
    backbone = {k: v for k, v in state.items() if k not in head_keys}
    try:
        result = target.load_state_dict(backbone, strict=False, assign=True)
    except RuntimeError as exc:
        raise UserError(f"{source} does not fit {arch}: {_shorten(str(exc))}") from None
    missing = sorted(set(result.missing_keys) - head_keys)
    unexpected = sorted(result.unexpected_keys)
    if missing or unexpected:
        raise UserError(
            f"{source} does not match the {arch} backbone: "
            f"missing keys {_preview(missing)}; unexpected keys {_preview(unexpected)}"
        )
    log.info(
        "loaded %d backbone tensors from %s; classifier newly initialised; no missing or unexpected keys",
        len(backbone),
        source,
    )
    return {
        "source": str(source),
        "loaded": len(backbone),
        "replaced_head": sorted(k for k in state if k in head_keys),
        "missing": missing,
        "unexpected": unexpected,
    }


def load_chestx14_backbone(model: RegionNet, path: Path | str) -> dict[str, Any]:
    """Load every weight of a pretraining checkpoint except its classifier layer into ``model``."""
    from safetensors.torch import load_file

    weights_path, _ = resolve_checkpoint(path)
    return load_backbone(
        model, load_file(str(weights_path)), set(model.head_keys()), weights_path, model.spec.arch
    )


def _preview(keys: list[str], limit: int = 8) -> str:
    if not keys:
        return "none"
    more = f" … and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(keys[:limit]) + more


def _shorten(message: str, limit: int = 1500) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[:limit] + " …"
