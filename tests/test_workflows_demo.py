"""The demo runs every stage end to end (here on a tiny phantom) and names the report it wrote."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cxr_regions.errors import UserError
from cxr_regions.regions import REGION_KEYS


def test_demo_runs_every_stage_and_writes_each_stages_files(tiny_demo):
    from cxr_regions.workflows.demo import STAGES

    result, stages = tiny_demo
    assert stages == list(STAGES) and list(result.seconds) == list(STAGES)
    out = result.out
    for path in (
        "phantom/truth.csv", "ingest/images.csv", "labels.csv", "dataset/manifest.csv",
        "run/model.safetensors", "run/evaluation/auc.csv", "explain/explain.csv", "explain/localisation.csv",
        "summary.md", "summary.json", "demo.yaml",
    ):  # fmt: skip
        assert (out / path).is_file(), path
    manifest = pd.read_csv(out / "dataset" / "manifest.csv", dtype=str)
    test = manifest.loc[manifest["split"] == "test", "image_id"]
    explained = pd.read_csv(out / "explain" / "explain.csv", dtype=str)
    assert sorted(explained["image"]) == sorted(test)  # every test film, named by its image id
    assert len(list((out / "explain" / "panels").glob("*.png"))) == min(3, len(test))
    with np.load(out / "explain-masks" / f"{test.iloc[0]}.npz") as masks:
        assert set(masks.files) == set(REGION_KEYS)
    assert set(result.labeler_agreement) == set(REGION_KEYS)
    assert all(0.0 <= v <= 1.0 for v in result.labeler_agreement.values())


def test_demo_report_says_phantom_and_shows_the_films(tiny_demo):
    result, _ = tiny_demo
    html = result.report.read_text(encoding="utf-8")
    assert "PHANTOM DATA" in html and '<meta charset="utf-8">' in html
    assert html.count('<article class="card"') == 3
    assert "Made by cxr-regions demo" in html and "resnet18" in html
    summary = (result.out / "summary.md").read_text(encoding="utf-8")
    assert "PHANTOM" in summary and str(result.report) in summary and "| mean |" in summary
    record = json.loads((result.out / "summary.json").read_text(encoding="utf-8"))
    assert record["config"]["films"] == 48 and list(record["seconds"]) == list(result.seconds)
    assert record["auc"][-1]["label"] == "mean" and record["auc"][-1]["auc"] == pytest.approx(result.mean_auc)


def test_demo_refuses_a_folder_it_did_not_write(tmp_path):
    from cxr_regions.workflows.demo import DemoConfig, run_demo

    (tmp_path / "thesis.tex").write_text("precious", encoding="utf-8")
    with pytest.raises(UserError, match="did not write"):
        run_demo(DemoConfig(out=tmp_path, progress=False))
    assert (tmp_path / "thesis.tex").read_text(encoding="utf-8") == "precious"


def test_a_second_run_starts_from_a_clean_folder_but_keeps_other_files(tmp_path):
    from cxr_regions.workflows.demo import OUTPUTS, clear_previous

    for name in OUTPUTS:
        (tmp_path / name).mkdir() if "." not in name else (tmp_path / name).write_text(
            "old", encoding="utf-8"
        )
    (tmp_path / "run" / "model.safetensors").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    clear_previous(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_run_demo_clears_an_earlier_demos_outputs_before_it_runs(tmp_path):
    """A rerun into the same folder starts clean (run_demo did not call clear_previous before): no
    stage may resume from, or refuse, the files of an earlier run; files no demo wrote stay."""
    from cxr_regions.workflows.demo import DemoConfig, run_demo

    (tmp_path / "demo.yaml").write_text("old", encoding="utf-8")
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    (tmp_path / "run" / "checkpoints" / "last.ckpt").write_bytes(b"an earlier run")
    (tmp_path / "summary.json").write_text("{}", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")

    class Stop(Exception):
        pass

    def stop_at_the_first_stage(step: int, stage: str, what: str) -> None:
        raise Stop

    with pytest.raises(Stop):
        run_demo(DemoConfig(out=tmp_path, progress=False), stop_at_the_first_stage)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.yaml", "notes.txt"]
    assert "command: demo" in (tmp_path / "demo.yaml").read_text(encoding="utf-8")


def test_demo_config_is_saved(tiny_demo):
    import yaml

    result, _ = tiny_demo
    saved = yaml.safe_load((result.out / "demo.yaml").read_text(encoding="utf-8"))
    assert saved["command"] == "demo" and saved["config"]["films"] == 48
    assert json.loads(json.dumps(saved["config"]))["arch"] == "resnet18"
