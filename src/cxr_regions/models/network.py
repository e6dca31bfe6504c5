"""What a built model is: :class:`RegionNet` (a torchvision network behind a fixed one-channel
normalisation) and :class:`ModelSpec` (everything besides its weights, saved as ``model.json``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from cxr_regions.contracts.run_folder import ModelInfo


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
    def from_info(cls, info: ModelInfo) -> ModelSpec:
        """The network's part of a run's ``model.json``."""
        return cls(**{f.name: getattr(info, f.name) for f in dataclasses.fields(cls)})


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
