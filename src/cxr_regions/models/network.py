"""What a built model is: :class:`RegionNet` (a backbone network behind the fixed input conversion its
weights expect) and :class:`ModelSpec` (everything besides its weights, saved as ``model.json``).

Every model takes films as float ``B×1×H×W`` in ``[0, 1]``. What the weights expect is part of the
spec, so that ``evaluate``, ``explain`` and ``serve`` feed them exactly as training did: an optional
resize to the resolution the weights were made for (``resize_to``, only where the user asked to
upsample), the grey channel repeated where the network takes three (``in_channels``), and the
normalisation (``mean``/``std``, one value or one per channel).

Vision transformers have no spatial feature map for a class-activation heatmap. For them
:func:`install_token_grid` reshapes the patch tokens entering the last transformer block into their
``h×w`` grid inside :class:`TokenGrid` (the class and register tokens left out) and passes them on
unchanged: the grid is the heatmap layer. A CAM weighs it by the gradient of a region's logit,
which reaches the patch tokens through the last block's attention to the class token (the method of
pytorch-grad-cam's ViT tutorial, which hooks the last block's first norm: the same tokens, normalised).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

LIBRARIES: tuple[str, ...] = ("torchvision", "timm", "transformers")

if TYPE_CHECKING:
    from cxr_regions.contracts.run_folder import ModelInfo


@dataclass(frozen=True)
class ModelSpec:
    """What a model needs besides its weights: saved in ``model.json`` beside the weights.

    ``library`` builds the network (torchvision, timm or transformers); ``backbone_config`` is the
    transformers configuration of a ``hf:`` encoder (so that loading a run needs no hub cache).
    ``native_size``: the film side the pretrained weights were made for (``None``: any);
    ``resize_to``: the model resizes its input to this side first (set only by ``--upsample``).
    """

    arch: str
    num_classes: int
    input_size: int
    mean: float | list[float]
    std: float | list[float]
    init: str = "scratch"
    init_source: str | None = None
    head: str = ""
    first_conv: str = ""
    library: str = "torchvision"
    in_channels: int = 1
    native_size: int | None = None
    resize_to: int | None = None
    backbone_config: dict[str, Any] | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_info(cls, info: ModelInfo) -> ModelSpec:
        """The network's part of a run's ``model.json``."""
        return cls(**{f.name: getattr(info, f.name) for f in dataclasses.fields(cls)})


def _channel_constant(value: float | list[float], channels: int) -> torch.Tensor:
    """A normalisation constant shaped to broadcast over ``B×C×H×W`` (a scalar stays a scalar)."""
    if isinstance(value, (list, tuple)):
        if len(value) != channels:
            raise ValueError(f"{len(value)} normalisation values for {channels} input channels")
        return torch.tensor(value, dtype=torch.float32).view(1, channels, 1, 1)
    return torch.tensor(float(value), dtype=torch.float32)


class RegionNet(nn.Module):
    """A backbone network (``.net``) behind the input conversion its weights expect.

    ``forward`` takes float ``B×1×H×W`` films in ``[0, 1]`` and returns logits ``B×num_classes``.
    The normalisation constants are buffers that are not saved in the state dict: ``.spec`` holds them.
    ``provenance`` (where the weights came from) is saved in ``model.json`` by ``save_model``.
    """

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, net: nn.Module, spec: ModelSpec) -> None:
        super().__init__()
        self.net = net
        self.spec = spec
        self.init_report: dict[str, Any] = {}
        self.provenance: dict[str, Any] = {}
        self.register_buffer("mean", _channel_constant(spec.mean, spec.in_channels), persistent=False)
        self.register_buffer("std", _channel_constant(spec.std, spec.in_channels), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.spec.resize_to and x.shape[-1] != self.spec.resize_to:
            side = self.spec.resize_to
            x = nn.functional.interpolate(x, size=(side, side), mode="bilinear", antialias=True)
        if self.spec.in_channels != x.shape[1]:
            x = x.expand(-1, self.spec.in_channels, -1, -1)
        grid = getattr(self.net, "token_grid", None)
        if grid is not None:
            grid.side = (x.shape[-2] // grid.patch, x.shape[-1] // grid.patch)
        return self.net((x - self.mean) / self.std)

    @property
    def head(self) -> nn.Linear:
        """The classifier layer (one logit per label)."""
        return cast(nn.Linear, self.net.get_submodule(self.spec.head))

    def head_keys(self) -> list[str]:
        """State-dict keys of the classifier layer (left out when loading a pretraining checkpoint)."""
        prefix = f"net.{self.spec.head}."
        return [k for k in self.state_dict() if k.startswith(prefix)]

    def backbone_parameters(self) -> list[nn.Parameter]:
        """Every parameter but the classifier layer's (each once): what ``--freeze-backbone``
        freezes and ``--unfreeze-after`` trains again. Parameters the backbone never uses here
        (``net.unused_parameters``, e.g. a masked-pretraining token) are left out: they stay frozen."""
        head = self.spec.head
        unused = set(getattr(self.net, "unused_parameters", ()))
        return [
            param
            for name, param in self.net.named_parameters()
            if name not in unused and not name.startswith(head + ".")
        ]

    def freeze_backbone(self) -> None:
        """Train only the classifier layer (a linear probe): the backbone's parameters stop
        learning and its batch norms keep their running statistics (see :meth:`train`)."""
        for param in self.backbone_parameters():
            param.requires_grad = False
        self.train(self.training)

    def unfreeze_backbone(self) -> list[nn.Parameter]:
        """Let the backbone learn again (its batch norms too); returns its parameters."""
        params = self.backbone_parameters()
        for param in params:
            param.requires_grad = True
        self.train(self.training)
        return params

    def frozen_parameters(self) -> int:
        """How many parameters do not learn."""
        return sum(p.numel() for p in self.parameters() if not p.requires_grad)

    def train(self, mode: bool = True) -> RegionNet:
        """As ``nn.Module.train``, except that a frozen batch norm stays in eval mode: its running
        statistics are part of the frozen backbone, and evaluation must see the same features."""
        super().train(mode)
        if mode:
            for module in _frozen_batch_norms(self):
                module.eval()
        return self


def _frozen_batch_norms(model: nn.Module) -> Iterator[_BatchNorm]:
    for module in model.modules():
        params = list(module.parameters(recurse=False))
        if isinstance(module, _BatchNorm) and params and not any(p.requires_grad for p in params):
            yield module


class TokenGrid(nn.Module):
    """The patch tokens of a vision transformer as a ``B×C×h×w`` map: the heatmap layer of ViT-style
    models. Values pass through unchanged; ``side`` (``h, w``) is set by :class:`RegionNet` from the
    input's size and the ``patch`` side (a square grid is assumed where it was not set)."""

    def __init__(self, patch: int, prefix_tokens: int) -> None:
        super().__init__()
        self.patch = int(patch)
        self.prefix_tokens = int(prefix_tokens)
        self.side: tuple[int, int] = (0, 0)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h, w = self.side
        patches = tokens[:, self.prefix_tokens :]
        if patches.shape[1] != h * w:  # called outside RegionNet: a square input
            h = w = math.isqrt(patches.shape[1])
            if h * w != patches.shape[1]:
                raise ValueError(f"{patches.shape[1]} patch tokens form no square grid")
        return patches.transpose(1, 2).reshape(tokens.shape[0], tokens.shape[2], h, w)


def install_token_grid(model: nn.Module, last_block: nn.Module, patch: int, prefix_tokens: int) -> None:
    """Route the tokens entering ``last_block`` through a :class:`TokenGrid` (``model.token_grid``),
    so that a CAM can hook a spatial map; the block receives the very same tokens. ``model`` is the
    backbone network (``RegionNet.net``); the grid holds no weights, so its state dict is unchanged."""
    grid = TokenGrid(patch, prefix_tokens)
    model.token_grid = grid

    def through_grid(_module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args:
            tokens, rest = args[0], args[1:]
        else:
            tokens, rest = kwargs["hidden_states"], ()
        prefix = tokens[:, : grid.prefix_tokens]
        patches = grid(tokens).flatten(2).transpose(1, 2)
        tokens = torch.cat([prefix, patches], dim=1)
        if args:
            return (tokens, *rest), kwargs
        return args, {**kwargs, "hidden_states": tokens}

    last_block.register_forward_pre_hook(through_grid, with_kwargs=True)
