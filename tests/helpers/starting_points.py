"""Helpers of the starting-point tests: phantom films, a tiny dataset, the loss check, a Hugging Face
cache laid out as the hub client writes it, and the features a model's head receives."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import torch

from cxr_regions.regions import REGION_KEYS


def phantom_films(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` phantom films (uint8 n×size×size) and their five region labels (float n×5)."""
    from cxr_regions.phantom import render_film

    rng = np.random.default_rng(seed)
    films, labels = [], []
    for _ in range(n):
        truth = {k: "1" if rng.random() < 0.4 else "0" for k in REGION_KEYS}
        films.append(np.round(render_film(rng, truth, size=size).image * 255).astype(np.uint8))
        labels.append([float(truth[k]) for k in REGION_KEYS])
    return np.stack(films), np.asarray(labels, dtype=np.float32)


def tiny_dataset(root: Path, size: int = 32, patients: int = 36, seed: int = 1) -> Path:
    """A built dataset of ``2 × patients`` phantom films, two per patient (same labels), split
    50/25/25 by patient."""
    import pandas as pd

    from cxr_regions.build import BuildConfig, build_from_arrays
    from cxr_regions.phantom import render_film

    rng = np.random.default_rng(seed)
    films, rows = [], []
    for patient in range(patients):
        truth = {k: "1" if rng.random() < 0.4 else "0" for k in REGION_KEYS}
        for film in range(2):
            films.append(np.round(render_film(rng, truth, size=size).image * 255).astype(np.uint8))
            rows.append({"image_id": f"p{patient:03d}-{film}", "patient_key": f"p{patient:03d}", **truth})
    config = BuildConfig(size=size, split=(0.5, 0.25, 0.25), seed=0, progress=False)
    return build_from_arrays(root, np.stack(films), pd.DataFrame(rows), config)


def loss_falls(
    model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int = 20
) -> tuple[float, float]:
    """The issue's loss check: fixed seed, one batch repeated for ``steps`` Adam steps on the
    trainable parameters; returns the loss at the start and at the end."""
    from cxr_regions.training import masked_bce

    torch.manual_seed(0)
    model.train()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = masked_bce(model(x), y)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    with torch.no_grad():
        final = float(masked_bce(model(x), y))
    return losses[0], final


def head_input(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The features a :class:`~cxr_regions.models.RegionNet`'s classifier layer receives for ``x``."""
    seen: dict[str, torch.Tensor] = {}
    handle = model.head.register_forward_pre_hook(lambda _m, args: seen.update(x=args[0].detach()))
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        handle.remove()
    return seen["x"]


def hub_snapshot(cache: Path, repo_id: str, files: dict[str, Path], revision: str = "0" * 40) -> Path:
    """Put ``files`` into a Hugging Face cache the way the hub client stores a download:
    ``models--ORG--NAME/snapshots/REVISION/FILE`` with ``refs/main`` naming the revision."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        shutil.copyfile(source, snapshot / name)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(revision)
    return snapshot
