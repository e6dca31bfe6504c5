"""model.json and the saved config.yaml as contracts: the model description keeps its `format` and
`format_version` keys (no version = version 1), a foreign or newer file is refused with a message,
and a saved config reads back as the dataclass it was saved from."""

from __future__ import annotations

import json

import pytest

from cxr_regions.configfile import save_config
from cxr_regions.contracts import WEIGHTS_FILE, ModelInfo, SavedConfig
from cxr_regions.errors import UserError
from cxr_regions.training import TrainConfig


def info(**extra) -> ModelInfo:
    return ModelInfo(
        arch="resnet18", num_classes=2, input_size=56, mean=0.5, std=0.25, init="scratch", head="fc",
        first_conv="conv1", label_names=["heart", "lungs"], **extra,
    )  # fmt: skip


def test_model_json_round_trip_keeps_its_format_keys_first(tmp_path):
    written = info(
        dataset_path="/data/ds", best_epoch=3, val_metrics={"val_loss": 0.4, "val_auc_heart": None}
    )
    written.write(tmp_path)
    doc = json.loads((tmp_path / "model.json").read_text(encoding="utf-8"))
    assert list(doc)[:3] == ["format", "format_version", "arch"]
    assert doc["format"] == "cxr-regions/model" and doc["format_version"] == 1
    assert "init_source" not in doc  # unset optional fields are left out
    back = ModelInfo.read(tmp_path)
    assert back == written and back.untrained_labels == [] and back.val_metrics["val_auc_heart"] is None
    assert ModelInfo.path_in(tmp_path / WEIGHTS_FILE) == tmp_path / "model.json"
    assert ModelInfo.read(tmp_path / WEIGHTS_FILE) == written


def test_an_older_newer_or_foreign_model_json(tmp_path):
    doc = info().to_dict()
    del doc["format_version"]
    (tmp_path / "model.json").write_text(json.dumps(doc), encoding="utf-8")
    assert ModelInfo.read(tmp_path).arch == "resnet18"  # no version: version 1
    doc["format_version"] = 7
    (tmp_path / "model.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(
        UserError, match=r"schema version 7; this cxr-regions reads model.json versions 1 to 1"
    ):
        ModelInfo.read(tmp_path)
    doc |= {"format": "someone-else/model", "format_version": 1}
    (tmp_path / "model.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UserError, match=r"is not a cxr-regions model\.json"):
        ModelInfo.read(tmp_path)


def test_a_saved_config_reads_back_as_its_dataclass(tmp_path):
    config = TrainConfig(dataset=tmp_path / "ds", arch="resnet18", epochs=3, devices="2")
    SavedConfig.write(config, tmp_path, command="train")
    saved = SavedConfig.read(tmp_path)
    assert saved.command == "train" and saved.cxr_regions_version and saved.config["epochs"] == 3
    assert saved.as_config(TrainConfig) == config
    # a field a newer version added is ignored; one the file lacks takes its default
    doc = dict(saved.config, from_the_future=1)
    del doc["patience"]
    save_config(doc, tmp_path / "other.yaml", command="train")
    assert SavedConfig.read(tmp_path / "other.yaml").as_config(TrainConfig) == config
    (tmp_path / "bare.yaml").write_text("arch: vgg16\ndataset: x\n", encoding="utf-8")
    assert SavedConfig.read(tmp_path / "bare.yaml").as_config(TrainConfig).arch == "vgg16"
