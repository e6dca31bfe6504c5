"""``--arch timm:NAME``: timm's own classes (the smallest of each family), its ImageNet weights read
from a local safetensors file (``--weights`` or the Hugging Face cache), heatmaps for CNNs and ViTs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cxr_regions.errors import UserError
from cxr_regions.models import create_model, model_from_spec, target_layer
from cxr_regions.models.network import TokenGrid
from helpers import one_torch_thread
from helpers.starting_points import head_input, hub_snapshot, loss_falls, phantom_films

timm = pytest.importorskip("timm", reason="the timm extra: pip install -e '.[timm]' (make test installs it)")
safetensors_torch = pytest.importorskip("safetensors.torch", reason="safetensors comes with the timm extra")


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    """A Hugging Face cache holding timm's ``model.safetensors`` for resnet10t and test_vit, made
    from timm's classes with random weights (three channels, 1000 classes: as published)."""
    cache = tmp_path_factory.mktemp("hf-hub")
    for name in ("resnet10t", "test_vit"):
        torch.manual_seed(0)
        net = timm.create_model(name, pretrained=False)
        file = cache / f"{name}.safetensors"
        safetensors_torch.save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(file))
        hub_id = timm.models.get_pretrained_cfg(name).hf_hub_id
        hub_snapshot(cache, hub_id, {"model.safetensors": file})
    return cache


@pytest.fixture
def use_cache(hub_cache, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hub_cache))
    return hub_cache


@pytest.mark.parametrize("name", ["resnet10t", "test_vit"])
def test_imagenet_features_equal_timms_own_forward(name, use_cache):
    model = create_model(f"timm:{name}", 5, "imagenet", input_size=64)
    cfg = timm.models.get_pretrained_cfg(name)
    assert model.spec.mean == pytest.approx(sum(cfg.mean) / 3) and model.spec.std == pytest.approx(
        sum(cfg.std) / 3
    )
    file = model.provenance["file"]
    assert file.endswith("model.safetensors") and model.provenance["licence"] == cfg.license
    assert model.provenance["weights"] == cfg.hf_hub_id and len(model.provenance["sha256"]) == 64
    size = {"img_size": 64} if "vit" in name else {}
    overlay = {"file": file}
    upstream = timm.create_model(
        name, pretrained=True, pretrained_cfg_overlay=overlay, in_chans=1, num_classes=0, **size
    )
    film = torch.from_numpy(phantom_films(2, 64, seed=1)[0] / np.float32(255))[:, None]
    with torch.no_grad():
        theirs = upstream.eval()((film - model.spec.mean) / model.spec.std)
    torch.testing.assert_close(head_input(model, film), theirs, rtol=1e-5, atol=1e-5)
    # A run's weights rebuild into the same network without any cache (load_run's path).
    rebuilt = model_from_spec(model.spec, empty=True)
    rebuilt.load_state_dict(model.state_dict(), strict=True, assign=True)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(film), model.eval()(film))


@pytest.mark.slow  # trains
@pytest.mark.parametrize(("name", "size"), [("resnet10t", 32), ("test_convnext", 32), ("test_vit", 32)])
def test_training_steps_lower_the_loss_and_heatmaps_have_the_films_size(name, size):
    from cxr_regions.explain import compute_heatmaps
    from cxr_regions.regions import REGION_KEYS

    torch.manual_seed(0)
    model = create_model(f"timm:{name}", 5, "scratch", input_size=size)
    films, labels = phantom_films(4, size, seed=2)
    first, last = loss_falls(
        model, torch.from_numpy(films / np.float32(255))[:, None], torch.from_numpy(labels)
    )
    assert last < first
    layer = target_layer(model, size, 2)
    if "vit" in name:
        assert isinstance(layer, TokenGrid)
    else:
        assert any(layer is model.net.get_submodule(f["module"]) for f in model.net.feature_info)
    film = phantom_films(1, 40, seed=3)[0][0][:, 2:38]  # 40×36
    maps = compute_heatmaps(model, film, REGION_KEYS, frame_size=size, layer=layer).heatmaps
    assert all(m.shape == film.shape and m.min() >= 0 and m.max() <= 1 for m in maps.values())
    assert any(m.max() > 0 for m in maps.values())


def test_the_vit_token_grid_changes_nothing_and_is_the_patch_grid():
    torch.manual_seed(0)
    model = create_model("timm:test_vit", 5, "scratch", input_size=48).eval()
    seen = {}
    model.net.token_grid.register_forward_hook(lambda _m, _i, out: seen.update(map=out))
    plain = timm.create_model("test_vit", in_chans=1, num_classes=5, img_size=48).eval()
    plain.load_state_dict(model.net.state_dict())  # the same weights, no grid in the way
    x = torch.rand(1, 1, 48, 48)
    with torch.no_grad():
        torch.testing.assert_close(model(x), plain((x - model.mean) / model.std))
    patch = model.net.patch_embed.patch_size[0]
    assert seen["map"].shape == (1, model.net.embed_dim, 48 // patch, 48 // patch)


def test_missing_weights_and_unsupported_models_are_clear(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    hub_id = timm.models.get_pretrained_cfg("convnext_tiny").hf_hub_id
    with pytest.raises(UserError) as caught:
        create_model("timm:convnext_tiny", 5, "imagenet", input_size=64)
    message = str(caught.value)
    assert "model.safetensors" in message and hub_id in message and str(tmp_path / "empty-hub") in message
    assert f"hf download {hub_id} model.safetensors" in message and "--weights" in message
    with pytest.raises(UserError, match="no such file"):
        create_model("timm:convnext_tiny", 5, "imagenet", weights=tmp_path / "x.safetensors")
    pickle_file = tmp_path / "weights.pth"
    pickle_file.write_bytes(b"not read")
    with pytest.raises(UserError, match="safetensors files only"):
        create_model("timm:convnext_tiny", 5, "imagenet", weights=pickle_file)
    with pytest.raises(
        UserError, match=r"swin_transformer model, which is not supported.*convnext.*vision_transformer"
    ):
        create_model("timm:swin_tiny_patch4_window7_224", 5, "scratch")
    with pytest.raises(UserError, match="timm has no model 'convnext_teeny'"):
        create_model("timm:convnext_teeny", 5, "scratch")
    with pytest.raises(UserError, match="txv:densenet121-res224-nih holds densenet121 weights"):
        create_model("timm:resnet10t", 5, "txv:densenet121-res224-nih")
