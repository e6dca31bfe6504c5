"""Evaluation folder, paired comparison and Table 2 files from prediction tables (no model needed)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from cxr_regions.errors import UserError
from cxr_regions.evaluation.assess import read_predictions, score_predictions
from cxr_regions.evaluation.compare import compare_predictions
from cxr_regions.evaluation.paper_table2 import COLUMNS, paper_auc
from cxr_regions.evaluation.table2 import BLOCK_MEAN, CellOutcome, table2_frame, write_table2
from cxr_regions.regions import REGION_KEYS


def _predictions(n: int, separation: dict[str, float], seed: int = 0, labels=None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = labels if labels is not None else rng.integers(0, 2, size=(n, len(REGION_KEYS)))
    table = {
        "image_id": [f"img{i:04d}" for i in range(n)],
        "patient_key": [f"pk{i // 3:04d}" for i in range(n)],  # three films per patient
    }
    for j, key in enumerate(REGION_KEYS):
        table[f"p_{key}"] = 1 / (1 + np.exp(-(rng.normal(size=n) + separation.get(key, 1.0) * y[:, j])))
    for j, key in enumerate(REGION_KEYS):
        table[key] = y[:, j]
    return pd.DataFrame(table)


def test_evaluation_folder_matches_scikit_learn_and_marks_one_class_undefined(tmp_path):
    test = _predictions(90, {}, seed=1)
    test["heart"] = 0  # all-normal heart in this split
    val = _predictions(60, {}, seed=2)
    result = score_predictions(test, REGION_KEYS, tmp_path, val=val, n_boot=200)
    for name in ("predictions.csv", "auc.csv", "auc.md", "thresholds.csv", "roc.png", "evaluation.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert result.undefined == ["heart"]
    doc = json.loads((tmp_path / "evaluation.json").read_text())
    assert doc["auc"]["heart"]["auc"] is None and doc["auc"]["heart"]["defined"] is False
    auc = pd.read_csv(tmp_path / "auc.csv").set_index("label")
    assert math.isnan(auc.loc["heart", "auc"])
    for key in ("thorax", "lungs"):
        assert auc.loc[key, "auc"] == pytest.approx(roc_auc_score(test[key], test[f"p_{key}"]), abs=1e-4)
    assert "undefined" in (tmp_path / "auc.md").read_text()
    # the predictions file round-trips with the contract's columns
    back = read_predictions(tmp_path / "predictions.csv", REGION_KEYS)
    assert list(back.columns[:2]) == ["image_id", "patient_key"]
    np.testing.assert_allclose(back["p_lungs"], test["p_lungs"], atol=1e-6)
    # thresholds come from val; heart is still scored at a threshold
    th = pd.read_csv(tmp_path / "thresholds.csv").set_index("label")
    assert (th["source"] == "val Youden").all()


def test_threshold_falls_back_when_val_has_one_class(tmp_path):
    test, val = _predictions(60, {}, seed=3), _predictions(30, {}, seed=4)
    val["aorta"] = 1
    result = score_predictions(test, REGION_KEYS, tmp_path, val=val, n_boot=50)
    assert result.thresholds["aorta"].threshold == 0.5
    assert "one class" in result.thresholds["aorta"].source
    without_val = score_predictions(test, REGION_KEYS, tmp_path / "b", val=val.iloc[:0], n_boot=50)
    assert {op.source for op in without_val.thresholds.values()} == {"default 0.5 (no val split)"}


def test_bad_predictions_are_refused_with_a_reason(tmp_path):
    test = _predictions(20, {})
    with pytest.raises(UserError, match="lacks columns p_heart"):
        score_predictions(test.drop(columns="p_heart"), REGION_KEYS, tmp_path, n_boot=10)
    test.loc[3, "lungs"] = 2
    with pytest.raises(UserError, match="img0003"):
        score_predictions(test, REGION_KEYS, tmp_path, n_boot=10)


def test_paired_comparison_finds_the_better_model_and_not_a_copy():
    labels = np.random.default_rng(5).integers(0, 2, size=(300, len(REGION_KEYS)))
    weak = _predictions(300, dict.fromkeys(REGION_KEYS, 0.3), seed=6, labels=labels)
    strong = _predictions(300, {**dict.fromkeys(REGION_KEYS, 0.3), "aorta": 3.0}, seed=7, labels=labels)
    frame = compare_predictions(weak, strong.sample(frac=1, random_state=0), REGION_KEYS, n_boot=400)
    row = frame.set_index("label")
    assert row.loc["aorta", "ci_low"] > 0 and row.loc["aorta", "diff"] == pytest.approx(
        roc_auc_score(labels[:, 2], strong["p_aorta"]) - roc_auc_score(labels[:, 2], weak["p_aorta"])
    )
    assert row.loc["mean", "ci_low"] > 0
    same = compare_predictions(weak, weak, REGION_KEYS, n_boot=100).set_index("label")
    assert (same["diff"] == 0).all() and (same["ci_low"] == 0).all() and (same["ci_high"] == 0).all()
    with pytest.raises(UserError, match="different films"):
        compare_predictions(weak, strong.iloc[:-1], REGION_KEYS, n_boot=10)


def test_table2_layout_block_means_paper_values_and_skipped_cells(tmp_path):
    cells = []
    for arch, shift in (("alexnet", 0.0), ("densenet121", 0.1)):
        aucs = {c: (0.7 + shift, 0.6 + shift, 0.8 + shift) for c in COLUMNS}
        cells.append(CellOutcome("scratch", arch, "done", auc=aucs))
        cells.append(CellOutcome("imagenet", arch, "skipped", note="weights missing: torchvision cache"))
    frame = table2_frame(cells, paper=True)
    assert list(frame["network"]) == ["alexnet", "densenet121", BLOCK_MEAN] * 2
    scratch_mean = frame[(frame.init == "scratch") & (frame.network == BLOCK_MEAN)].iloc[0]
    assert scratch_mean["heart"] == pytest.approx(0.75)
    assert scratch_mean["mean_paper"] == pytest.approx(
        (paper_auc("scratch", "alexnet")["mean"] + paper_auc("scratch", "densenet121")["mean"]) / 2
    )
    files = write_table2(cells, tmp_path, paper=True)
    md = files["md"].read_text()
    assert "| from scratch | DenseNet121 | 0.800 (0.70–0.90) | 0.745 |" in md
    assert "ImageNet / AlexNet: weights missing" in md
    assert files["png"].read_bytes()[:4] == b"\x89PNG"
    back = pd.read_csv(files["csv"])
    assert back.loc[0, "thorax_paper"] == pytest.approx(0.733)
