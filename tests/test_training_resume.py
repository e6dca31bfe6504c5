"""Short trainings on a small phantom set: resume after a kill, any label set, CLI errors."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
import torch
from lightning.pytorch.callbacks import Callback
from typer.testing import CliRunner

from cxr_regions.cli import app
from cxr_regions.configfile import load_config
from cxr_regions.errors import UserError
from cxr_regions.training import TrainConfig, train
from helpers import one_torch_thread


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """One thread: faster than two for these small tensors on the shared two-core test machine."""
    with one_torch_thread():
        yield


class KillDuring(Callback):
    """Stands in for a kill: fails in the middle of ``epoch``, after its first steps."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.epoch, self.batch = epoch, batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            raise RuntimeError("killed")


def _config(dataset, out, epochs: int, **kw) -> TrainConfig:
    kw.setdefault("input_size", 32)
    kw.setdefault("num_workers", 0)
    return TrainConfig(
        dataset=dataset,
        out=out,
        arch="shufflenet_v2_x0_5",  # small and fast: this test is about the bookkeeping, not learning
        init="scratch",
        epochs=epochs,
        batch_size=16,
        lr_schedule="step",
        patience=100,
        progress=False,
        **kw,
    )


@pytest.fixture(scope="module")
def small_dataset(phantom_dataset, tmp_path_factory):
    """The first 40 patients of the phantom data set, rebuilt (no rendering): quick epochs."""
    from cxr_regions.build import BuildConfig, build_from_arrays, open_dataset

    data = open_dataset(phantom_dataset)
    keep = data.manifest[data.manifest["patient_key"].isin(sorted(set(data.manifest["patient_key"]))[:40])]
    keep = keep.drop_duplicates("source_image_id")
    images = data.images[keep["index"].to_numpy()]
    table = keep[["source_image_id", "patient_key", *data.label_names]].rename(
        columns={"source_image_id": "image_id"}
    )
    config = BuildConfig(size=data.size, split=(0.6, 0.2, 0.2), seed=0, progress=False)
    return build_from_arrays(tmp_path_factory.mktemp("small") / "dataset", images, table, config)


