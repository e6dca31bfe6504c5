"""Expected cost of each starting point on one GPU: an ESTIMATE from counted FLOPs.

For each starting point this counts the FLOPs of one film's forward pass with torch's
``FlopCounterMode`` (on the meta device: nothing is computed), takes a training step as three
forward passes (one where the encoder is frozen and only a linear head learns), then
turns them into films per second at an ASSUMED sustained bf16 throughput of a data-centre GPU
(``--assume-tflops LOW,HIGH``, default 100–300 TFLOP/s, an H100 class card), and into minutes per
epoch of ``--films`` training films. These are upper bounds: networks made of many small
operations (DenseNet-121) and rates of thousands of films per second are limited by per-operation
overhead and data loading, not FLOPs; ``benchmarks/gpu_check.py`` measures the real rates on a GPU.

    python benchmarks/starting_points_cost.py --films 5000
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def flops(model: nn.Module, side: int, channels: int = 1, train: bool = True) -> float:
    """FLOPs per film of one step at ``side`` px: the forward pass counted on the meta device (shapes
    only, nothing computed), times 3 where the network learns (forward + backward, the usual rule;
    counting the backward pass directly overcounts depthwise convolutions), times 1 where it is frozen."""
    x = torch.rand(2, channels, side, side, device="meta")
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() / 2 * (3 if train else 1)


def torchvision_net(arch: str) -> nn.Module:
    """A torchvision network with five outputs (its first convolution takes three channels: the
    one-channel version differs by a fraction of a percent of the FLOPs)."""
    import torchvision

    return torchvision.models.get_model(arch, num_classes=5)


def dinov2_b14(frozen: bool) -> nn.Module:
    """RAD-DINO's shape (DINOv2 ViT-B/14), random weights; frozen: only a linear head learns."""
    import transformers

    encoder = transformers.Dinov2Model(
        transformers.Dinov2Config(
            hidden_size=768, num_hidden_layers=12, num_attention_heads=12, patch_size=14
        )
    )
    if frozen:
        encoder.requires_grad_(False)
    head = nn.Linear(768, 5)
    return nn.Sequential(_Tokens(encoder), head)


class _Tokens(nn.Module):
    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(pixel_values=x).last_hidden_state[:, 0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--films", type=int, default=5000, help="Training films per epoch.")
    parser.add_argument("--assume-tflops", default="100,300", help="Sustained bf16 TFLOP/s, LOW,HIGH.")
    args = parser.parse_args()
    low, high = (float(v) for v in args.assume_tflops.split(","))
    import timm

    torch.set_default_device("meta")  # build the networks without allocating their weights
    rows: list[tuple[str, str, float]] = [
        (
            "scratch / imagenet / txv:densenet121-res224-*",
            "densenet121, 224 px",
            flops(torchvision_net("densenet121"), 224, 3),
        ),
        (
            "txv:resnet50-res512-all --upsample",
            "resnet50, 512 px",
            flops(torchvision_net("resnet50"), 512, 3),
        ),
        (
            "--arch timm:convnext_tiny",
            "convnext_tiny, 224 px",
            flops(timm.create_model("convnext_tiny", in_chans=1, num_classes=5), 224),
        ),
        (
            "--init hf:microsoft/rad-dino --freeze-backbone --no-upsample",
            "ViT-B/14 frozen, 224 px",
            flops(dinov2_b14(True), 224, 3, train=False),
        ),
        (
            "--init hf:microsoft/rad-dino --freeze-backbone --upsample",
            "ViT-B/14 frozen, 518 px",
            flops(dinov2_b14(True), 518, 3, train=False),
        ),
        (
            "… then --unfreeze-after N (fine-tuning)",
            "ViT-B/14 trained, 518 px",
            flops(dinov2_b14(False), 518, 3, train=True),
        ),
    ]
    print(f"ESTIMATE at {low:.0f}–{high:.0f} TFLOP/s sustained (not measured); {args.films} films per epoch")
    print("\n| starting point | network, input | GFLOP per film and step | films/s | s per epoch |")
    print("|---|---|---:|---:|---:|")
    for name, net, count in rows:
        fast, slow = high * 1e12 / count, low * 1e12 / count
        print(
            f"| `{name}` | {net} | {count / 1e9:.1f} | {slow:,.0f}–{fast:,.0f} | "
            f"{args.films / fast:.0f}–{args.films / slow:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
