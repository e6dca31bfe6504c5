"""The Table 2 grid on phantom data: real training at low resolution, table files, resume, skips."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from cxr_regions.errors import UserError
from cxr_regions.evaluation.paper_table2 import COLUMNS
from cxr_regions.workflows.experiment import load_grid, run_experiment
from helpers import one_torch_thread

ARCHS = ["resnet18", "mobilenet_v3_small"]  # cheap on a CPU; the paper's four work the same way


def _grid(tmp_path, dataset, **changes):
    grid = {
        "dataset": str(dataset),
        "archs": ARCHS,
        "inits": ["scratch", "imagenet", "chestx14"],
        "chestx14": {"resnet18": "no-such-pretraining-run"},  # relative: resolved beside the grid file
        "train": {"epochs": 1, "input_size": 32, "augment": False, "num_workers": 0, "progress": False},
        "per_arch": {"mobilenet_v3_small": {"batch_size": 32}},
        "n_boot": 100,
        **changes,
    }
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(grid), encoding="utf-8")
    return load_grid(path)


@pytest.fixture(scope="module")
def torch_one_thread():

    with one_torch_thread():
        yield


def test_tiny_grid_writes_table2_and_resumes_without_retraining(
    phantom_dataset, tmp_path, monkeypatch, torch_one_thread
):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-torch-home"))  # no ImageNet weights here
    out = tmp_path / "experiment"
    grid = _grid(tmp_path, phantom_dataset)
    first = run_experiment(grid, out, paper=True)

    scratch = [f"scratch-{a}" for a in ARCHS]
    assert first.trained == scratch and first.evaluated == scratch
    assert sorted(first.skipped) == sorted(f"{i}-{a}" for i in ("imagenet", "chestx14") for a in ARCHS)
    for name in ("table2.md", "table2.csv", "table2.png", "experiment.json", "experiment.yaml"):
        assert (out / name).stat().st_size > 0, name
    table = pd.read_csv(out / "table2.csv")
    done = table[table.status == "done"]
    assert sorted(done.network) == sorted(ARCHS) and set(done.init) == {"scratch"}
    assert done[list(COLUMNS)].notna().all().all()
    for cell in scratch:  # the table holds what each cell's evaluation says
        auc = pd.read_csv(out / cell / "evaluation" / "auc.csv").set_index("label")["auc"]
        row = done[done.network == cell.split("-", 1)[1]].iloc[0]
        assert row["mean"] == pytest.approx(auc["mean"], abs=1e-4)
    md = (out / "table2.md").read_text(encoding="utf-8")
    assert "weights missing" in md and "no-such-pretraining-run" in md and "resnet18-" in md
    assert "| from scratch | resnet18 |" in md and "| ImageNet | mobilenet_v3_small | *skipped* |" in md
    assert (
        yaml.safe_load((out / "scratch-mobilenet_v3_small" / "config.yaml").read_text())["config"][
            "batch_size"
        ]
        == 32
    )

    weights = {c: (out / c / "model.safetensors").stat().st_mtime_ns for c in scratch}
    again = run_experiment(grid, out, paper=True)
    assert again.trained == [] and again.evaluated == [] and again.reused == scratch
    assert {c: (out / c / "model.safetensors").stat().st_mtime_ns for c in scratch} == weights

    # another bootstrap count re-evaluates the trained cells, still without training
    more = run_experiment(_grid(tmp_path, phantom_dataset, n_boot=150), out)
    assert more.trained == [] and more.evaluated == scratch
    assert {c: (out / c / "model.safetensors").stat().st_mtime_ns for c in scratch} == weights

    # a cell interrupted after its checkpoint but before the export resumes from that checkpoint
    cell = out / scratch[0]
    for name in ("model.safetensors", "model.json"):
        (cell / name).unlink()
    resumed = run_experiment(_grid(tmp_path, phantom_dataset, n_boot=150), out)
    assert resumed.trained == [scratch[0]] and resumed.reused == [scratch[1]]
    assert yaml.safe_load((cell / "config.yaml").read_text())["config"]["resume"] is True
    assert len(pd.read_csv(cell / "metrics.csv")) == 1  # the finished epoch was not trained again

    # other training settings would make the finished cells incomparable: refused before any work
    with pytest.raises(UserError, match="epochs=1"):
        changed = _grid(tmp_path, phantom_dataset)
        changed.train["epochs"] = 2
        run_experiment(changed, out)


def test_grid_file_errors_are_reported_before_training(phantom_dataset, tmp_path):
    with pytest.raises(UserError, match="unknown training setting"):
        run_experiment(_grid(tmp_path, phantom_dataset, train={"epochz": 1}), tmp_path / "a")
    with pytest.raises(UserError, match="alexnet"):  # 32 px is below AlexNet's smallest input
        run_experiment(_grid(tmp_path, phantom_dataset, archs=["alexnet"], per_arch={}), tmp_path / "b")
    with pytest.raises(UserError, match="set per cell"):
        run_experiment(_grid(tmp_path, phantom_dataset, train={"arch": "vgg16"}), tmp_path / "c")
    with pytest.raises(UserError, match="unknown network"):
        run_experiment(_grid(tmp_path, phantom_dataset, archs=["resnet7"]), tmp_path / "d")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: x\ninits: [scratch, imagenet21k]\n", encoding="utf-8")
    with pytest.raises(UserError, match="inits"):
        load_grid(bad)
    assert not any((tmp_path / d).exists() for d in "abcd")


@pytest.mark.parametrize("name", ["grid-paper", "grid-tiny", "grid-phantom"])
def test_example_grid_files_are_valid(name):
    from pathlib import Path

    from cxr_regions.workflows.experiment import plan_cells, train_config

    examples = Path(__file__).resolve().parents[1] / "examples"
    grid = load_grid(examples / f"{name}.yaml")
    for cell in plan_cells(grid):
        config = train_config(grid, cell, examples / "unused" / cell.name)
        assert (config.arch, config.init.split(":")[0]) == (cell.arch, cell.init)
