"""How well a heatmap points at the region it explains, where the region's mask is known (phantoms).

Two scores per film and region, each with its chance level beside it:
- pointing game: does the heatmap's maximum fall inside the mask? By chance (a peak anywhere on the
  film) that happens with probability equal to the mask's area fraction;
- energy share: the fraction of the heatmap's total mass inside the mask; a flat heatmap gives the
  mask's area fraction.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from cxr_regions.regions import REGION_KEYS


def resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A boolean mask brought to ``shape`` by nearest-neighbour resizing."""
    import cv2

    if mask.shape == tuple(shape):
        return mask.astype(bool)
    return cv2.resize(mask.astype(np.uint8), (shape[1], shape[0]), interpolation=cv2.INTER_NEAREST) > 0


def pointing_hit(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """1.0 when the heatmap's peak lies inside the mask, else 0.0.

    Where several pixels share the maximum, the share of them inside the mask (the hit's expected
    value when the tie is broken at random), so a flat heatmap scores the chance level, not a hit.
    """
    mask = resize_mask(mask, heatmap.shape)
    peaks = heatmap >= heatmap.max()
    return float(np.count_nonzero(peaks & mask)) / float(np.count_nonzero(peaks))


def energy_share(heatmap: np.ndarray, mask: np.ndarray) -> float:
    """The share of the heatmap's total mass that lies inside the mask (NaN for an all-zero map)."""
    mask = resize_mask(mask, heatmap.shape)
    total = float(heatmap.sum(dtype=np.float64))
    if total <= 0:
        return float("nan")
    return float(heatmap[mask].sum(dtype=np.float64)) / total


def score_film(
    image: str, heatmaps: Mapping[str, np.ndarray], masks: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """One row per region that has both a heatmap and a mask: hit, energy share and the chance level."""
    rows = []
    for key, heat in heatmaps.items():
        if key not in masks:
            continue
        mask = resize_mask(masks[key], heat.shape)
        rows.append(
            {
                "image": image,
                "region": key,
                "pointing_hit": pointing_hit(heat, mask),
                "energy_share": energy_share(heat, mask),
                "mask_fraction": float(mask.mean()),
            }
        )
    return pd.DataFrame(rows, columns=["image", "region", "pointing_hit", "energy_share", "mask_fraction"])


def summarise(scores: pd.DataFrame) -> pd.DataFrame:
    """Per region: films scored, pointing-game hit rate, mean energy share, and the chance level."""
    if scores.empty:
        return pd.DataFrame(columns=["region", "films", "pointing_game", "energy_share", "chance"])
    grouped = scores.groupby("region", sort=False)
    table = pd.DataFrame(
        {
            "films": grouped.size(),
            "pointing_game": grouped["pointing_hit"].mean(),
            "energy_share": grouped["energy_share"].mean(),
            "chance": grouped["mask_fraction"].mean(),
        }
    )
    order = [k for k in REGION_KEYS if k in table.index] + [k for k in table.index if k not in REGION_KEYS]
    return table.loc[order].rename_axis("region").reset_index()


BY_LABEL_COLUMNS = (
    "region", "films", "pointing_game", "energy_share", "chance",
    "abnormal_films", "pointing_game_abnormal", "energy_share_abnormal", "chance_abnormal",
)  # fmt: skip


def summarise_by_label(scores: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Per region, the :func:`summarise` scores over every scored film and, in the ``*_abnormal``
    columns, over the films whose label calls the region abnormal (where a heatmap of the suspected
    area means something), each with its chance level.

    ``scores``: ``localisation.csv`` rows (image, region, pointing_hit, energy_share,
    mask_fraction); ``labels``: one row per film with ``image_id`` and 0/1 region columns (a dataset
    manifest). A film or region missing from ``labels`` counts as not abnormal. A region without
    abnormal films has ``abnormal_films`` 0 and NaN scores.
    """
    truth = labels.assign(image_id=labels["image_id"].astype(str)).drop_duplicates("image_id")
    truth = truth.set_index("image_id")
    abnormal = [
        bool(truth.at[image, region]) if image in truth.index and region in truth.columns else False
        for image, region in zip(scores["image"].astype(str), scores["region"], strict=True)
    ]
    every = summarise(scores)
    sick = summarise(scores[abnormal]).set_index("region")
    table = every.assign(
        abnormal_films=every["region"].map(sick["films"]).fillna(0).astype(int),
        pointing_game_abnormal=every["region"].map(sick["pointing_game"]).astype(float),
        energy_share_abnormal=every["region"].map(sick["energy_share"]).astype(float),
        chance_abnormal=every["region"].map(sick["chance"]).astype(float),
    )
    return table.loc[:, list(BY_LABEL_COLUMNS)]


def summary_markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table (rates as percentages)."""
    lines = [
        "| region | films | pointing game | energy in mask | chance (mask area) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in summary.itertuples(index=False):
        lines.append(
            f"| {row.region} | {row.films} | {row.pointing_game:.1%} "
            f"| {row.energy_share:.1%} | {row.chance:.1%} |"
        )
    return "\n".join(lines) + "\n"


def load_masks(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """A phantom's ``masks/<film_id>.npz``: one boolean array per region key."""
    with np.load(path) as data:
        return {k: data[k].astype(bool) for k in data.files}
