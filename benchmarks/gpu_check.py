"""One prepared GPU check: on one CUDA GPU, in under five minutes, one table of throughputs.

Rows (films per second, 224-px crops of 256-px films, one input channel, five logits):

- training (bf16 autocast, batch 128, channels-last, Adam, BCE) of the paper's four networks
  (AlexNet and VGG16 at 227 px), of one timm model (``timm:convnext_tiny``) and of one ``hf:``
  encoder as a linear probe (a DINOv2 ViT-B/14, RAD-DINO's shape: ``transformers`` where installed,
  else timm's ``vit_base_patch14_dinov2``), all from random weights;
- the loader path feeding DenseNet-121: a packed uint8 memory-mapped array sliced by DataLoader
  workers, made float and augmented on the GPU (one ``grid_sample`` per batch: random crop,
  rotation within ±15°, brightness/contrast; never a flip), as a share of the model-only speed.
  It is the work ``train --augment-on device`` does, written here with torch alone: the package's
  own loader needs OpenCV and pandas, which a bare GPU machine may lack;
- batched inference as ``serve`` and ``evaluate`` run it (DenseNet-121, fp32, batch 64);
- one DDP training step across two processes, where two GPUs exist.

It imports only torch, torchvision and numpy (timm and transformers where installed), so that it
runs on a bare GPU machine with this file alone. Without CUDA it says so and exits 0;
``--cpu-smoke`` runs every row at toy sizes on the CPU to check the script itself (its figures
mean nothing).

    python benchmarks/gpu_check.py            # on the GPU machine
    python benchmarks/gpu_check.py --cpu-smoke
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torchvision
from torch import nn

PAPER = (("alexnet", 227), ("vgg16", 227), ("resnet34", 224), ("densenet121", 224))
DEADLINE_S = 270.0  # rows not started by then are reported as skipped (the budget is five minutes)
ROW_SECONDS = 10.0  # timed part of each row, after the warm-up


@dataclass
class Sizes:
    batch: int = 128
    infer_batch: int = 64
    film: int = 256
    warmup: int = 3
    max_steps: int = 40
    seconds: float = ROW_SECONDS
    loader_films: int = 4096


SMOKE = Sizes(batch=2, infer_batch=2, film=96, warmup=1, max_steps=1, seconds=0.0, loader_films=8)


def one_channel_five_logits(net: nn.Module) -> nn.Module:
    """The network with a one-channel first convolution and a five-logit last linear layer."""
    convs = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Conv2d) and m.in_channels == 3]
    if convs:
        name, conv = convs[0]
        net.set_submodule(
            name,
            nn.Conv2d(
                1, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None
            ),
        )
    linears = [(n, m) for n, m in net.named_modules() if isinstance(m, nn.Linear)]
    name, last = linears[-1]
    net.set_submodule(name, nn.Linear(last.in_features, 5))
    return net


class Probe(nn.Module):
    """A frozen encoder and a trained linear head on its class token (the ``hf:`` linear probe)."""

    def __init__(
        self, encoder: nn.Module, width: int, features: Callable[[torch.Tensor], torch.Tensor]
    ) -> None:
        super().__init__()
        self.encoder = encoder.requires_grad_(False)
        self.features = features
        self.head = nn.Linear(width, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.expand(-1, 3, -1, -1)))


def dinov2_probe(size: int) -> tuple[nn.Module, str]:
    """RAD-DINO's shape (DINOv2 ViT-B/14) as a linear probe, random weights."""
    try:
        from transformers import Dinov2Config, Dinov2Model

        encoder = Dinov2Model(
            Dinov2Config(
                hidden_size=768, num_hidden_layers=12, num_attention_heads=12, patch_size=14, image_size=size
            )
        )
        return Probe(
            encoder, 768, lambda x: encoder(pixel_values=x).last_hidden_state[:, 0]
        ), "transformers Dinov2Model"
    except ImportError:
        pass
    try:
        import timm

        encoder = timm.create_model("vit_base_patch14_dinov2", num_classes=0, img_size=size)
        return Probe(encoder, encoder.num_features, encoder), "timm vit_base_patch14_dinov2"
    except ImportError:
        raise ModuleNotFoundError("neither transformers nor timm is installed") from None


