"""The model factory: a network with one logit per label and its input conversion inside, so that
every model takes films as float ``B×1×H×W`` in ``[0, 1]``.

Architectures: the paper's four networks (:data:`ARCHS`) and any other torchvision classification
model with a linear classifier, ``timm:NAME`` (:mod:`cxr_regions.models.timm_backbones`) and
``hf:REPO`` (:mod:`cxr_regions.models.hf_encoders`); where each keeps its first convolution,
classifier and heatmap layers comes from :mod:`cxr_regions.models.registry`. Initialisations:
``scratch`` (the library's own random init), ``imagenet`` (torchvision weight enums, see
:mod:`cxr_regions.models.weights`, or timm's), ``chestx14:PATH`` (a pretraining run of this
package), ``txv:NAME`` (:mod:`cxr_regions.models.txv_weights`) and ``hf:REPO``. Every start records
its :class:`~cxr_regions.models.provenance.Provenance`. Nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any, cast

import torch
import torchvision
from safetensors.torch import load_file
from torch import nn
from torchvision.models import get_model

from cxr_regions.errors import UserError
from cxr_regions.extras import require_extra
from cxr_regions.models import weights as weights_mod
from cxr_regions.models.hf_encoders import build_encoder
from cxr_regions.models.network import ModelSpec, RegionNet
from cxr_regions.models.registry import PAPER_ARCHS, arch_entry
from cxr_regions.models.starts import (
    Start,
    find_start,
)
from cxr_regions.models.timm_backbones import build_timm
from cxr_regions.models.txv_weights import txv_arch

log = logging.getLogger(__name__)

ARCHS: tuple[str, ...] = PAPER_ARCHS
"""The paper's four networks (§3)."""

INIT_KINDS: tuple[str, ...] = ("scratch", "imagenet", "chestx14", "txv", "hf")

INIT_HELP = (
    "use scratch, imagenet, chestx14:PATH (a `cxr-regions pretrain` run), txv:NAME (torchxrayvision's "
    "chest-X-ray weights, e.g. txv:densenet121-res224-nih) or hf:REPO (a transformers vision encoder, "
    "e.g. hf:microsoft/rad-dino)"
)


def available_archs() -> list[str]:
    """Every torchvision classification model name (the paper's four first); ``timm:NAME`` and
    ``hf:REPO`` names are accepted too (see :func:`check_arch`)."""
    others = sorted(set(torchvision.models.list_models(module=torchvision.models)) - set(ARCHS))
    return [*ARCHS, *others]


def parse_init(init: str) -> tuple[str, Any]:
    """Split an ``--init`` value into its kind and argument: ``scratch`` / ``imagenet`` (no argument),
    ``chestx14:PATH`` (a path), ``txv:NAME`` (torchxrayvision's weight name), ``hf:REPO`` (a repository
    id or folder)."""
    kind, _, rest = init.partition(":")
    kind = kind.strip().lower()
    if kind not in INIT_KINDS:
        raise UserError(f"unknown --init {init!r}: {INIT_HELP}")
    if kind in ("chestx14", "txv", "hf") and not rest:
        needs = {
            "chestx14": "the pretraining run: chestx14:PATH, where PATH is a `cxr-regions pretrain` run "
            "folder or its model.safetensors",
            "txv": "torchxrayvision's weight name: txv:NAME, e.g. txv:densenet121-res224-nih",
            "hf": "the encoder's repository: hf:REPO, e.g. hf:microsoft/rad-dino (or a local folder)",
        }
        raise UserError(f"--init {kind} needs {needs[kind]}")
    if kind == "chestx14":
        return kind, Path(rest).expanduser()
    if kind in ("txv", "hf"):
        return kind, rest.strip()
    if rest:
        raise UserError(f"--init {kind} takes no path (got {init!r})")
    return kind, None


def default_arch(init: str) -> str:
    """The network an ``--init`` implies when ``--arch`` is not given: torchxrayvision's weights name
    theirs, a transformers encoder is its own; otherwise the paper's best, DenseNet-121."""
    kind, value = parse_init(init)
    if kind == "txv":
        return txv_arch(value)
    if kind == "hf":
        return f"hf:{value}"
    return "densenet121"


def check_arch(arch: str) -> None:
    """Refuse an unknown architecture name before anything is built."""
    if arch.startswith("timm:"):
        arch_entry(arch)  # names the supported timm families
        return
    if arch.startswith("hf:"):
        if not arch.removeprefix("hf:").strip():
            raise UserError("--arch hf: needs the encoder's repository, e.g. hf:microsoft/rad-dino")
        return
    _check_arch(arch)


