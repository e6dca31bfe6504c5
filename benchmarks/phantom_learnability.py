"""Can a small CNN learn the phantom's five regions in minutes on a CPU? Prints validation AUCs per epoch.

    .venv/bin/python benchmarks/phantom_learnability.py [--size 64] [--train 500] [--val 200]
        [--epochs 12] [--prevalence balanced] [--threads 2]

Films are made in memory with ``render_film`` (u counted as abnormal, the method's reading); the
network is a plain 4-block CNN, trained with Adam and random shifts. This checks the phantom (each
region's abnormality must be visible at small sizes), not the project's models.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from cxr_regions.phantom import Prevalence, render_film, sample_truth
from cxr_regions.regions import REGION_KEYS, to_binary


def films(n: int, size: int, prevalence: Prevalence, offset: int) -> tuple[torch.Tensor, torch.Tensor]:
    images, labels = [], []
    for i in range(offset, offset + n):
        rng = np.random.default_rng([2024, i])
        truth = sample_truth(rng, prevalence)
        images.append(render_film(rng, truth, size).image)
        labels.append([to_binary(truth[k]) for k in REGION_KEYS])
    return torch.from_numpy(np.stack(images))[:, None], torch.tensor(labels, dtype=torch.float32)


def network() -> nn.Module:
    def block(c_in: int, c_out: int) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)
        )

    return nn.Sequential(
        block(1, 16), block(16, 32), block(32, 64), block(64, 96),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(96, len(REGION_KEYS)),
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--train", type=int, default=500)
    parser.add_argument("--val", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--prevalence", default="balanced")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    prevalence = Prevalence.parse(args.prevalence)

    start = time.perf_counter()
    x_train, y_train = films(args.train, args.size, prevalence, 0)
    x_val, y_val = films(args.val, args.size, prevalence, args.train)
    print(f"{args.train}+{args.val} films at {args.size} px made in {time.perf_counter() - start:.0f} s")

    net, loss_fn = network(), nn.BCEWithLogitsLoss()
    optimiser = torch.optim.Adam(net.parameters(), 1e-3)
    shift = max(1, args.size // 16)
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = torch.randperm(args.train, generator=generator)
        for first in range(0, args.train, 32):
            batch = order[first : first + 32]
            dy, dx = torch.randint(-shift, shift + 1, (2,), generator=generator).tolist()
            x = torch.roll(x_train[batch], (dy, dx), (2, 3))
            optimiser.zero_grad()
            loss_fn(net(x), y_train[batch]).backward()
            optimiser.step()
        net.eval()
        with torch.no_grad():
            scores = torch.sigmoid(net(x_val)).numpy()
        aucs = [roc_auc_score(y_val[:, k], scores[:, k]) for k in range(len(REGION_KEYS))]
        per_region = " ".join(f"{key} {auc:.3f}" for key, auc in zip(REGION_KEYS, aucs, strict=True))
        elapsed = time.perf_counter() - start
        print(f"epoch {epoch:2d} {elapsed:5.0f} s  val AUC {per_region}  mean {np.mean(aucs):.3f}")


if __name__ == "__main__":
    main()
