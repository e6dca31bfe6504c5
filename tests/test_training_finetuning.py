"""--freeze-backbone (a linear probe) and --unfreeze-after (then fine-tuning): only the head learns
while frozen, batch norms keep their statistics, the backbone learns from the given epoch on, and a
run resumed after the thaw continues exactly as one never stopped."""

from __future__ import annotations

import pytest
import torch

from cxr_regions.errors import UserError
from cxr_regions.training import TrainConfig, train
from helpers import one_torch_thread
from helpers.starting_points import tiny_dataset


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return tiny_dataset(tmp_path_factory.mktemp("finetune") / "dataset", size=32)


def _config(dataset, out, **overrides) -> TrainConfig:
    settings = {
        "dataset": dataset,
        "out": out,
        "arch": "resnet18",
        "init": "scratch",
        "input_size": 32,
        "batch_size": 12,
        "num_workers": 0,
        "augment": False,
        "progress": False,
        "freeze_backbone": True,
        "unfreeze_after": 1,
        "epochs": 3,
        **overrides,
    }
    return TrainConfig(**settings)


class Snapshot:
    """Keeps the model's state at the end of each training epoch."""

    def __init__(self) -> None:
        from lightning.pytorch.callbacks import Callback

        snapshots = self.states = {}

        class Keep(Callback):
            def on_train_epoch_end(self, trainer, pl_module):
                snapshots[trainer.current_epoch] = {
                    k: v.detach().clone() for k, v in pl_module.model.state_dict().items()
                }

        self.callback = Keep()


@pytest.mark.slow
def test_the_probe_trains_the_head_only_then_the_backbone_thaws_and_resume_is_exact(dataset, tmp_path):
    import lightning as L

    from cxr_regions.models import create_model

    L.seed_everything(0, verbose=False)
    start = create_model("resnet18", 5, "scratch", input_size=32).state_dict()
    snap = Snapshot()
    whole = train(_config(dataset, tmp_path / "whole"), callbacks=[snap.callback])
    after_probe, after_thaw = snap.states[0], snap.states[1]
    head = {"net.fc.weight", "net.fc.bias"}
    changed = {k for k, v in after_probe.items() if not torch.equal(v, start[k])}
    assert changed == head  # weights and batch-norm statistics of the backbone untouched
    moved = {k for k, v in after_thaw.items() if not torch.equal(v, after_probe[k])}
    assert "net.layer1.0.conv1.weight" in moved and "net.bn1.running_mean" in moved

    # Stopped after the thaw (epochs 0 and 1 done), then resumed for epoch 2.
    first = train(_config(dataset, tmp_path / "resumed", epochs=2))
    stopped = torch.load(first / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert not torch.equal(stopped["state_dict"]["model.net.conv1.weight"], start["net.conv1.weight"])
    resumed = train(_config(dataset, tmp_path / "resumed", resume=True))
    checkpoint = torch.load(resumed / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    groups = checkpoint["optimizer_states"][0]["param_groups"]
    assert len(groups) == 2 and groups[1]["lr"] == pytest.approx(groups[0]["lr"] * 0.1)
    final_whole = torch.load(whole / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    for key, value in final_whole["state_dict"].items():
        assert torch.equal(value, checkpoint["state_dict"][key]), key

    import json

    info = json.loads((whole / "model.json").read_text())
    assert info["frozen"]["unfreeze_after"] == 1


def test_unfreeze_needs_a_frozen_backbone(dataset, tmp_path):
    with pytest.raises(UserError, match="--unfreeze-after needs --freeze-backbone"):
        _config(dataset, tmp_path / "x", freeze_backbone=False)
    with pytest.raises(UserError, match="--unfreeze-after"):
        _config(dataset, tmp_path / "x", unfreeze_after=0)


def test_a_run_saved_before_these_settings_still_resumes(dataset, tmp_path):
    """config.yaml of a run written before --freeze-backbone/--unfreeze-after/--upsample existed."""
    import dataclasses

    from cxr_regions.configfile import save_config
    from cxr_regions.training.trainer import _check_resume

    config = _config(dataset, tmp_path / "old", freeze_backbone=False, unfreeze_after=None)
    saved = dataclasses.asdict(config)
    for key in ("freeze_backbone", "unfreeze_after", "upsample"):
        saved.pop(key)
    (tmp_path / "old").mkdir()
    save_config(saved, tmp_path / "old" / "config.yaml", command="train")  # as the older version wrote it
    _check_resume(tmp_path / "old", config)
    with pytest.raises(UserError, match="freeze_backbone"):
        _check_resume(tmp_path / "old", dataclasses.replace(config, freeze_backbone=True))