def test_resume_after_kill_continues_epoch_optimizer_and_schedule(small_dataset, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(RuntimeError, match="killed"):
        train(_config(small_dataset, run, epochs=4), callbacks=[KillDuring(epoch=2, batch=2)])
    # The kill cost only the epoch in progress: epochs 0 and 1 are saved.
    saved = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert saved["epoch"] == 1
    steps_per_epoch = saved["global_step"] // 2
    assert pd.read_csv(run / "metrics.csv")["epoch"].tolist() == [0, 1]

    with pytest.raises(UserError, match="--resume"):
        train(_config(small_dataset, run, epochs=4))
    with pytest.raises(UserError, match="input_size"):
        train(_config(small_dataset, run, epochs=4, resume=True, input_size=40))

    # Resume through the command line, as a cluster job would after a pre-emption.
    result = CliRunner().invoke(
        app,
        [
            "train", str(small_dataset), "-o", str(run), "--init", "scratch",
            "--arch", "shufflenet_v2_x0_5", "--input-size", "32", "--epochs", "4", "--batch-size", "16",
            "--lr-schedule", "step",
            "--patience", "100", "--num-workers", "0", "--resume",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    metrics = pd.read_csv(run / "metrics.csv")
    assert metrics["epoch"].tolist() == [0, 1, 2, 3]
    # The step schedule kept halving across the restart instead of starting again at 1e-3.
    assert metrics["lr"].tolist() == pytest.approx([1e-3 * 0.5**e for e in range(4)])
    final = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert final["epoch"] == 3 and final["global_step"] == 4 * steps_per_epoch
    # Adam's per-parameter step count carried over: it counts every step of all four epochs.
    adam_steps = {float(s["step"]) for s in final["optimizer_states"][0]["state"].values()}
    assert adam_steps == {4.0 * steps_per_epoch}
    assert final["lr_schedulers"][0]["last_epoch"] == 4
    assert (run / "model.safetensors").is_file()


def test_cli_reports_missing_imagenet_weights_without_traceback(small_dataset, tmp_path, monkeypatch, capsys):
    from cxr_regions.cli import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    argv = ["cxr-regions", "train", str(small_dataset), "-o", str(tmp_path / "r"), "--arch", "resnet34"]
    monkeypatch.setattr("sys.argv", [*argv, "--init", "imagenet", "--input-size", "32"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "resnet34-b627a593.pth" in err and "--weights PATH" in err
    assert "Traceback" not in err


def test_training_is_generic_over_the_datasets_labels(small_dataset, tmp_path):
    """Any label set works (ChestX-ray14 pretraining has 14 findings): here two made-up labels."""
    from cxr_regions.build import BuildConfig, build_from_arrays, open_dataset
    from cxr_regions.training import load_run

    data = open_dataset(small_dataset)
    films = data.manifest.drop_duplicates("source_image_id")
    table = pd.DataFrame(
        {
            "image_id": films["source_image_id"],
            "patient_key": films["patient_key"],
            "cardiac": films["heart"],
            "other": films[["lungs", "aorta"]].max(axis=1),
        }
    )
    config = BuildConfig(size=data.size, split=(0.6, 0.2, 0.2), seed=0, progress=False)
    dataset = build_from_arrays(
        tmp_path / "two", data.images[films["index"].to_numpy()], table, config, ["cardiac", "other"]
    )
    run = train(_config(dataset, tmp_path / "run", epochs=1))
    columns = pd.read_csv(run / "metrics.csv").columns
    assert [c for c in columns if c.startswith("val_auc_")] == ["val_auc_cardiac", "val_auc_other"]
    loaded = load_run(run)
    assert loaded.label_names == ["cardiac", "other"]
    assert loaded.model(torch.rand(3, 1, 32, 32)).shape == (3, 2)


def _run_outputs(run) -> tuple[pd.DataFrame, dict[str, torch.Tensor]]:
    from safetensors.torch import load_file

    return pd.read_csv(run / "metrics.csv"), load_file(str(run / "model.safetensors"))


def _assert_same_run(a, b) -> None:
    (metrics_a, weights_a), (metrics_b, weights_b) = _run_outputs(a), _run_outputs(b)
    pd.testing.assert_frame_equal(metrics_a, metrics_b, check_exact=True)
    assert weights_a.keys() == weights_b.keys()
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)


def test_cpu_training_repeats_exactly_with_the_same_seed(small_dataset, tmp_path):
    """Same seed, same data: the same metrics to the last bit and the same weights (worker-seeded
    augmentation included); another seed gives another run."""
    runs = [
        train(_config(small_dataset, tmp_path / name, epochs=2, augment=True, num_workers=1, seed=seed))
        for name, seed in (("a", 7), ("b", 7), ("c", 8))
    ]
    _assert_same_run(runs[0], runs[1])
    assert load_config(runs[0] / "config.yaml")["deterministic"] is True
    assert not _run_outputs(runs[0])[0]["val_loss"].equals(_run_outputs(runs[2])[0]["val_loss"])
    assert not torch.are_deterministic_algorithms_enabled()  # the process-wide flag is put back


def test_a_resumed_run_equals_the_run_never_stopped(small_dataset, tmp_path):
    """The epoch-seeded order and augmentation: a run killed in epoch 2 and resumed ends where an
    uninterrupted run ends."""
    straight = train(_config(small_dataset, tmp_path / "straight", epochs=3, augment=True))
    run = tmp_path / "resumed"
    with pytest.raises(RuntimeError, match="killed"):
        train(_config(small_dataset, run, epochs=3, augment=True), callbacks=[KillDuring(epoch=2, batch=1)])
    with warnings.catch_warnings(record=True) as caught:  # and quietly: Lightning's noise is filtered
        warnings.simplefilter("always")
        train(_config(small_dataset, run, epochs=3, augment=True, resume=True))
    assert [str(w.message) for w in caught] == []
    _assert_same_run(straight, run)