def require_start_extras(arch: str, init: str, command: str) -> None:
    """Stop before any work where the library a starting point needs is not installed: ``timm:NAME``
    networks need the ``timm`` extra, ``--init txv:NAME`` the ``txv`` one, ``hf:REPO`` encoders the
    ``hf`` one (:func:`cxr_regions.extras.require_extra`, naming ``command`` and the option)."""
    kind, _ = parse_init(init)
    if kind in ("txv", "hf"):
        require_extra(kind, f"{command} --init {init}")
    if arch.startswith("timm:"):
        require_extra("timm", f"{command} --arch {arch}")
    elif arch.startswith("hf:"):
        require_extra("hf", f"{command} --arch {arch}")


def _check_pairing(arch: str, kind: str, value: Any, weights: Any) -> None:
    """Refuse an architecture and initialisation that do not go together."""
    if kind == "txv":
        theirs = txv_arch(value)
        if arch != theirs:
            raise UserError(f"txv:{value} holds {theirs} weights; use --arch {theirs} (or leave --arch out)")
    if kind == "hf" and arch != f"hf:{value}":
        raise UserError(
            f"--init hf:{value} builds its own encoder; leave --arch out (or use --arch hf:{value})"
        )
    if arch.startswith("hf:") and kind in ("scratch", "imagenet"):
        raise UserError(f"{arch} starts from its own weights: use --init {arch}")
    if weights is not None and kind not in ("imagenet", "txv", "hf"):
        raise UserError(
            "--weights only applies to --init imagenet, txv:NAME or hf:REPO "
            "(a local copy of their published weights)"
        )


def resolve_resize(native: int | None, size: int, upsample: bool | None, what: str) -> int | None:
    """The side the model resizes its input to: ``None`` unless the weights were made for larger
    films than the ``size`` px crops and the user chose ``--upsample``. Where they were and the user
    chose nothing, a :class:`UserError` explains the two choices: never silently."""
    if not native or size >= native:
        return None
    if upsample is None:
        raise UserError(
            f"{what} was made for {native}-px films, but this model would see {size}-px crops. Choose: "
            f"--upsample (each crop is resized to {native} px inside the model: the scale the weights know, "
            f"with interpolated detail) or --no-upsample (use them at {size} px, a scale they were not "
            f"trained at); or build the dataset at --size {native} or more"
        )
    return native if upsample else None


def _check_arch(arch: str) -> None:
    if arch not in torchvision.models.list_models(module=torchvision.models):
        raise UserError(
            f"unknown architecture {arch!r}: use one of the paper's {', '.join(ARCHS)}, another torchvision "
            "classification model name (e.g. resnet18, efficientnet_b0), timm:NAME (e.g. timm:convnext_tiny) "
            "or hf:REPO (with --init hf:REPO)"
        )


def _one_channel_conv(conv: nn.Conv2d, pretrained: bool) -> nn.Conv2d:
    """The first convolution for grey films: pretrained RGB filters summed over R, G, B (a grey
    film seen as three equal channels gives the same response); a scratch model keeps its own
    random init (the first input channel's slice)."""
    # torch types a Conv2d's own kernel_size etc. as tuple[int, ...]; they are pairs
    geometry: dict[str, Any] = {
        "kernel_size": conv.kernel_size,
        "stride": conv.stride,
        "padding": conv.padding,
        "dilation": conv.dilation,
    }
    new = nn.Conv2d(
        1,
        conv.out_channels,
        **geometry,
        groups=conv.groups,
        bias=conv.bias is not None,
        padding_mode=conv.padding_mode,
    )
    if conv.weight.is_meta:  # weights still to come from a checkpoint
        return new
    with torch.no_grad():
        weight = conv.weight.sum(dim=1, keepdim=True) if pretrained else conv.weight[:, :1].clone()
        new.weight.copy_(weight)
        if conv.bias is not None and new.bias is not None:  # made with a bias when conv has one
            new.bias.copy_(conv.bias)
    return new


