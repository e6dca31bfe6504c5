"""Projected ChestX-ray14 pretraining time per architecture, as a Markdown table.

Time = films to process / films per second, with the films of the official split: 86,524 in
train_val_list.txt (about 90% train, 10% validation patients) and 25,596 in test_list.txt
(predicted once). A validation or test film costs about a third of a training film (forward only).

- ``--device cuda``: the rate is MEASURED there with ``benchmarks/train_speed.py``'s training step
  (bf16-mixed, channels-last, batch 16: what `pretrain` does by default on a GPU).
- ``--device cpu`` (the default): the rate is measured on this CPU, and a GPU rate is ESTIMATED from
  one training step counted on the CPU: its FLOPs (torch's FlopCounterMode) at an assumed sustained
  throughput (``--assume-tflops LOW,HIGH``), but never faster than its count of PyTorch operations
  at an assumed per-operation overhead (``--assume-op-us LOW,HIGH``; at batch 16, DenseNet121's
  3,500 small operations per step bound it, not its FLOPs). The table says which figures are estimates.

    python benchmarks/pretrain_time.py --threads 2
    python benchmarks/pretrain_time.py --device cuda --epochs 20
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import measure

from cxr_regions.models import ARCHS, create_model

TRAIN_VAL, TEST = 86_524, 25_596
VAL_SHARE = 0.1
FORWARD_SHARE = 1 / 3


class _OpCounter(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += 1
        return func(*args, **(kwargs or {}))


def count_step(arch: str) -> tuple[float, int]:
    """(FLOPs per film, PyTorch operations per step) of a training step at the paper's input size,
    with the multi-tensor Adam that PyTorch uses on a GPU."""
    model = create_model(arch, 14, "scratch")
    side = model.spec.input_size
    optimizer = torch.optim.Adam(model.parameters(), foreach=True)
    x, y = torch.rand(1, 1, side, side), torch.zeros(1, 14)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
        optimizer.step()

    step()
    with FlopCounterMode(display=False) as flops, _OpCounter() as ops:
        step()
    return float(flops.get_total_flops()), ops.ops


def hours(rate: float, epochs: int) -> tuple[float, float]:
    """(hours per epoch, hours for ``epochs`` epochs plus the test prediction) at ``rate`` films/s."""
    train = TRAIN_VAL * (1 - VAL_SHARE)
    per_epoch = (train + TRAIN_VAL * VAL_SHARE * FORWARD_SHARE) / rate
    total = epochs * per_epoch + TEST * FORWARD_SHARE / rate
    return per_epoch / 3600, total / 3600


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--archs", default=",".join(ARCHS))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--batch-size", type=int, default=16, help="GPU batch (pretrain's default: 16)")
    parser.add_argument("--cpu-batch-size", type=int, default=4, help="batch of the CPU measurement")
    parser.add_argument("--steps", type=int, default=2, help="timed steps (cuda: 20 are used at least)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of a whole run")
    parser.add_argument("--assume-tflops", default="20,60", help="sustained GPU TFLOP/s, low,high")
    parser.add_argument("--assume-op-us", default="5,15", help="GPU overhead per operation in µs, low,high")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    low, high = (float(v) * 1e12 for v in args.assume_tflops.split(","))
    op_fast, op_slow = (float(v) * 1e-6 for v in args.assume_op_us.split(","))
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    device = torch.device(args.device)
    if cuda:
        torch.backends.cudnn.benchmark = True
        where = f"{torch.cuda.get_device_name(device)}, bf16-mixed, batch {args.batch_size}: MEASURED"
    else:
        where = (
            f"CPU measured on {os.cpu_count()} cores, {torch.get_num_threads()} threads, load "
            f"{os.getloadavg()[0]:.1f}; GPU ESTIMATED for batch {args.batch_size} at {low / 1e12:.0f}-"
            f"{high / 1e12:.0f} TFLOP/s and {op_fast * 1e6:.0f}-{op_slow * 1e6:.0f} µs per operation"
        )
    print(f"# ChestX-ray14 pretraining time ({where}); a run = {args.epochs} epochs + test prediction\n")
    if cuda:
        print("| network | input | films/s | per epoch | whole run |")
        print("|---|---:|---:|---:|---:|")
    else:
        print(
            "| network | input | GFLOP per training film | ops per step | CPU films/s | CPU per epoch "
            "| GPU films/s (estimate) | GPU per epoch (estimate) | GPU whole run (estimate) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for arch in [a for a in args.archs.split(",") if a]:
        if cuda:
            rate, _, side = measure(arch, args.batch_size, device, max(args.steps, 20), 5, True, None)
            epoch_h, run_h = hours(rate, args.epochs)
            print(f"| {arch} | {side} | {rate:.0f} | {epoch_h * 60:.0f} min | {run_h:.1f} h |", flush=True)
            continue
        rate, _, side = measure(arch, args.cpu_batch_size, device, args.steps, 1, False, None)
        flops, ops = count_step(arch)
        batch = args.batch_size
        fast_rate = batch / max(batch * flops / high, ops * op_fast)
        slow_rate = batch / max(batch * flops / low, ops * op_slow)
        fast, slow = hours(fast_rate, args.epochs), hours(slow_rate, args.epochs)
        cpu_epoch_h = hours(rate, args.epochs)[0]
        print(
            f"| {arch} | {side} | {flops / 1e9:.1f} | {ops} | {rate:.2f} | {cpu_epoch_h:.0f} h | "
            f"{slow_rate:.0f}-{fast_rate:.0f} | {fast[0] * 60:.1f}-{slow[0] * 60:.1f} min | "
            f"{fast[1]:.1f}-{slow[1]:.1f} h |",
            flush=True,
        )


if __name__ == "__main__":
    main()