def rate(value: float) -> str:
    """Films per second as printed: whole numbers, two decimals below ten."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.2f}"


def timed(step: Callable[[], object], sizes: Sizes, films_per_step: int, sync: Callable[[], None]) -> float:
    """Films per second of ``step``: warm-up steps, then steps until ``sizes.seconds`` or ``max_steps``."""
    for _ in range(sizes.warmup):
        step()
    sync()
    start, steps = time.perf_counter(), 0
    while steps < sizes.max_steps and (steps == 0 or time.perf_counter() - start < sizes.seconds):
        step()
        steps += 1
    sync()
    return films_per_step * steps / (time.perf_counter() - start)


def train_step(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, device: torch.device
) -> Callable[[], None]:
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = loss_fn(model(x).float(), y)
        loss.backward()
        optimizer.step()

    return step


def prepared(model: nn.Module, device: torch.device) -> nn.Module:
    return model.to(device).to(memory_format=torch.channels_last).train()


def batch(sizes: Sizes, side: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.rand(sizes.batch, 1, side, side, device=device).contiguous(memory_format=torch.channels_last)
    return x, torch.randint(0, 2, (sizes.batch, 5), device=device).float()


def gpu_augment(films: torch.Tensor, crop: int, generator: torch.Generator) -> torch.Tensor:
    """uint8 B×S×S on the device -> float B×1×crop×crop views: random crop offset, rotation within
    ±15°, brightness ±0.1, contrast ×[0.9, 1.1]; areas rotated in from outside are black; no flip."""
    b, side = films.shape[0], films.shape[-1]
    device = films.device
    x = films[:, None].float().div_(255)
    angle = (torch.rand(b, generator=generator, device=device) * 2 - 1) * math.radians(15)
    scale = crop / side
    shift = (torch.rand(b, 2, generator=generator, device=device) * 2 - 1) * (1 - scale)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = nn.functional.affine_grid(theta, [b, 1, crop, crop], align_corners=False)
    views = nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mean = views.mean(dim=(1, 2, 3), keepdim=True)
    contrast = 1 + (torch.rand(b, 1, 1, 1, generator=generator, device=device) * 2 - 1) * 0.1
    bright = (torch.rand(b, 1, 1, 1, generator=generator, device=device) * 2 - 1) * 0.1
    return (
        ((views - mean) * contrast + mean + bright).clamp_(0, 1).contiguous(memory_format=torch.channels_last)
    )


class PackedFilms(torch.utils.data.Dataset):
    """A packed uint8 N×S×S array on disk, opened as a memory map in each worker."""

    def __init__(self, path: str, n: int, side: int) -> None:
        self.path, self.shape = path, (n, side, side)
        self._films: np.ndarray | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._films is None:
            self._films = np.memmap(self.path, dtype=np.uint8, mode="r", shape=self.shape)
        return torch.from_numpy(np.array(self._films[i])), torch.tensor([i % 2] * 5, dtype=torch.float32)


def loader_row(sizes: Sizes, device: torch.device, sync: Callable[[], None], model_only: float) -> str:
    """DenseNet-121 fed by the loader path, and its share of the model-only speed."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "films.u8")
        rng = np.random.default_rng(0)
        films = np.memmap(path, dtype=np.uint8, mode="w+", shape=(sizes.loader_films, sizes.film, sizes.film))
        for start in range(0, sizes.loader_films, 512):
            films[start : start + 512] = rng.integers(
                0, 256, films[start : start + 512].shape, dtype=np.uint8
            )
        films.flush()
        workers = min(8, os.cpu_count() or 1) if device.type == "cuda" else 0
        loader = torch.utils.data.DataLoader(
            PackedFilms(path, sizes.loader_films, sizes.film),
            batch_size=sizes.batch,
            shuffle=True,
            num_workers=workers,
            pin_memory=device.type == "cuda",
            persistent_workers=workers > 0,
            drop_last=True,
        )
        crop = 224 * sizes.film // 256
        model = prepared(one_channel_five_logits(torchvision.models.densenet121()), device)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        loss_fn = nn.BCEWithLogitsLoss()
        generator = torch.Generator(device=device).manual_seed(0)
        batches = iter(loader)

        def step() -> None:
            nonlocal batches
            try:
                u8, y = next(batches)
            except StopIteration:  # a new epoch
                batches = iter(loader)
                u8, y = next(batches)
            x = gpu_augment(u8.to(device, non_blocking=True), crop, generator)
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
                loss = loss_fn(model(x).float(), y.to(device, non_blocking=True))
            loss.backward()
            optimizer.step()

        speed = timed(step, sizes, sizes.batch, sync)
        share = f" ({speed / model_only:.0%} of model-only)" if model_only else ""
        return f"{rate(speed)}{share}; {workers} workers"


def ddp_worker(rank: int, world: int, port: int, sizes: Sizes, out: object) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("nccl", rank=rank, world_size=world)
    torch.cuda.set_device(rank)
    device = torch.device("cuda", rank)
    model = prepared(one_channel_five_logits(torchvision.models.densenet121()), device)
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[rank])
    x, y = batch(sizes, 224, device)
    speed = timed(train_step(ddp, x, y, device), sizes, sizes.batch * world, torch.cuda.synchronize)
    if rank == 0:
        out.put(speed)  # type: ignore[attr-defined]
    dist.destroy_process_group()


