"""Training on phantom films: it learns, its run folder follows the contract, its weights reload exactly."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from cxr_regions.configfile import load_config
from cxr_regions.training import auc_per_label, load_run, mean_auc, predict
from helpers import one_torch_thread


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One thread: faster than two for these small tensors on the shared two-core test machine."""
    with one_torch_thread():
        yield


def test_short_phantom_training_learns(trained_run, phantom_dataset):
    metrics = pd.read_csv(trained_run / "metrics.csv")
    labels = json.loads((phantom_dataset / "dataset.json").read_text())["labels"]
    expected = [
        "epoch",
        "step",
        "train_loss",
        "val_loss",
        *(f"val_auc_{n}" for n in labels),
        "val_mean_auc",
        "lr",
    ]
    assert list(metrics.columns) == expected
    assert metrics["epoch"].tolist() == list(range(len(metrics)))
    # An honest learning test: a model that learns nothing sits near 0.5.
    assert metrics["val_mean_auc"].max() >= 0.85, metrics.round(3).to_string()
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]

    info = json.loads((trained_run / "model.json").read_text())
    assert info["label_names"] == labels
    assert info["val_metrics"]["val_mean_auc"] == pytest.approx(metrics["val_mean_auc"].max())
    assert metrics.loc[info["best_epoch"], "val_mean_auc"] == metrics["val_mean_auc"].max()
    assert info["dataset_id"] == json.loads((phantom_dataset / "dataset.json").read_text())["dataset_id"]
    config = load_config(trained_run / "config.yaml")
    assert config["input_size"] == info["input_size"] and config["arch"] == info["arch"]
    assert (trained_run / "checkpoints" / "best.ckpt").is_file()
    assert (trained_run / "checkpoints" / "last.ckpt").is_file()
    assert list((trained_run / "tb").glob("events.out.tfevents.*"))


def test_exported_weights_reload_to_identical_outputs_without_unpickling(trained_run, monkeypatch):
    checkpoint = torch.load(trained_run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)

    def refuse(*args, **kwargs):
        raise AssertionError("load_run must not unpickle anything")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    loaded = load_run(trained_run)
    monkeypatch.undo()

    from cxr_regions.models import model_from_spec

    reference = model_from_spec(loaded.spec).eval()
    reference.load_state_dict({k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()})
    x = torch.rand(4, 1, loaded.input_size, loaded.input_size)
    with torch.no_grad():
        assert torch.equal(loaded.model(x), reference(x))
    assert not loaded.model.training


def test_predict_scores_the_test_split(trained_run, phantom_dataset):
    frame = predict(trained_run, phantom_dataset, "test")
    manifest = pd.read_csv(phantom_dataset / "manifest.csv", dtype={"image_id": str})
    test = manifest[manifest["split"] == "test"]
    assert frame["image_id"].tolist() == test["image_id"].tolist()
    labels = load_run(trained_run).label_names
    scores = frame[[f"p_{n}" for n in labels]].to_numpy()
    assert ((scores >= 0) & (scores <= 1)).all()
    assert (frame[labels].to_numpy() == test[labels].to_numpy()).all()
    # Patients unseen in training: still clearly better than chance.
    assert mean_auc(auc_per_label(frame[labels].to_numpy(), scores)) > 0.75


def test_auc_leaves_single_class_labels_out_of_the_mean():
    y = np.array([[0, 1], [1, 1], [0, 1], [1, 1]], dtype=float)
    s = np.array([[0.1, 0.3], [0.9, 0.2], [0.2, 0.8], [0.7, 0.5]])
    aucs = auc_per_label(y, s)
    assert aucs[0] == 1.0 and math.isnan(aucs[1])
    assert mean_auc(aucs) == 1.0
    assert math.isnan(mean_auc([math.nan]))
