"""``--init hf:REPO``: a transformers vision encoder (a tiny DINOv2 configuration of the real class,
random weights) saved as the hub publishes it — config.json, model.safetensors,
preprocessor_config.json, README.md — and read from local files only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cxr_regions.errors import UserError
from cxr_regions.models import create_model, model_from_spec, target_layer
from cxr_regions.models.network import TokenGrid
from helpers import one_torch_thread
from helpers.starting_points import head_input, hub_snapshot, loss_falls, phantom_films

transformers = pytest.importorskip(
    "transformers", reason="the hf extra: pip install -e '.[hf]' (make test installs it)"
)

REPO = "example-org/tiny-chest-dino"
CARD = """---
license: other
license_name: msrla
library_name: transformers
---
# Tiny chest DINO

## Uses

This encoder is shared for research purposes only. It is not meant to be used for clinical practice.
"""


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def encoder_folder(tmp_path_factory):
    """A tiny DINOv2 (2 layers, 32 wide, 8-px patches, 4 register tokens) with its image processor
    and model card, as ``save_pretrained`` writes them: the files a user's download holds."""
    folder = tmp_path_factory.mktemp("tiny-dino")
    torch.manual_seed(0)
    config = transformers.Dinov2WithRegistersConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        patch_size=8,
        image_size=64,
        num_register_tokens=4,
    )
    transformers.Dinov2WithRegistersModel(config).save_pretrained(folder)
    transformers.BitImageProcessor(
        size={"shortest_edge": 64},
        crop_size={"height": 64, "width": 64},
        image_mean=[0.53, 0.53, 0.53],
        image_std=[0.26, 0.26, 0.26],
    ).save_pretrained(folder)
    (folder / "README.md").write_text(CARD, encoding="utf-8")
    return folder


@pytest.fixture
def hub(encoder_folder, tmp_path, monkeypatch):
    """The encoder in a Hugging Face cache, as `hf download` leaves it."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    files = {p.name: p for p in encoder_folder.iterdir()}
    hub_snapshot(cache, REPO, files, revision="c0ffee" + "0" * 34)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


def _film(n: int, size: int, seed: int) -> tuple[np.ndarray, torch.Tensor]:
    films = phantom_films(n, size, seed=seed)[0]
    return films, torch.from_numpy(films / np.float32(255))[:, None]


def test_features_equal_the_encoders_own_forward_with_its_processor(hub, encoder_folder):
    from PIL import Image

    model = create_model(f"hf:{REPO}", 5, f"hf:{REPO}", input_size=64)
    assert model.spec.arch == f"hf:{REPO}" and model.spec.in_channels == 3
    assert model.spec.mean == [0.53] * 3 and model.spec.native_size == 64
    films, x = _film(2, 64, seed=1)
    upstream = transformers.AutoModel.from_pretrained(encoder_folder).eval()
    processor = transformers.AutoImageProcessor.from_pretrained(encoder_folder)
    pixels = processor(
        images=[Image.fromarray(f) for f in films], return_tensors="pt", do_resize=False, do_center_crop=False
    ).pixel_values
    with torch.no_grad():
        theirs = upstream(pixel_values=pixels).pooler_output
    torch.testing.assert_close(head_input(model, x), theirs, rtol=1e-5, atol=1e-5)

    provenance = model.provenance
    assert provenance["library"] == "transformers" and provenance["weights"] == f"{REPO}@c0ffee" + "0" * 34
    assert provenance["licence"] == "msrla" and provenance["research_only"] is True
    assert "research purposes only" in provenance["intended_use"]
    # The configuration travels with the model: a run rebuilds it without the cache.
    rebuilt = model_from_spec(model.spec, empty=True)
    rebuilt.load_state_dict(model.state_dict(), strict=True, assign=True)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(x), model.eval()(x))


def test_a_frozen_encoder_trains_only_its_head_and_heatmaps_come_from_the_patch_grid(encoder_folder):
    from cxr_regions.explain import compute_heatmaps
    from cxr_regions.regions import REGION_KEYS

    model = create_model(
        f"hf:{encoder_folder}", 5, f"hf:{encoder_folder}", weights=encoder_folder, input_size=64
    )
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.freeze_backbone()
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable == {"net.head.weight", "net.head.bias"}
    films, x = _film(4, 64, seed=2)
    labels = torch.tensor(
        [[1, 0, 1, 0, 1], [0, 1, 0, 1, 0], [1, 1, 0, 0, 1], [0, 0, 1, 1, 0]], dtype=torch.float32
    )
    first, last = loss_falls(model, x, labels)
    assert last < first
    changed = {k for k, v in model.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == {"net.head.weight", "net.head.bias"}

    model.requires_grad_(True)  # as a saved run loads for explain and serve: a CAM needs the gradients
    layer = target_layer(model, 64, 4)
    assert isinstance(layer, TokenGrid) and layer.prefix_tokens == 5  # class token + 4 registers
    film = films[0][:, 6:58]  # 64×52
    maps = compute_heatmaps(model, film, REGION_KEYS, frame_size=64).heatmaps
    assert all(m.shape == film.shape and m.min() >= 0 and m.max() <= 1 for m in maps.values())
    assert any(m.max() > 0 for m in maps.values())


def test_a_missing_encoder_names_the_cache_and_the_download_command(tmp_path, monkeypatch, encoder_folder):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    with pytest.raises(UserError) as caught:
        create_model(f"hf:{REPO}", 5, f"hf:{REPO}", input_size=64)
    message = str(caught.value)
    assert "model.safetensors" in message and str(tmp_path / "empty-hub") in message
    assert f"hf download {REPO}" in message and "--weights" in message
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "config.json").write_bytes((encoder_folder / "config.json").read_bytes())
    with pytest.raises(UserError, match=rf"model.safetensors of {REPO} is missing in folder {partial}"):
        create_model(f"hf:{REPO}", 5, f"hf:{REPO}", weights=partial, input_size=64)
    with pytest.raises(UserError, match=r"made for 64-px films, but this model would see 32-px crops"):
        create_model(f"hf:{encoder_folder}", 5, f"hf:{encoder_folder}", input_size=32)
    with pytest.raises(UserError, match="starts from its own weights"):
        create_model(f"hf:{REPO}", 5, "imagenet")
    with pytest.raises(UserError, match="builds its own encoder"):
        create_model("densenet121", 5, f"hf:{REPO}")
