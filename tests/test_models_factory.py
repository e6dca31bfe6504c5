"""The model factory: every paper network × initialisation builds and trains on a tiny input."""

from __future__ import annotations

import json
import re

import pytest
import torch
from torchvision.models import get_model

from cxr_regions.errors import UserError
from cxr_regions.models import (
    ARCHS,
    IMAGENET_MEAN,
    SCRATCH_MEAN,
    create_model,
    gradcam_target_layer,
    imagenet_weights_file,
    input_size,
)
from cxr_regions.training.export import save_model
from helpers import one_torch_thread


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One thread: faster than two for these small tensors on the shared two-core test machine."""
    with one_torch_thread():
        yield


TINY = {"alexnet": 64, "vgg16": 32, "resnet34": 32, "densenet121": 32}
FIRST_CONV = {
    "alexnet": "features.0",
    "vgg16": "features.0",
    "resnet34": "conv1",
    "densenet121": "features.conv0",
}


def _forward_backward(model, size: int) -> None:
    model.train()
    x = torch.rand(2, 1, size, size)
    logits = model(x)
    assert logits.shape == (2, model.spec.num_classes)
    assert torch.isfinite(logits).all()
    logits.sum().backward()
    first = model.net.get_submodule(model.spec.first_conv)
    assert first.weight.shape[1] == 1
    assert first.weight.grad is not None and first.weight.grad.abs().sum() > 0
    assert model.head.weight.grad is not None and model.head.weight.grad.abs().sum() > 0


def _tensor(module, name: str) -> torch.Tensor:
    return module.state_dict()[name]


@pytest.mark.slow  # trains every architecture (vgg16 alone takes seconds)
@pytest.mark.parametrize("arch", ARCHS)
def test_every_arch_and_init_builds_and_trains(arch, tmp_path, monkeypatch):
    size = TINY[arch]
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    scratch = create_model(arch, 5, "scratch", input_size=size)
    assert (scratch.spec.init, scratch.spec.mean, scratch.spec.input_size) == ("scratch", SCRATCH_MEAN, size)
    _forward_backward(scratch, size)

    # ImageNet: a torchvision-shaped state dict (RGB first convolution, 1000 classes) saved under the
    # enum's file name in $TORCH_HOME/hub/checkpoints. Built from the scratch model to stay cheap.
    conv, head = FIRST_CONV[arch], scratch.spec.head
    rgb = {k.removeprefix("net."): v for k, v in scratch.state_dict().items()}
    out_channels, _, kh, kw = rgb[f"{conv}.weight"].shape
    rgb[f"{conv}.weight"] = torch.randn(out_channels, 3, kh, kw)
    rgb[f"{head}.weight"] = torch.randn(1000, scratch.head.in_features) * 0.01
    rgb[f"{head}.bias"] = torch.zeros(1000)
    _, file_name, cached = imagenet_weights_file(arch)
    cached.parent.mkdir(parents=True)
    torch.save(rgb, cached)
    imagenet = create_model(arch, 5, "imagenet", input_size=size)
    cached.unlink()
    assert torch.allclose(_tensor(imagenet.net, f"{conv}.weight"), rgb[f"{conv}.weight"].sum(1, keepdim=True))
    deep = [k for k in rgb if k.endswith("weight")][-3]  # a layer deep in the backbone, not the head
    assert torch.equal(_tensor(imagenet.net, deep), rgb[deep])
    assert imagenet.spec.mean == pytest.approx(IMAGENET_MEAN)
    assert imagenet.spec.init_source.endswith(file_name)
    del rgb
    _forward_backward(imagenet, size)
    del imagenet

    # ChestX-ray14: the scratch model saved as a run (its labels standing in for the 14 findings), read
    # back as the backbone of a model with another number of labels.
    save_model(scratch, tmp_path / "pretrain", [f"f{i}" for i in range(5)])
    chest = create_model(arch, 3, f"chestx14:{tmp_path / 'pretrain'}", input_size=size)
    assert chest.spec.init == "chestx14"
    report = chest.init_report
    assert report["missing"] == [] and report["unexpected"] == []
    assert report["replaced_head"] == sorted(scratch.head_keys())
    source, target = scratch.state_dict(), chest.state_dict()
    for key in source:
        if key not in report["replaced_head"]:
            assert torch.equal(source[key], target[key]), key
    assert chest.head.weight.shape == (3, scratch.head.in_features)
    del scratch, source, target
    _forward_backward(chest, size)


def test_imagenet_offline_error_names_the_file_and_both_remedies(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(UserError) as err:
        create_model("densenet121", 5, "imagenet")
    message = str(err.value)
    assert "densenet121-a639ec97.pth" in message
    assert "$TORCH_HOME/hub/checkpoints" in message and "--weights PATH" in message
    with pytest.raises(UserError, match="no such file"):
        create_model("densenet121", 5, "imagenet", weights=tmp_path / "nope.pth")


def test_imagenet_from_local_weights_file_and_legacy_densenet_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty"))
    state = get_model("densenet121", weights=None).state_dict()
    # torchvision's published DenseNet files use the old names ``norm.1`` (and predate
    # ``num_batches_tracked``); they must load too.
    legacy = {
        re.sub(r"(denselayer\d+\.(norm|relu|conv))([12])\.", r"\1.\3.", k): v
        for k, v in state.items()
        if not ("denselayer" in k and k.endswith("num_batches_tracked"))
    }
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    path = tmp_path / "my-densenet.pth"
    torch.save(legacy, path)
    model = create_model("densenet121", 5, "imagenet", weights=path, input_size=32)
    key = "features.denseblock1.denselayer1.norm1.weight"
    assert torch.equal(_tensor(model.net, key), state[key])
    assert model.init_report["source"] == str(path)

    wrong = get_model("resnet18", weights=None).state_dict()
    torch.save(wrong, tmp_path / "wrong.pth")
    with pytest.raises(UserError, match="do not fit"):
        create_model("densenet121", 5, "imagenet", weights=tmp_path / "wrong.pth")


def test_chestx14_checkpoint_refuses_another_arch_and_reports_missing_keys(tmp_path):
    pretrained = create_model("resnet34", 14, "scratch", input_size=32)
    save_model(pretrained, tmp_path / "run", [f"f{i}" for i in range(14)])
    with pytest.raises(UserError, match=r"describes a resnet34 model.*--arch resnet34"):
        create_model("densenet121", 5, f"chestx14:{tmp_path / 'run'}")

    # The weights file itself works as PATH too; a checkpoint lacking a backbone key is refused by name.
    from safetensors.torch import load_file, save_file

    weights = tmp_path / "run" / "model.safetensors"
    state = load_file(str(weights))
    del state["net.layer3.0.conv1.weight"]
    save_file(state, str(weights))
    with pytest.raises(UserError, match=r"missing keys net\.layer3\.0\.conv1\.weight"):
        create_model("resnet34", 5, f"chestx14:{weights}")

    with pytest.raises(UserError, match=r"model\.json"):
        create_model("resnet34", 5, f"chestx14:{tmp_path / 'elsewhere'}")
    with pytest.raises(UserError, match="chestx14:PATH"):
        create_model("resnet34", 5, "chestx14")


def test_input_sizes_options_and_bad_names():
    assert [input_size(a) for a in ARCHS] == [227, 227, 224, 224]
    assert create_model("resnet18", 3).spec.input_size == 224  # any torchvision model by name
    with pytest.raises(UserError, match="at least 63"):
        create_model("alexnet", 5, input_size=48)
    with pytest.raises(UserError, match="unknown architecture"):
        create_model("resnet35", 5)
    with pytest.raises(UserError, match="unknown --init"):
        create_model("resnet18", 5, "cifar")
    with pytest.raises(UserError, match="only applies to --init imagenet"):
        create_model("resnet18", 5, "scratch", weights="w.pth")


def test_model_normalises_inside_and_gradcam_layer_sees_spatial_maps():
    model = create_model("resnet34", 5, input_size=64).eval()
    seen = {}
    layer = gradcam_target_layer(model)
    layer.register_forward_hook(lambda m, i, o: seen.update(shape=o.shape))
    first = model.net.get_submodule(model.spec.first_conv)
    first.register_forward_hook(lambda m, i, o: seen.update(input=i[0]))
    x = torch.full((1, 1, 64, 64), 0.75)
    model(x)
    assert torch.allclose(seen["input"], torch.full_like(x, (0.75 - 0.5) / 0.25))
    assert len(seen["shape"]) == 4 and seen["shape"][-1] == 2  # 64 px / 32
    assert layer in list(model.modules())


def test_save_model_records_the_description(tmp_path):
    model = create_model("resnet18", 2, input_size=40)
    save_model(model, tmp_path, ["a", "b"], dataset_id="xyz")
    info = json.loads((tmp_path / "model.json").read_text())
    assert info["arch"] == "resnet18" and info["label_names"] == ["a", "b"] and info["input_size"] == 40
    assert info["dataset_id"] == "xyz" and info["mean"] == SCRATCH_MEAN
