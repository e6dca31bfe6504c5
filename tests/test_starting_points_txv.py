"""``--init txv:NAME``: torchxrayvision's weight files, exactly as it downloads them (a pickled model
object for the DenseNets, a pickled state dict for the 512-px ResNet-50), made here from its own
classes with random weights; converted once to safetensors; never unpickled again."""

from __future__ import annotations

import hashlib
import logging
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from cxr_regions.errors import UserError
from cxr_regions.models import create_model, default_arch
from helpers import one_torch_thread
from helpers.starting_points import head_input, loss_falls, phantom_films

with warnings.catch_warnings():  # torchxrayvision silences every warning of the process on import
    xrv = pytest.importorskip(
        "torchxrayvision", reason="the txv extra: pip install -e '.[txv]' (make test installs it)"
    )

NIH = "densenet121-res224-nih"
NIH_FILE = "nih-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt"
RESNET = "resnet50-res512-all"
RESNET_FILE = "pc-nih-rsna-siim-vin-resnet50-test512-e400-state.pt"


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """One thread; this package's cache and torchxrayvision's (under ``~``) in the test's folder."""
    monkeypatch.setenv("CXR_REGIONS_CACHE", str(tmp_path / "cxr-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def nih_file(tmp_path_factory):
    """torchxrayvision's DenseNet-121 file as downloaded: a pickled ``xrv.models.DenseNet`` object."""
    path = tmp_path_factory.mktemp("xrv") / NIH_FILE
    torch.manual_seed(1)
    torch.save(xrv.models.DenseNet(weights=None), path)
    return path


def _xrv_input(film: np.ndarray) -> torch.Tensor:
    """torchxrayvision's own preprocessing of an 8-bit film: [-1024, 1024], 1×1×H×W."""
    return torch.from_numpy(xrv.datasets.normalize(film, 255))[None, None].float()


def test_features_equal_torchxrayvisions_own_forward(nih_file, caplog):
    film = phantom_films(1, 224, seed=3)[0][0]
    with caplog.at_level(logging.WARNING):
        model = create_model("densenet121", 5, f"txv:{NIH}", weights=nih_file, input_size=224)
    upstream = xrv.models.DenseNet(weights=NIH, cache_dir=str(nih_file.parent)).eval()
    ours = head_input(model, torch.from_numpy(film / np.float32(255))[None, None])
    with torch.no_grad():
        theirs = upstream.features2(_xrv_input(film))
    assert ours.shape == theirs.shape == (1, 1024)
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)

    # Converted once, with a warning that says it unpickles, the SHA-256 recorded.
    digest = hashlib.sha256(nih_file.read_bytes()).hexdigest()
    assert "pickle" in caplog.text and digest in caplog.text
    provenance = model.provenance
    assert provenance["library"] == "torchxrayvision" and provenance["weights"] == NIH
    assert provenance["sha256"] == digest and provenance["research_only"] is True
    converted = provenance["converted_file"]
    assert converted.endswith(".safetensors")
    assert hashlib.sha256(Path(converted).read_bytes()).hexdigest() == provenance["converted_sha256"]
    assert (model.spec.mean, model.spec.std, model.spec.native_size) == (0.5, 1 / 2048, 224)


def test_upsample_is_torchxrayvisions_resize_and_is_never_silent(nih_file):
    film = phantom_films(1, 64, seed=4)[0][0]
    with pytest.raises(UserError, match=r"224-px films.*64-px crops.*--upsample.*--no-upsample"):
        create_model("densenet121", 5, f"txv:{NIH}", weights=nih_file, input_size=64)
    model = create_model("densenet121", 5, f"txv:{NIH}", weights=nih_file, input_size=64, upsample=True)
    assert model.spec.resize_to == 224
    upstream = xrv.models.DenseNet(weights=NIH, cache_dir=str(nih_file.parent)).eval()
    with torch.no_grad():
        theirs = upstream.features2(_xrv_input(film))  # torchxrayvision resizes to 224 itself
    ours = head_input(model, torch.from_numpy(film / np.float32(255))[None, None])
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
    kept = create_model("densenet121", 5, f"txv:{NIH}", weights=nih_file, input_size=64, upsample=False)
    assert kept.spec.resize_to is None


@pytest.mark.slow  # writes and loads a full-size ResNet-50
def test_the_512px_resnet_state_dict_file(tmp_path):
    """resnet50-res512-all is published as a pickled state dict of torchvision's ResNet-50 (one channel)."""
    import torchvision

    torch.manual_seed(2)
    net = torchvision.models.resnet50(num_classes=18)
    net.conv1 = torch.nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    path = tmp_path / RESNET_FILE
    torch.save(net.state_dict(), path)
    with pytest.raises(
        UserError, match=r"txv:resnet50-res512-all holds resnet50 weights; use --arch resnet50"
    ):
        create_model("densenet121", 5, f"txv:{RESNET}", weights=path, input_size=224)
    with pytest.raises(UserError, match=r"512-px films, but this model would see 224-px crops"):
        create_model("resnet50", 5, f"txv:{RESNET}", weights=path, input_size=224)
    model = create_model("resnet50", 5, f"txv:{RESNET}", weights=path, input_size=64, upsample=True)
    film = phantom_films(1, 64, seed=5)[0][0]
    upstream = xrv.models.ResNet(weights=RESNET, cache_dir=str(tmp_path)).eval()
    with torch.no_grad():
        theirs = upstream.features(_xrv_input(film))
    ours = head_input(model, torch.from_numpy(film / np.float32(255))[None, None])
    torch.testing.assert_close(ours, theirs, rtol=1e-3, atol=1e-3)


@pytest.mark.slow  # trains
def test_training_steps_lower_the_loss_and_heatmaps_have_the_films_size(nih_file):
    from cxr_regions.explain import compute_heatmaps
    from cxr_regions.regions import REGION_KEYS

    model = create_model("densenet121", 5, f"txv:{NIH}", weights=nih_file, input_size=32, upsample=False)
    films, labels = phantom_films(2, 32, seed=6)
    first, last = loss_falls(
        model, torch.from_numpy(films / np.float32(255))[:, None], torch.from_numpy(labels)
    )
    assert last < first
    film = phantom_films(1, 48, seed=7)[0][0][:, 4:44]  # not square: 48×40
    maps = compute_heatmaps(model, film, REGION_KEYS, frame_size=32, crop=32).heatmaps
    assert set(maps) == set(REGION_KEYS)
    assert all(m.shape == film.shape and m.min() >= 0 and m.max() <= 1 for m in maps.values())
    assert any(m.max() > 0 for m in maps.values())


def test_a_missing_file_names_the_file_the_folder_and_the_download_command(tmp_path):
    expected_dir = tmp_path / "home" / ".torchxrayvision" / "models_data"
    with pytest.raises(UserError) as caught:
        create_model("densenet121", 5, f"txv:{NIH}", input_size=224)
    message = str(caught.value)
    assert NIH_FILE in message and str(expected_dir) in message
    assert f"xrv.models.get_model('{NIH}')" in message and "wget https://" in message
    assert str(tmp_path / "cxr-cache") in message  # and where a converted copy would be
    with pytest.raises(UserError, match=r"--weights .*no such file"):
        create_model("densenet121", 5, f"txv:{NIH}", weights=tmp_path / "nope.pt", input_size=224)
    with pytest.raises(UserError, match="unknown torchxrayvision weights 'densenet121-res224-cifar'"):
        create_model("densenet121", 5, "txv:densenet121-res224-cifar")
    with pytest.raises(UserError, match="unknown torchxrayvision weights 'chexpert'"):
        default_arch("txv:chexpert")  # what `train --init txv:chexpert` resolves first


@pytest.mark.slow  # converts and loads full-size DenseNet-121 weights twice
def test_after_the_conversion_nothing_is_unpickled(nih_file, tmp_path, monkeypatch, caplog):
    # The file where torchxrayvision keeps it, as after its own download.
    home_file = tmp_path / "home" / ".torchxrayvision" / "models_data" / NIH_FILE
    home_file.parent.mkdir(parents=True)
    home_file.write_bytes(nih_file.read_bytes())
    first = create_model("densenet121", 5, f"txv:{NIH}", input_size=224)

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling after the conversion")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        again = create_model("densenet121", 5, f"txv:{NIH}", input_size=224)
        home_file.unlink()  # the pickle gone: the converted copy alone is enough
        alone = create_model("densenet121", 5, f"txv:{NIH}", input_size=224)
    assert "pickle" not in caplog.text
    for model in (again, alone):
        backbone = {k: v for k, v in model.state_dict().items() if "classifier" not in k}
        assert all(torch.equal(v, first.state_dict()[k]) for k, v in backbone.items())
        assert model.provenance["sha256"] == first.provenance["sha256"]
