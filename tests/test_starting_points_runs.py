"""Each starting point through the whole chain on a tiny phantom dataset: `train` with its flags,
`evaluate`, `explain`, and serve's model — whose probabilities equal evaluate's for the same film —
with the weights' provenance, input conversion and frozen layers in model.json and the model card,
and nothing unpickled once the run exists."""

from __future__ import annotations

import importlib.util
import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from cxr_regions.cli import app
from cxr_regions.contracts import ModelInfo
from helpers import one_torch_thread
from helpers.starting_points import hub_snapshot, tiny_dataset

SIZE = 32

for _extra in ("timm", "transformers", "torchxrayvision"):  # the starting points' extras
    if importlib.util.find_spec(_extra) is None:
        pytest.skip(
            f"{_extra} is not installed (pip install 'cxr-regions[txv,timm,hf]')", allow_module_level=True
        )


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return tiny_dataset(tmp_path_factory.mktemp("tiny") / "dataset", size=SIZE)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Published weights as a user's machine holds them, made from the real classes: a Hugging Face
    cache with timm's resnet10t and a tiny DINOv2 encoder, torchxrayvision's NIH DenseNet file."""
    import timm
    import transformers
    from safetensors.torch import save_file

    root = tmp_path_factory.mktemp("weights")
    torch.manual_seed(0)
    resnet = root / "resnet10t.safetensors"
    save_file(
        {k: v.contiguous() for k, v in timm.create_model("resnet10t").state_dict().items()}, str(resnet)
    )
    hub = root / "hub"
    hub_snapshot(hub, timm.models.get_pretrained_cfg("resnet10t").hf_hub_id, {"model.safetensors": resnet})
    encoder = root / "encoder"
    config = transformers.Dinov2Config(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, patch_size=8
    )
    transformers.Dinov2Model(config).save_pretrained(encoder)
    transformers.BitImageProcessor(  # made for 48-px films: the run upsamples its 32-px crops
        crop_size={"height": 48, "width": 48}, image_mean=[0.5] * 3, image_std=[0.25] * 3
    ).save_pretrained(encoder)
    (encoder / "README.md").write_text("---\nlicense: mit\n---\nShared for research purposes only.\n")
    hub_snapshot(hub, "example-org/chest-dino", {p.name: p for p in encoder.iterdir()})
    with warnings.catch_warnings():
        import torchxrayvision as xrv
    txv_file = root / "nih-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt"
    torch.save(xrv.models.DenseNet(weights=None), txv_file)
    return {"hub": hub, "txv": txv_file}


ROUTES = {
    "timm": ["--arch", "timm:resnet10t", "--init", "imagenet"],
    "hf": ["--init", "hf:example-org/chest-dino", "--freeze-backbone", "--unfreeze-after", "1", "--upsample"],
    "txv": ["--init", "txv:densenet121-res224-nih", "--no-upsample"],
}


@pytest.mark.slow
@pytest.mark.parametrize("route", list(ROUTES))
def test_a_starting_point_trains_evaluates_explains_and_serves(
    route, dataset, weights, tmp_path, monkeypatch
):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(weights["hub"]))
    monkeypatch.setenv("CXR_REGIONS_CACHE", str(tmp_path / "cache"))
    run = tmp_path / "run"
    options = [*ROUTES[route], *(["--weights", str(weights["txv"])] if route == "txv" else [])]
    runner = CliRunner()
    epochs = "2" if route == "hf" else "1"
    common = ["--input-size", str(SIZE), "--batch-size", "12", "--epochs", epochs, "--num-workers", "0"]
    trained = runner.invoke(
        app, ["train", str(dataset), "-o", str(run), *options, *common, "--no-augment", "--no-progress"]
    )
    assert trained.exit_code == 0, trained.output + repr(trained.exception)
    info = json.loads((run / "model.json").read_text())
    provenance = info["provenance"]
    assert provenance["library"] == {"timm": "timm", "hf": "transformers", "txv": "torchxrayvision"}[route]
    assert len(provenance["sha256"]) == 64
    assert {"mean", "std", "in_channels", "input_size", "library"} <= set(info)
    # native_size and resize_to are left out of the file where unset (the contracts' rule): read as None
    stored = ModelInfo.read(run)
    card = (run / "MODEL_CARD.md").read_text()
    assert "## Starting weights" in card and provenance["sha256"] in card
    if route == "hf":
        assert info["frozen"]["unfreeze_after"] == 1 and "fine-tuned from epoch 1" in card
        assert info["resize_to"] == 48 and info["in_channels"] == 3  # serve must do the same
        assert "Research use only" in card and provenance["research_only"] is True
    if route == "txv":
        assert stored.resize_to is None and info["native_size"] == 224 and "Research use only" in card
    if route == "timm":
        assert stored.native_size is None and stored.resize_to is None

    # From here on, the run is all there is: nothing may be unpickled (no cache, no pickle).
    def refuse(*args, **kwargs):
        raise AssertionError("unpickling while evaluating, explaining or serving")

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "no-hub"))
    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    evaluated = runner.invoke(app, ["evaluate", str(run), "--n-boot", "20"])
    assert evaluated.exit_code == 0, evaluated.output + repr(evaluated.exception)
    predictions = pd.read_csv(run / "evaluation" / "predictions.csv", dtype={"image_id": str})

    from cxr_regions.build import open_dataset
    from cxr_regions.regions import REGION_KEYS
    from cxr_regions.serve.model import FilmModel

    data = open_dataset(dataset)
    served = FilmModel(run, method="gradcam", device="cpu")
    for _, row in predictions.head(3).iterrows():
        index = int(data.manifest.index[data.manifest["image_id"] == row["image_id"]][0])
        film = np.asarray(data.images[data.manifest.loc[index, "index"]])
        shown = served.probabilities(film)
        for key in REGION_KEYS:
            assert shown[key] == pytest.approx(row[f"p_{key}"], abs=2e-6), (route, key)
    heat = served.heatmaps(film)
    assert all(m.shape == film.shape and 0 <= m.min() <= m.max() <= 1 for m in heat.values())

    import cv2

    png = tmp_path / "film.png"
    cv2.imwrite(str(png), np.pad(film, ((4, 4), (0, 0))))  # 40×32: not square
    explained = runner.invoke(
        app, ["explain", str(run), str(png), "-o", str(tmp_path / "explain"), "--no-panels"]
    )
    assert explained.exit_code == 0, explained.output + repr(explained.exception)
    assert list((tmp_path / "explain").rglob("*.png"))

    from cxr_regions.training import read_provenance

    shown_provenance = read_provenance(run)
    assert shown_provenance.sha256 == provenance["sha256"]
    assert shown_provenance.research_only is (route != "timm")
