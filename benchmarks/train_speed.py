"""Training speed (films per second) of the paper's networks at their input sizes.

Self-contained: synthetic one-channel films and labels, no dataset needed. Each measurement runs the
full training step of the recipe (forward, BCE over five logits, backward, Adam step) a few times after
warm-up steps and prints one line.

    python benchmarks/train_speed.py            # CPU, the four networks, batch 16, fp32
    python benchmarks/train_speed.py --gpu      # + CUDA: bf16-mixed, channels-last, batch 16 and 128
    python benchmarks/train_speed.py --archs resnet34 --batch-sizes 16,32 --steps 10
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import time

import torch

from cxr_regions.models import ARCHS, create_model


def measure(
    arch: str, batch: int, device: torch.device, steps: int, warmup: int, bf16: bool, size: int | None
) -> tuple[float, float, int]:
    """Films/s of ``steps`` timed training steps, the seconds they took, and the input side."""
    model = create_model(arch, 5, "scratch", input_size=size).to(device).train()
    side = model.spec.input_size
    channels_last = device.type == "cuda"
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    generator = torch.Generator(device="cpu").manual_seed(0)
    x = torch.rand(batch, 1, side, side, generator=generator).to(device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = (torch.rand(batch, 5, generator=generator) < 0.3).float().to(device)
    autocast = (
        torch.autocast(device_type=device.type, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    )

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            logits = model(x)
        loss_fn(logits.float(), y).backward()
        optimizer.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    seconds = time.perf_counter() - start
    return batch * steps / seconds, seconds, side


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--archs", default=",".join(ARCHS), help="comma-separated torchvision names")
    parser.add_argument("--batch-sizes", default="16", help="CPU batch sizes (comma-separated)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per CPU measurement")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    parser.add_argument("--input-size", type=int, default=None, help="override the paper's input sizes")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--no-cpu", action="store_true", help="skip the CPU measurements")
    parser.add_argument("--gpu", action="store_true", help="also measure on CUDA (bf16-mixed, channels-last)")
    parser.add_argument("--gpu-batch-sizes", default="16,128", help="GPU batch sizes (comma-separated)")
    parser.add_argument("--gpu-steps", type=int, default=20, help="timed steps per GPU measurement")
    parser.add_argument("--gpu-warmup", type=int, default=5, help="untimed GPU steps (cuDNN autotuning)")
    args = parser.parse_args()

    if args.threads:
        torch.set_num_threads(args.threads)
    archs = [a for a in args.archs.split(",") if a]
    print(
        f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, {torch.get_num_threads()} threads, load {os.getloadavg()[0]:.2f}"
    )
    if not args.no_cpu:
        cpu = torch.device("cpu")
        for arch in archs:
            for batch in _ints(args.batch_sizes):
                rate, seconds, side = measure(
                    arch, batch, cpu, args.steps, args.warmup, False, args.input_size
                )
                print(
                    f"cpu  {arch:12s} {side}px batch {batch:4d} fp32  {rate:9.1f} films/s"
                    f"  ({args.steps} steps, {seconds:.1f} s)",
                    flush=True,
                )
    if args.gpu:
        if not torch.cuda.is_available():
            print("# --gpu: no CUDA device here; skipped")
            return
        gpu = torch.device("cuda")
        torch.backends.cudnn.benchmark = True
        print(f"# {torch.cuda.get_device_name(gpu)}, CUDA {torch.version.cuda}")
        for arch in archs:
            for batch in _ints(args.gpu_batch_sizes):
                rate, seconds, side = measure(
                    arch, batch, gpu, args.gpu_steps, args.gpu_warmup, True, args.input_size
                )
                print(
                    f"cuda {arch:12s} {side}px batch {batch:4d} bf16  {rate:9.1f} films/s"
                    f"  ({args.gpu_steps} steps, {seconds:.2f} s)",
                    flush=True,
                )
                torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