def ddp_row(sizes: Sizes) -> str:
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = mp.get_context("spawn")
    queue = context.SimpleQueue()
    mp.spawn(ddp_worker, args=(2, port, sizes, queue), nprocs=2, join=True)
    return f"{rate(queue.get())} (2 processes, DenseNet-121, batch {sizes.batch} each)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cpu-smoke", action="store_true", help="Run every row at toy sizes on the CPU.")
    args = parser.parse_args()
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    versions = f"torch {torch.__version__}, torchvision {torchvision.__version__}"
    versions += f", Python {platform.python_version()}"
    if not torch.cuda.is_available() and not args.cpu_smoke:
        print(f"gpu_check: no CUDA GPU on this machine ({versions}; load {load}): nothing measured.")
        return 0
    device = torch.device("cuda" if torch.cuda.is_available() and not args.cpu_smoke else "cpu")
    sizes = SMOKE if args.cpu_smoke else Sizes()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        name = torch.cuda.get_device_name(0)
    else:
        name = "CPU (smoke run: the figures mean nothing)"
        torch.set_num_threads(1)  # several threads on a busy CPU spin far slower than one
    began = time.perf_counter()
    rows: list[tuple[str, str]] = []
    speeds: dict[str, float] = {}

    def row(label: str, measure: Callable[[], str]) -> None:
        if time.perf_counter() - began > DEADLINE_S:
            rows.append((label, "skipped: time budget spent"))
            return
        try:
            rows.append((label, measure()))
        except Exception as exc:  # one row failing must not hide the others
            rows.append((label, f"failed: {type(exc).__name__}: {exc}"[:160]))
        finally:
            if device.type == "cuda":
                torch.cuda.empty_cache()
        print(f"  {label}: {rows[-1][1]}", file=sys.stderr, flush=True)

    def train_row(key: str, build: Callable[[], nn.Module], side: int) -> Callable[[], str]:
        def measure() -> str:
            model = prepared(build(), device)
            x, y = batch(sizes, side * sizes.film // 256, device)
            speeds[key] = timed(train_step(model, x, y, device), sizes, sizes.batch, sync)
            return rate(speeds[key])

        return measure

    for arch, side in PAPER:
        build = lambda arch=arch: one_channel_five_logits(torchvision.models.get_model(arch))  # noqa: E731
        crop = side * sizes.film // 256
        row(f"train {arch} (bf16, batch {sizes.batch}, {crop} px)", train_row(arch, build, side))
    try:
        import timm

        timm_build = lambda: timm.create_model("convnext_tiny", in_chans=1, num_classes=5)  # noqa: E731
        row(f"train timm:convnext_tiny (bf16, batch {sizes.batch})", train_row("convnext", timm_build, 224))
    except ImportError:
        rows.append(("train timm:convnext_tiny", "skipped: timm not installed"))
    probe_name: list[str] = []

    def probe() -> nn.Module:
        model, what = dinov2_probe(224 * sizes.film // 256)
        probe_name.append(what)
        return model

    row(f"train hf: DINOv2 ViT-B/14 linear probe (bf16, batch {sizes.batch})", train_row("probe", probe, 224))
    if probe_name:
        rows[-1] = (rows[-1][0] + f" [{probe_name[0]}]", rows[-1][1])
    row(
        "loader + GPU augmentation -> densenet121",
        lambda: loader_row(sizes, device, sync, speeds.get("densenet121", 0)),
    )

    def inference() -> str:
        model = one_channel_five_logits(torchvision.models.densenet121()).to(device).eval()
        x = torch.rand(sizes.infer_batch, 1, 224 * sizes.film // 256, 224 * sizes.film // 256, device=device)

        def step() -> None:
            with torch.inference_mode():
                torch.sigmoid(model(x))

        return rate(timed(step, sizes, sizes.infer_batch, sync))

    row(f"serve/evaluate inference densenet121 (fp32, batch {sizes.infer_batch})", inference)
    if device.type == "cuda" and torch.cuda.device_count() >= 2:
        row("DDP train step, 2 GPUs", lambda: ddp_row(sizes))
    else:
        rows.append(("DDP train step, 2 GPUs", f"not run: {torch.cuda.device_count()} GPU(s)"))

    width = max(len(label) for label, _ in rows)
    print(f"gpu_check on {name}; {versions}; load before {load}; {time.perf_counter() - began:.0f} s")
    print(f"{'measurement'.ljust(width)} | films/s")
    print(f"{'-' * width}-|--------")
    for label, value in rows:
        print(f"{label.ljust(width)} | {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
