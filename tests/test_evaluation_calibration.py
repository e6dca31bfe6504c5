"""Calibration (temperature per label on validation), ECE/Brier with patient CIs, and AUCs over
partial labels: a missing label is left out, never read as normal."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cxr_regions.confidence import AucResult, aucs_with_ci, bootstrap_aucs
from cxr_regions.evaluation import fit_calibration, load_calibration
from cxr_regions.evaluation.assess import score_predictions
from cxr_regions.evaluation.calibration import calibration_table, fit_temperature, save_calibration
from cxr_regions.label import table1


def _overconfident(n: int, temperature: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Labels drawn from sigmoid(z) and scores sigmoid(z * temperature): too sure by that factor."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(float)
    return y, 1 / (1 + np.exp(-z * temperature))


def test_temperature_scaling_recovers_the_overconfidence_and_lowers_ece():
    y, p = _overconfident(4000, 3.0)
    assert fit_temperature(y, p) == pytest.approx(3.0, rel=0.15)
    frame = pd.DataFrame({"heart": y, "p_heart": p, "patient_key": [f"p{i // 2}" for i in range(len(y))]})
    calibration = fit_calibration(frame, ["heart"])
    assert calibration.fitted == ["heart"]
    test_y, test_p = _overconfident(2000, 3.0, seed=1)
    test = pd.DataFrame({"heart": test_y, "p_heart": test_p, "patient_key": [f"q{i}" for i in range(2000)]})
    row = calibration_table(test, ["heart"], calibration, n_boot=200).iloc[0]
    assert row["ece_after"] < row["ece_before"] and row["brier_after"] < row["brier_before"]
    assert row["ece_before_ci_low"] <= row["ece_before"] <= row["ece_before_ci_high"]
    assert row["brier_after_ci_low"] <= row["brier_after"] <= row["brier_after_ci_high"]


def test_too_few_or_one_class_validation_films_leave_the_probabilities_alone(tmp_path):
    val = pd.DataFrame({"a": [1.0, 0.0] * 3, "p_a": [0.9, 0.2] * 3, "b": [0.0] * 6, "p_b": [0.3] * 6})
    val["c"] = np.nan
    val["p_c"] = 0.5
    calibration = fit_calibration(val, ["a", "b", "c"])
    assert calibration.fitted == []
    assert "6 labelled" in calibration.notes["a"] and "0 labelled" in calibration.notes["c"]
    save_calibration(calibration, tmp_path)
    loaded = load_calibration(tmp_path)
    assert loaded.apply({"a": 0.8, "b": 0.1}) == pytest.approx({"a": 0.8, "b": 0.1})


def test_load_calibration_says_what_to_run_when_there_is_none(tmp_path):
    from cxr_regions.errors import UserError

    with pytest.raises(UserError, match="cxr-regions evaluate"):
        load_calibration(tmp_path)


def test_aucs_over_partial_labels_use_only_the_labelled_films():
    rng = np.random.default_rng(0)
    n = 60
    y = rng.integers(0, 2, size=(n, 2)).astype(float)
    s = y + rng.normal(0, 0.8, size=(n, 2))
    y[:20, 1] = np.nan  # 20 films without the second label
    groups = np.arange(n) // 2
    result = aucs_with_ci(y, s, groups, ["a", "b"], n_boot=100)
    known = ~np.isnan(y[:, 1])
    alone = aucs_with_ci(y[known, 1], s[known, 1], groups[known], ["b"], n_boot=100)["b"]
    assert result["b"].auc == pytest.approx(alone.auc)
    assert result["b"].n_pos + result["b"].n_neg == 40 and result["b"].n_missing == 20
    boots = bootstrap_aucs(y, s, groups, n_boot=50)
    assert np.isfinite(boots).all()


def test_a_label_with_no_labelled_film_is_not_labelled_and_not_in_the_mean(tmp_path):
    n = 30
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "image_id": [f"f{i}" for i in range(n)],
            "patient_key": [f"p{i // 3}" for i in range(n)],
            "p_a": rng.random(n),
            "p_b": rng.random(n),
            "a": rng.integers(0, 2, n),
            "b": [""] * n,  # as read from a manifest: empty = missing
        }
    )
    result = score_predictions(frame, ["a", "b"], tmp_path, n_boot=50)
    b = result.auc["b"]
    assert not b.defined and b.n_pos == 0 and b.n_neg == 0 and b.n_missing == n
    assert result.mean_auc.auc == pytest.approx(result.auc["a"].auc)
    auc = pd.read_csv(tmp_path / "auc.csv").set_index("label")
    assert auc.loc["b", "defined"] == False and pd.isna(auc.loc["b", "auc"])  # noqa: E712
    assert "not labelled" in (tmp_path / "auc.md").read_text(encoding="utf-8")
    with pytest.raises(Exception, match="0/1 or empty"):
        score_predictions(frame.assign(a="maybe"), ["a", "b"], tmp_path / "bad", n_boot=10)


def test_an_auc_over_fewer_than_10_positives_is_flagged_unreliable():
    few = AucResult(0.8, 0.6, 0.95, n_pos=4, n_neg=50, n_boot_valid=100)
    enough = AucResult(0.8, 0.7, 0.9, n_pos=12, n_neg=50, n_boot_valid=100)
    assert not few.reliable and enough.reliable
    assert "unreliable" in few.text() and "4 pos" in few.text() and "0.600–0.950" in few.text()
    assert AucResult(math.nan, math.nan, math.nan, 0, 0, 0).text() == "not labelled"


def test_table1_says_not_labelled_for_a_region_no_film_has():
    values = {"thorax": ["", ""], "lungs": ["1", "0"], "aorta": ["", ""], "heart": ["0", "1"]}
    frame = pd.DataFrame({**values, "diaphragm": ["0", "0"]})
    table = table1(frame).set_index("label")
    assert table.loc["thorax", "films"] == "not labelled" and table.loc["lungs", "films"] == 1
    assert table.loc["normal", "films"] == 0
