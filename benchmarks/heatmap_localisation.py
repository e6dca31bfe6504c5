"""How well each heatmap method points at its region, on a demo run's test films (phantom masks known).

    .venv/bin/python benchmarks/heatmap_localisation.py DEMO_OUTPUT [--methods gradcam,layercam]
        [--map-sides auto,4,7] [--threads 1]

DEMO_OUTPUT is a folder written by ``cxr-regions demo`` (it holds ``run/``, ``dataset/`` and the
phantom's region masks of the test films in ``explain-masks/``). For every method and feature-map
size it computes the heatmaps of every test film with ``cxr_regions.explain.compute_heatmaps``,
scores them with ``score_film`` and prints, per region, the pointing game (share of films whose
heatmap peak lies inside the region) and the energy share (share of the heatmap's mass inside it)
over the films whose label calls the region abnormal, beside the chance level (the region's share of
the film) and the pointing game over all test films.

``--map-sides``: ``auto`` is the layer ``explain`` chooses for the method; a number N reads the
deepest feature map with at least N×N cells instead (``cxr_regions.explain.target_layer``), which is
how the choice of ``MIN_MAP_SIDE``/``FINE_MAP_SIDE`` in ``explain/heatmaps.py`` can be checked.
Figures are about a phantom and one trained model; rerun after retraining.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn

from cxr_regions.build import open_dataset
from cxr_regions.explain import compute_heatmaps, score_film, summarise, target_layer
from cxr_regions.training import load_run


def layer_and_side(model: nn.Module, layer: nn.Module | None, crop: int) -> tuple[str, int]:
    """The name of ``layer`` in ``model`` and the side of its feature map for a ``crop``-px input."""
    if layer is None:
        return "auto", 0
    sides: list[int] = []
    handle = layer.register_forward_hook(lambda _m, _i, out: sides.append(int(min(out.shape[-2:]))))
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, crop, crop, device=next(model.parameters()).device))
    finally:
        handle.remove()
    name = next((n for n, m in model.named_modules() if m is layer), type(layer).__name__)
    return name, sides[-1] if sides else 0


def score(demo: Path, method: str, map_side: str, split: str) -> tuple[pd.DataFrame, str]:
    """Per-film localisation scores of one method at one map size, and a description of the layer."""
    loaded = load_run(demo / "run")
    model = loaded.model.eval()
    names = list(loaded.label_names)
    data = open_dataset(demo / "dataset")
    crop, frame = int(loaded.input_size), int(data.size)
    side = min(crop, frame)
    layer = None if map_side == "auto" else target_layer(model, side, int(map_side))
    layer_name, cells = layer_and_side(model, layer, side)
    rows = data.manifest[
        (data.manifest["split"] == split) & (data.manifest["image_id"] == data.manifest["source_image_id"])
    ].drop_duplicates("image_id")
    scores = []
    for row in rows.itertuples():
        mask_file = demo / "explain-masks" / f"{row.image_id}.npz"
        if not mask_file.exists():
            continue
        film = data.images[int(row.index)]  # the column: its place in the packed array
        result = compute_heatmaps(model, film, names, names, method, frame, layer, crop)
        with np.load(mask_file) as masks:
            scored = score_film(str(row.image_id), result.heatmaps, {k: masks[k] for k in masks.files})
        truth = {k: bool(getattr(row, k)) for k in names}
        scores.append(scored.assign(abnormal=scored["region"].map(truth)))
    if not scores:
        raise SystemExit(f"no {split} film of {demo / 'dataset'} has a mask in {demo / 'explain-masks'}")
    described = "explain's choice" if layer is None else f"{layer_name} ({cells}×{cells})"
    return pd.concat(scores, ignore_index=True), described


def table(scores: pd.DataFrame) -> pd.DataFrame:
    """Per region: the scores over the films whose label calls it abnormal, and the pointing game
    over all films."""
    sick = summarise(scores[scores["abnormal"]])
    every = summarise(scores).set_index("region")
    return sick.assign(pointing_game_all=sick["region"].map(every["pointing_game"]))


def percent(share: float) -> str:
    """A share as a whole percentage; an undefined one (all heatmaps zero) as a dash."""
    return "—" if math.isnan(share) else f"{share:.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo", type=Path, help="a folder written by cxr-regions demo")
    parser.add_argument("--methods", default="gradcam,layercam")
    parser.add_argument("--map-sides", default="auto", help="auto and/or minimum map sides, e.g. auto,4,7")
    parser.add_argument("--split", default="test")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the table as JSON records here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    records = []
    print(
        "| method | layer | region | films | pointing game | energy in region | chance | pointing game, all |"
    )
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for method in args.methods.split(","):
        for map_side in args.map_sides.split(","):
            started = time.perf_counter()
            scores, layer = score(args.demo, method, map_side, args.split)
            for row in table(scores).itertuples(index=False):
                shares = [row.pointing_game, row.energy_share, row.chance, row.pointing_game_all]
                cells = " | ".join(percent(x) for x in shares)
                print(f"| {method} | {layer} | {row.region} | {row.films} | {cells} |")
                records.append({"method": method, "layer": layer, **row._asdict()})
            print(f"<!-- {method}, {layer}: {time.perf_counter() - started:.1f} s -->")
    if args.json:
        args.json.write_text(json.dumps(records, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