def create_model(
    arch: str,
    num_classes: int,
    init: str = "scratch",
    weights: Path | str | None = None,
    input_size: int | None = None,
    upsample: bool | None = None,
) -> RegionNet:
    """Build ``arch`` with ``num_classes`` logits, taking one-channel films in ``[0, 1]``.

    ``arch``: a torchvision name, ``timm:NAME`` or ``hf:REPO``. ``init``: ``scratch``, ``imagenet``
    (torchvision's or timm's, from their caches or the local file ``weights``), ``chestx14:PATH`` (the
    backbone of a pretraining run, loaded strictly; its input conversion is kept), ``txv:NAME``
    (torchxrayvision's weights, converted once to safetensors) or ``hf:REPO`` (a transformers
    encoder). ``input_size`` overrides the crop side (e.g. 64 px for demos). ``upsample``: what to do
    where the weights were made for larger films than the crops (see :func:`resolve_resize`).
    """
    check_arch(arch)
    entry = arch_entry(arch)
    if num_classes < 1:
        raise UserError(f"num_classes must be at least 1, got {num_classes}")
    kind, value = parse_init(init)
    _check_pairing(arch, kind, value, weights)
    size = int(input_size or entry.input_size)
    if size < entry.min_input_size:
        raise UserError(f"{arch} needs an input of at least {entry.min_input_size} px, got {size}")
    start = find_start(arch, kind, value, weights)
    resize_to = resolve_resize(start.native_size, size, upsample, init)
    library = (
        "timm" if arch.startswith("timm:") else "transformers" if arch.startswith("hf:") else "torchvision"
    )
    if library == "torchvision":
        net, first_conv, head, report = _torchvision_net(arch, num_classes, kind, start)
        config = None
    elif library == "timm":
        net, names = build_timm(
            arch, num_classes, resize_to or size, start.file if kind == "imagenet" else None
        )
        first_conv, head, config = names["first_conv"], names["head"], None
        report = {"source": start.source, "missing": [], "unexpected": []} if kind == "imagenet" else {}
    else:
        folder = start.folder if kind == "hf" else None
        net, config = build_encoder(num_classes, folder, start.backbone_config, repo=arch[3:])
        first_conv, head = "", "head"
        report = {"source": start.source, "missing": [], "unexpected": []} if kind == "hf" else {}
    spec = ModelSpec(
        arch=arch,
        num_classes=num_classes,
        input_size=size,
        mean=start.mean,
        std=start.std,
        init=kind,
        init_source=start.source,
        head=head,
        first_conv=first_conv,
        library=library,
        in_channels=start.in_channels,
        native_size=start.native_size,
        resize_to=resize_to,
        backbone_config=config,
    )
    model = RegionNet(net, spec)
    if kind == "chestx14":
        report = weights_mod.load_chestx14_backbone(model, value)
    elif kind == "txv":
        state = load_file(str(start.file))
        head_keys = {k for k in state if k.startswith(f"{head}.")}
        source = cast(Path, start.file)  # a txv start's converted weights file
        report = weights_mod.load_backbone(model.net, state, head_keys, source, arch)
    unloaded = [name for name, t in model.state_dict().items() if t.is_meta]
    if unloaded:
        raise UserError(f"{init} left {len(unloaded)} tensors without weights, e.g. {unloaded[:3]}")
    model.init_report = report
    model.provenance = start.provenance.to_dict()
    return model


def _torchvision_net(
    arch: str, num_classes: int, kind: str, start: Start
) -> tuple[nn.Module, str, str, dict]:
    """A torchvision network with a one-channel first convolution and a new classifier; ImageNet
    weights loaded (others are loaded into the whole model by the caller)."""
    entry = arch_entry(arch)
    # Pretrained weights replace the random init, so such networks are built without one (meta device).
    with torch.device("meta" if kind != "scratch" else "cpu"):
        net = get_model(arch, weights=None)
    first_conv, head = entry.first_conv_name(net), entry.head_name(net)
    report: dict[str, Any] = {}
    if kind == "imagenet":
        state, source = weights_mod.imagenet_state_dict(arch, start.file)
        weights_mod.load_strict(net, state, what=f"ImageNet weights {source}")
        report = {"source": str(source), "loaded": len(state), "missing": [], "unexpected": []}
    net.set_submodule(first_conv, _one_channel_conv(net.get_submodule(first_conv), kind != "scratch"))
    old_head = net.get_submodule(head)
    net.set_submodule(head, nn.Linear(old_head.in_features, num_classes))
    return net, first_conv, head, report


def model_from_spec(spec: ModelSpec, empty: bool = False) -> RegionNet:
    """An untrained model with ``spec``'s shape and input conversion, for weights loaded by the caller.

    ``empty``: the network's tensors are left unallocated (meta device) instead of randomly
    initialised — much faster for the large networks; load them with ``load_state_dict(..., assign=True)``.
    """
    if spec.library == "timm":
        net, _ = build_timm(spec.arch, spec.num_classes, spec.resize_to or spec.input_size, empty=empty)
        return RegionNet(net, spec)
    if spec.library == "transformers":
        if not spec.backbone_config:
            raise UserError(f"the model description of {spec.arch} holds no encoder configuration")
        net, _ = build_encoder(spec.num_classes, config=spec.backbone_config, repo=spec.arch[3:])
        return RegionNet(net, spec)

    _check_arch(spec.arch)
    with torch.device("meta" if empty else "cpu"):
        net = get_model(spec.arch, weights=None)
        entry = arch_entry(spec.arch)
        first_conv = spec.first_conv or entry.first_conv_name(net)
        head = spec.head or entry.head_name(net)
        net.set_submodule(first_conv, _one_channel_conv(net.get_submodule(first_conv), pretrained=False))
        net.set_submodule(head, nn.Linear(net.get_submodule(head).in_features, spec.num_classes))
    return RegionNet(net, dataclasses.replace(spec, head=head, first_conv=first_conv))
