"""Predicted probabilities of a trained run on one split of a dataset (centre crops, no augmentation)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd
import torch

from cxr_regions.errors import UserError
from cxr_regions.progress import track
from cxr_regions.training.export import LoadedRun, load_run

if TYPE_CHECKING:
    from cxr_regions.build.torch_data import PackedDataset


def predict(
    run: LoadedRun | str | os.PathLike[str],
    dataset_dir: str | os.PathLike[str],
    split: str = "test",
    batch_size: int = 64,
    device: str | torch.device | None = None,
    num_workers: int = 0,
    progress: bool = False,
    match_labels: bool = False,
) -> pd.DataFrame:
    """One row per film of ``split``: ``image_id``, ``patient_key``, ``p_<label>`` (sigmoid of the
    logits) for each label, and the label columns themselves (0/1, NaN where missing), in manifest
    order.

    The dataset must have the run's labels, in the run's order; with ``match_labels`` (external
    validation) its labels are matched by name instead: a run label the dataset lacks is missing
    (NaN) on every film, a dataset label the run does not predict is left out.
    """
    from cxr_regions.build import RegionDataModule

    loaded = run if isinstance(run, LoadedRun) else load_run(Path(run))
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    datamodule = RegionDataModule(
        dataset_dir,
        crop_size=loaded.input_size,
        batch_size=batch_size,
        num_workers=num_workers,
        augment=False,
        augment_on="workers",
    )
    if not match_labels and list(datamodule.label_names) != list(loaded.label_names):
        raise UserError(
            f"the run predicts {', '.join(loaded.label_names)} but dataset {dataset_dir} has labels "
            f"{', '.join(datamodule.label_names)}; use a dataset built for this run's labels"
        )
    loader = datamodule.eval_dataloader(split)
    model = loaded.model.to(device).eval()
    scores = []
    batches = track(loader, f"predicting {split}", total=len(loader), enabled=progress)
    with torch.inference_mode():
        for x, y in batches:
            x, _ = datamodule.device_transform((x.to(device), y), train=False)  # float crops, as in training
            scores.append(torch.sigmoid(model(x).float()).cpu())
    rows = cast("PackedDataset", loader.dataset).rows
    probs = torch.cat(scores).numpy() if scores else torch.zeros((0, len(loaded.label_names))).numpy()
    frame = rows[["image_id", "patient_key"]].reset_index(drop=True).copy()
    for j, name in enumerate(loaded.label_names):
        frame[f"p_{name}"] = probs[:, j]
    truth = datamodule.data.labels(rows)
    for name in loaded.label_names:
        if name in datamodule.label_names:
            column = truth[:, datamodule.label_names.index(name)]
            frame[name] = column if np.isnan(column).any() else column.astype(int)  # NaN only where missing
        else:
            frame[name] = np.nan
    return frame
