"""``evaluate`` and ``compare`` on a real trained run (the session's phantom run)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from cxr_regions.cli import app
from cxr_regions.errors import UserError
from cxr_regions.evaluation.assess import evaluate_run
from cxr_regions.evaluation.compare import compare_runs
from cxr_regions.evaluation.metrics import youden_threshold
from cxr_regions.regions import REGION_KEYS


@pytest.fixture(scope="module")
def evaluation(trained_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("evaluation")
    return evaluate_run(trained_run, out=out, n_boot=200)


def test_evaluate_run_scores_the_test_films_with_scikit_learn_and_val_thresholds(evaluation, trained_run):
    from cxr_regions.build import open_dataset
    from cxr_regions.training import predict

    out = evaluation.out
    files = ("predictions.csv", "auc.csv", "auc.md", "thresholds.csv", "roc.png", "evaluation.json")
    for name in (*files, "config.yaml"):
        assert (out / name).stat().st_size > 0, name
    data = open_dataset(json.loads((trained_run / "model.json").read_text())["dataset_path"])
    test = data.split("test")
    assert evaluation.n_films == len(test) and evaluation.n_patients == test["patient_key"].nunique()

    predictions = pd.read_csv(out / "predictions.csv", dtype={"image_id": str, "patient_key": str})
    columns = ["image_id", "patient_key", *(f"p_{k}" for k in REGION_KEYS), *REGION_KEYS]
    assert list(predictions.columns) == columns
    assert list(predictions["image_id"]) == list(test["image_id"])
    auc = pd.read_csv(out / "auc.csv").set_index("label")
    for key in REGION_KEYS:
        expected = roc_auc_score(predictions[key], predictions[f"p_{key}"])
        assert auc.loc[key, "auc"] == pytest.approx(expected, abs=1e-4)
        assert auc.loc[key, "ci_low"] <= auc.loc[key, "auc"] <= auc.loc[key, "ci_high"]
    assert auc.loc["mean", "auc"] == pytest.approx(auc.loc[list(REGION_KEYS), "auc"].mean(), abs=1e-4)
    assert auc.loc["mean", "ci_low"] > 0.5  # the session run learned the phantom's regions

    val = predict(trained_run, data.path, "val")
    thresholds = pd.read_csv(out / "thresholds.csv").set_index("label")
    for key in REGION_KEYS:
        chosen = youden_threshold(val[key], val[f"p_{key}"])
        assert thresholds.loc[key, "threshold"] == pytest.approx(chosen, abs=1e-4)
        called = predictions[f"p_{key}"] >= thresholds.loc[key, "threshold"]
        assert thresholds.loc[key, "tp"] == int((called & (predictions[key] == 1)).sum())


def test_compare_a_run_with_itself_via_its_evaluation_folder(evaluation, trained_run, tmp_path):
    frame = compare_runs(evaluation.out, trained_run, n_boot=100, out=tmp_path)
    assert (frame["diff"] == 0).all() and (frame["ci_high"] == 0).all()
    assert (tmp_path / "compare.md").exists() and (tmp_path / "compare.csv").exists()
    with pytest.raises(UserError, match="neither a run folder"):
        compare_runs(tmp_path, trained_run)


def test_evaluate_and_compare_commands(trained_run, evaluation, tmp_path):
    runner = CliRunner()
    args = ["evaluate", str(trained_run), "--split", "val", "-o", str(tmp_path / "ev"), "--n-boot", "50"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Evaluation on the val split" in result.output
    doc = json.loads((tmp_path / "ev" / "evaluation.json").read_text())
    assert doc["split"] == "val" and doc["n_boot"] == 50 and set(doc["auc"]) == {*REGION_KEYS, "mean"}
    result = runner.invoke(app, ["compare", str(evaluation.out), str(trained_run), "--n-boot", "20"])
    assert result.exit_code == 0, result.output
    assert "| **mean** |" in result.output and "+0.000" in result.output
