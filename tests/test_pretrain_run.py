"""A tiny pretraining run on the real NIH sample, and fine-tuning from it on phantom films."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from cxr_regions.build import open_dataset
from cxr_regions.cli import app
from cxr_regions.errors import UserError
from cxr_regions.models import create_model
from cxr_regions.pretrain.chexnet import CHEXNET_AUC
from cxr_regions.pretrain.nih_findings import FINDING_KEYS
from cxr_regions.regions import REGION_KEYS
from helpers import one_torch_thread, shared_path

pytestmark = pytest.mark.slow  # trains

ARCH = "shufflenet_v2_x0_5"  # a tiny torchvision network: the recipe is the same for the paper's four
TINY = ["--epochs", "1", "--batch-size", "32", "--num-workers", "0", "--accelerator", "cpu", "--devices", "1"]


def _invoke(args: list[str]):
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One thread: faster than two for these small tensors on a shared test machine."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory) -> tuple[Path, Path]:
    """Pretrain a scratch network for one epoch on the 200 real films at 64 px; return (run, prepared)."""
    nih = shared_path("nih-sample")
    tmp = tmp_path_factory.mktemp("pretrain")
    run = tmp / "runs" / f"chestx14-{ARCH}"
    _invoke(
        ["pretrain", str(nih), "--arch", ARCH, "--init", "scratch", "--size", "64", "-o", str(run), *TINY]
    )
    return run, tmp / "runs" / "chestx14-64px"


def test_pretraining_writes_a_14_finding_checkpoint_and_the_chexnet_comparison(pretrained):
    run, prepared = pretrained
    info = json.loads((run / "model.json").read_text())
    assert info["arch"] == ARCH and list(info["label_names"]) == list(FINDING_KEYS)
    assert (run / "model.safetensors").is_file()

    test = open_dataset(prepared).split("test")
    table = pd.read_csv(run / "chestx14_auc.csv").set_index("finding")
    assert list(table.index) == [*FINDING_KEYS, "mean"]
    for key in FINDING_KEYS:
        both_classes = test[key].nunique() == 2
        assert math.isnan(table.loc[key, "auc"]) != both_classes, key
        assert table.loc[key, "positives"] == test[key].sum()
        assert table.loc[key, "chexnet_auc"] == CHEXNET_AUC[key]
        if both_classes:  # every AUC with its patient-bootstrap CI, flagged under 10 positives
            assert table.loc[key, "ci_low"] <= table.loc[key, "auc"] <= table.loc[key, "ci_high"]
            assert bool(table.loc[key, "reliable"]) == (table.loc[key, "positives"] >= 10)
    assert 0 <= table.loc["mean", "auc"] <= 1
    assert table.loc["mean", "ci_low"] <= table.loc["mean", "auc"] <= table.loc["mean", "ci_high"]
    md = (run / "chestx14_auc.md").read_text()
    assert "95% CI" in md and ("(unreliable)" in md) == (~table["reliable"] & table["auc"].notna()).any()
    predictions = pd.read_csv(run / "chestx14_predictions.csv", dtype={"image_id": str})
    assert sorted(predictions["image_id"]) == sorted(test["image_id"])
    assert "CheXNet" in (run / "chestx14_auc.md").read_text()


def test_train_fine_tunes_from_the_pretraining_checkpoint_on_phantom_films(
    pretrained, phantom_dataset, tmp_path
):
    run, _ = pretrained
    started = create_model(ARCH, len(REGION_KEYS), init=f"chestx14:{run}", input_size=56)
    pretrained_state = load_file(str(run / "model.safetensors"))
    backbone = "net.conv5.0.weight"
    assert torch.equal(started.state_dict()[backbone], pretrained_state[backbone])
    assert started.head.out_features == len(REGION_KEYS)

    fine = tmp_path / "fine"
    _invoke(
        ["train", str(phantom_dataset), "--arch", ARCH, "--init", f"chestx14:{run}", "-o", str(fine), *TINY]
    )
    info = json.loads((fine / "model.json").read_text())
    assert info["init"] == "chestx14" and list(info["label_names"]) == list(REGION_KEYS)
    assert info["input_size"] == 56 and (fine / "metrics.csv").is_file()


def test_a_checkpoint_of_another_architecture_is_refused_with_the_reason(pretrained):
    run, _ = pretrained
    with pytest.raises(UserError, match=rf"{ARCH} model.*densenet121 cannot start from it"):
        create_model("densenet121", len(REGION_KEYS), init=f"chestx14:{run}", input_size=64)


def test_pretrain_takes_every_option_of_train():
    from typer.main import get_command

    commands = get_command(app).commands
    train_options = {o for p in commands["train"].params if p.name != "dataset" for o in p.opts}
    pretrain_options = {o for p in commands["pretrain"].params for o in p.opts}
    assert train_options <= pretrain_options
    assert {"--prepared", "--size", "--allow-missing", "--pack-workers", "--split-seed"} <= pretrain_options
    assert [p.metavar for p in commands["pretrain"].params if p.param_type_name == "argument"] == ["NIH_DIR"]
