"""Real films: the NIH sample as the five regions (partial labels), a short training, evaluation with
CIs and calibration, explain, the HTML report, external validation and fine-tuning.

These assert structure and honesty (missing stays missing, CIs present, unlabelled regions said so),
not quality: 200 films at 64 px and one epoch say nothing about how well a model reads films.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from cxr_regions.build import open_dataset
from cxr_regions.cli import app
from cxr_regions.errors import UserError
from cxr_regions.evaluation import evaluate_run, load_calibration
from cxr_regions.regions import REGION_KEYS
from helpers import one_torch_thread, shared_path

pytestmark = pytest.mark.slow  # trains on real films

ARCH = "shufflenet_v2_x0_5"  # tiny: the recipe is the same for the paper's four
TINY = ["--epochs", "1", "--batch-size", "32", "--num-workers", "0", "--accelerator", "cpu", "--devices", "1"]
UNLABELLED = ["thorax", "aorta"]
LUNG_FINDINGS = [
    "atelectasis",
    "infiltration",
    "mass",
    "nodule",
    "pneumonia",
    "pneumothorax",
    "consolidation",
    "edema",
    "emphysema",
    "fibrosis",
]


def _invoke(args: list[str]):
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def regions_dataset(tmp_path_factory) -> Path:
    nih = shared_path("nih-sample")
    out = tmp_path_factory.mktemp("realfilms") / "nih-regions"
    _invoke(["pretrain-prepare", nih, "--regions", "--size", "64", "-o", out])
    return out


@pytest.fixture(scope="module")
def nih_run(regions_dataset, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("realfilms-run") / "run"
    _invoke(["train", regions_dataset, "--arch", ARCH, "--init", "scratch", "-o", run, *TINY])
    return run


@pytest.fixture(scope="module")
def evaluated(nih_run) -> Path:
    evaluate_run(nih_run, n_boot=200)
    return nih_run / "evaluation"


def test_region_dataset_maps_nih_findings_and_leaves_thorax_and_aorta_missing(regions_dataset):
    text = (regions_dataset / "manifest.csv").read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    for row in text[1:]:
        cells = dict(zip(header, row.split(","), strict=True))
        assert cells["thorax"] == "" and cells["aorta"] == "", "missing must be an empty cell, not 0"
        assert cells["label_string"][0] == "-" and cells["label_string"][2] == "-"
    data = open_dataset(regions_dataset)
    assert data.label_names == list(REGION_KEYS)
    labels = data.labels()
    for key in UNLABELLED:
        assert np.isnan(labels[:, REGION_KEYS.index(key)]).all()
    m = data.manifest
    heart = labels[:, REGION_KEYS.index("heart")]
    assert (heart == m["cardiomegaly"].to_numpy()).all()
    diaphragm = m[["effusion", "hernia", "pleural_thickening"]].max(axis=1).to_numpy()
    assert (labels[:, REGION_KEYS.index("diaphragm")] == diaphragm).all()
    assert (labels[:, REGION_KEYS.index("lungs")] == m[LUNG_FINDINGS].max(axis=1).to_numpy()).all()
    meta = data.meta
    assert meta.unlabelled_labels == UNLABELLED and meta.kind == "chestx14-regions"
    assert {r.finding for r in meta.label_mapping} >= {"cardiomegaly", "effusion", "hernia"}
    assert meta.counts.test.label("thorax") is None
    stats = (regions_dataset / "stats.md").read_text(encoding="utf-8")
    assert "| thorax | 胸廓 | not labelled |" in stats and "| aorta | 主动脉 | not labelled |" in stats


def test_a_label_value_other_than_0_1_or_empty_is_refused(regions_dataset):
    from cxr_regions.build.packed import label_matrix

    frame = pd.DataFrame({"heart": ["1", "", "x"]})
    with pytest.raises(UserError, match=r"row 2.*'x'"):
        label_matrix(frame, ["heart"])
    assert np.isnan(label_matrix(frame.iloc[:2], ["heart"])[1, 0])


def test_training_on_partial_labels_records_what_was_never_labelled(nih_run):
    metrics = pd.read_csv(nih_run / "metrics.csv")
    for key in UNLABELLED:
        assert metrics[f"val_auc_{key}"].isna().all(), "no AUC for a region without labels"
    assert metrics["train_loss"].notna().all() and np.isfinite(metrics["train_loss"]).all()
    info = json.loads((nih_run / "model.json").read_text())
    assert info["untrained_labels"] == UNLABELLED
    assert info["labelled_train_films"]["thorax"] == 0 and info["labelled_train_films"]["lungs"] > 0
    card = (nih_run / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "never seen labelled in training" in card and "Intended use" in card


def test_masked_loss_ignores_missing_labels():
    from cxr_regions.training import masked_bce

    logits = torch.tensor([[0.3, -1.0], [2.0, 0.5]], requires_grad=True)
    y = torch.tensor([[1.0, math.nan], [0.0, math.nan]])
    loss = masked_bce(logits, y)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y[:, 0])
    assert torch.isclose(loss, expected)
    loss.backward()
    assert torch.all(logits.grad[:, 1] == 0) and torch.all(logits.grad[:, 0] != 0)


def test_evaluation_reports_unlabelled_regions_as_such_and_every_auc_with_its_ci(evaluated):
    auc = pd.read_csv(evaluated / "auc.csv").set_index("label")
    for key in UNLABELLED:
        row = auc.loc[key]
        assert not row["defined"] and pd.isna(row["auc"]) and row["n_pos"] == 0 and row["n_neg"] == 0
        assert row["n_missing"] > 0
    defined = auc[auc["defined"]]
    assert len(defined) >= 2  # lungs and the mean at least
    assert defined["ci_low"].notna().all() and defined["ci_high"].notna().all()
    assert (defined["ci_low"] <= defined["auc"]).all() and (defined["auc"] <= defined["ci_high"]).all()
    regions = auc.drop(index="mean")
    assert (regions["reliable"] == (regions["defined"] & (regions["n_pos"] >= 10))).all()
    md = (evaluated / "auc.md").read_text(encoding="utf-8")
    assert "not labelled" in md and "Not labelled: thorax, aorta" in md
    predictions = pd.read_csv(evaluated / "predictions.csv", dtype={"image_id": str})
    assert predictions["thorax"].isna().all() and predictions["lungs"].notna().all()
    doc = json.loads((evaluated / "evaluation.json").read_text())
    assert doc["auc"]["thorax"]["auc"] is None and doc["untrained_labels"] == UNLABELLED


def test_calibration_is_fitted_on_validation_with_ece_and_brier_cis(evaluated):
    table = pd.read_csv(evaluated / "calibration.csv").set_index("label")
    assert list(table.index) == list(REGION_KEYS)
    for when in ("before", "after"):
        for metric in ("ece", "brier"):
            assert {f"{metric}_{when}{part}" for part in ("", "_ci_low", "_ci_high")} <= set(table.columns)
    lungs = table.loc["lungs"]
    assert lungs["n_films"] > 0 and lungs["ece_before_ci_low"] <= lungs["ece_before"]
    assert lungs["brier_after_ci_low"] <= lungs["brier_after"] <= lungs["brier_after_ci_high"]
    for key in UNLABELLED:
        assert table.loc[key, "n_films"] == 0 and pd.isna(table.loc[key, "ece_before"])
        assert table.loc[key, "temperature"] == 1.0 and table.loc[key, "fit"].startswith("not fitted")
    assert (evaluated / "reliability.png").stat().st_size > 1000
    calibration = load_calibration(evaluated)
    raw = np.linspace(0.05, 0.95, 7)
    calibrated = calibration.apply_label("lungs", raw)
    assert np.all(np.diff(calibrated) > 0), "calibration keeps the order (AUCs and decisions unchanged)"
    assert calibration.apply({"thorax": 0.3})["thorax"] == pytest.approx(0.3)  # not fitted: unchanged
    matrix = calibration.apply(np.full((2, len(REGION_KEYS)), 0.7))
    assert matrix.shape == (2, len(REGION_KEYS))
    assert "Calibration" in (evaluated / "auc.md").read_text(encoding="utf-8")
    card = (evaluated.parent / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert "## Test performance" in card and "## Calibration" in card and "## Thresholds" in card
    assert "not labelled" in card


def test_explain_and_the_report_show_calibrated_probabilities_and_not_labelled_regions(
    regions_dataset, nih_run, evaluated, tmp_path
):
    explain = tmp_path / "explain"
    _invoke(["explain", nih_run, "--split", "test", "--thresholds", evaluated, "-o", explain, "--no-panels"])
    films = pd.read_csv(explain / "explain.csv", dtype={"image": str})
    assert films["calibrated"].all()
    assert films["p_thorax"].isna().all() and films["p_aorta"].isna().all()  # never trained: no number
    assert not films["predicted_abnormal"].fillna("").str.contains("thorax|aorta").any()
    expected = load_calibration(evaluated).apply_label("lungs", films["p_raw_lungs"].to_numpy())
    assert np.allclose(films["p_lungs"], expected, atol=1e-5)
    html = tmp_path / "report.html"
    _invoke(
        ["report", "--dataset", regions_dataset, "--evaluation", evaluated, "--explain", explain, "-o", html]
    )
    text = html.read_text(encoding="utf-8")
    assert "not labelled" in text and "p (calibrated)" in text and 'id="reliability"' in text


def test_external_validation_matches_labels_by_name_and_reports_the_overlap(nih_run, tmp_path):
    nih = shared_path("nih-sample")
    findings = tmp_path / "findings"
    _invoke(["pretrain-prepare", nih, "--size", "64", "-o", findings])
    with pytest.raises(UserError, match="no label of the run"):
        evaluate_run(nih_run, dataset=findings, n_boot=20)


def test_external_validation_on_another_data_set_and_split_all(nih_run, phantom_dataset, tmp_path):
    result = evaluate_run(nih_run, dataset=phantom_dataset, split="all", n_boot=50, out=tmp_path / "ext")
    overlap = result.info["label_overlap"]
    assert overlap["scored"] == list(REGION_KEYS) and overlap["run_only"] == []
    assert "own validation split" in overlap["thresholds_from"]
    assert result.n_films == len(open_dataset(phantom_dataset).manifest)
    md = (tmp_path / "ext" / "auc.md").read_text(encoding="utf-8")
    assert "External validation" in md and "labels matched by name" in md
    # thresholds come from the run's own val split, where thorax is not labelled
    assert "no labelled val film" in result.thresholds["thorax"].source


def test_fine_tuning_from_the_nih_region_run_on_full_five_labels(
    nih_run, phantom_dataset, regions_dataset, tmp_path
):
    fine = tmp_path / "fine"
    _invoke(["train", phantom_dataset, "--arch", ARCH, "--init", f"chestx14:{nih_run}", "-o", fine, *TINY])
    info = json.loads((fine / "model.json").read_text())
    assert info["init"] == "chestx14" and info["untrained_labels"] == []
    metrics = pd.read_csv(fine / "metrics.csv")
    assert metrics[[f"val_auc_{k}" for k in REGION_KEYS]].notna().all().all()
    assert (fine / "MODEL_CARD.md").is_file()
    # and the hospital-trained model measured on the public films: thorax and aorta not labelled there
    external = evaluate_run(fine, dataset=regions_dataset, n_boot=20, out=tmp_path / "on-nih")
    assert external.info["label_overlap"]["scored"] == list(REGION_KEYS)
    for key in UNLABELLED:
        assert not external.auc[key].defined and external.auc[key].n_missing == external.n_films
    assert external.auc["lungs"].defined and not math.isnan(external.auc["lungs"].ci_low)
